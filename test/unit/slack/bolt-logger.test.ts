import { Writable } from 'node:stream';
import { LogLevel } from '@slack/bolt';
import { createLogger } from '../../../src/lib/logger';
import { toBoltLogger } from '../../../src/slack/bolt-logger';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, bolt: toBoltLogger(createLogger({ level, destination })) };
}

/** An argument that counts how often it was serialised. */
function counted() {
  const seen = { times: 0 };
  return {
    seen,
    part: {
      toJSON() {
        seen.times += 1;
        return { payload: 'big' };
      },
    },
  };
}

describe('toBoltLogger', () => {
  it('writes Bolt lines at or above the level, joined into one message, with a slack component', () => {
    const { lines, bolt } = capture('info');
    bolt.info('received', { type: 'event_callback' });
    bolt.warn('slow');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', component: 'slack', msg: 'received {"type":"event_callback"}' }),
      expect.objectContaining({ level: 'warn', component: 'slack', msg: 'slow' }),
    ]);
  });

  it('does not serialise the parts of a line below the level (Bolt logs whole payloads at debug)', () => {
    const { lines, bolt } = capture('warn');
    const { seen, part } = counted();
    bolt.debug('payload', part);
    bolt.info('payload', part);
    expect(seen.times).toBe(0);
    expect(lines).toEqual([]);
    bolt.warn('payload', part);
    expect(seen.times).toBe(1);
    expect(lines).toHaveLength(1);
  });

  it("reports pino's level to Bolt", () => {
    expect(capture('debug').bolt.getLevel()).toBe(LogLevel.DEBUG);
    expect(capture('error').bolt.getLevel()).toBe(LogLevel.ERROR);
  });
});
