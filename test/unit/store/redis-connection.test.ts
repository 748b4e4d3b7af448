import { EventEmitter } from 'node:events';
import { ConnectionClosedError } from 'bullmq';
import { createLogger } from '../../../src/lib/logger';
import { isRedisConnectionError, RedisConnectionWatch } from '../../../src/store/redis-connection';

/** Stands in for an ioredis connection: a status and the events ioredis emits as it connects and loses Redis. */
class FakeConnection extends EventEmitter {
  status = 'connecting';
  ready(): void {
    this.status = 'ready';
    this.emit('ready');
  }
  lose(error?: Error): void {
    if (error) this.emit('error', error);
    this.status = 'reconnecting';
    this.emit('close');
  }
  retryFails(): void {
    this.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
    this.emit('close');
  }
}

function watched(names: string[]) {
  const lines: string[] = [];
  const logger = createLogger({ destination: { write: (line: string) => lines.push(line) } });
  const watch = new RedisConnectionWatch('redis://:secret@127.0.0.1:6379', logger);
  const connections = names.map((name) => {
    const connection = new FakeConnection();
    watch.watch(name, connection);
    return connection;
  });
  const messages = () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  return { watch, connections, lines, messages };
}

const LOST = 'lost the connection to Redis; retrying in the background (jobs and requests wait until it is back)';
const BACK = 'the connection to Redis is back';

describe('RedisConnectionWatch', () => {
  it('says nothing while the connections first come up', () => {
    const { watch, connections, messages } = watched(['store', 'jobs']);
    for (const connection of connections) connection.retryFails();
    expect(watch.isUp()).toBe(false);
    for (const connection of connections) connection.ready();
    expect(watch.isUp()).toBe(true);
    expect(messages()).toEqual([]);
  });

  it('logs one line when Redis goes and one when every connection is back, whatever the retries', () => {
    const { watch, connections, lines, messages } = watched(['store', 'jobs']);
    const [store, jobs] = connections as [FakeConnection, FakeConnection];
    store.ready();
    jobs.ready();
    jobs.lose(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    store.lose();
    for (let attempt = 0; attempt < 20; attempt++) {
      store.retryFails();
      jobs.retryFails();
    }
    store.ready();
    expect(messages()).toEqual([LOST]);
    expect(watch.isUp()).toBe(false);
    jobs.ready();
    expect(messages()).toEqual([LOST, BACK]);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      level: 'error',
      connection: 'jobs',
      reason: 'read ECONNRESET',
    });
    expect(lines.join('')).not.toContain('secret');
  });

  it('reports each outage', () => {
    const { connections, messages } = watched(['store']);
    const [store] = connections as [FakeConnection];
    store.ready();
    store.lose();
    store.ready();
    store.lose();
    store.ready();
    expect(messages()).toEqual([LOST, BACK, LOST, BACK]);
  });

  it('stays quiet once closed, when the bot closes its connections on purpose', () => {
    const { watch, connections, messages } = watched(['store']);
    const [store] = connections as [FakeConnection];
    store.ready();
    watch.close();
    store.lose();
    store.ready();
    expect(messages()).toEqual([]);
  });
});

describe('isRedisConnectionError', () => {
  it('recognises errors that only say the connection is down', () => {
    expect(isRedisConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isRedisConnectionError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRedisConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisConnectionError(new ConnectionClosedError('BullMQ: cluster reconnect timed out after 5000ms'))).toBe(
      true,
    );
    // What ioredis rejects a pipeline with when the connection drops while it is in flight (redis-errors' AbortError).
    const aborted = Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' });
    expect(isRedisConnectionError(aborted)).toBe(true);
  });

  it('leaves every other error to be logged', () => {
    expect(isRedisConnectionError(new Error('Missing key for job 1. moveToFinished'))).toBe(false);
    expect(isRedisConnectionError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      false,
    );
    expect(isRedisConnectionError('ECONNREFUSED')).toBe(false);
  });
});
