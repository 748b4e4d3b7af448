import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseInfo } from '../../src/store/redis-checks';
import { type BotProcess, buildBot, spawnBot, stopBot, waitForHealth } from '../support/bot-process';
import { eventuallyValue } from '../support/eventually';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api';
import { freePort } from '../support/free-port';
import { startRedisServer } from '../support/redis-server';
import { TEST_POLICY } from './test-policy';

const SECRET = '0123456789abcdef0123456789abcdef';
/** What a stack trace line looks like in any output. */
const STACK_LINE = /\n\s+at /;

function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

function waitForLog(bot: BotProcess, msg: RegExp, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  return eventuallyValue(() => bot.logs().find((entry) => msg.test(String(entry.msg))), `a log line matches ${msg}`, {
    timeoutMs,
    intervalMs: 50,
    abortIf: () => (bot.child.exitCode !== null ? `the bot exited with code ${bot.child.exitCode}` : undefined),
    detail: () => `${bot.stderr()}\n${bot.stdout()}`,
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('starting the bot process', () => {
  let dir: string;
  let slack: FakeSlackApi;
  const redisUrl = () => process.env.JIT_TEST_REDIS_URL ?? '';
  const baseEnv = (extra: Record<string, string>) => ({
    SLACK_BOT_TOKEN: 'xoxb-startup-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.url,
    JIT_POLICY_FILE: join(dir, 'policy.yml'),
    PORT: '0',
    ...extra,
  });

  beforeAll(async () => {
    buildBot();
    dir = mkdtempSync(join(tmpdir(), 'jit-startup-'));
    writeFileSync(join(dir, 'policy.yml'), TEST_POLICY);
    slack = await startFakeSlackApi({});
  }, 120_000);
  afterAll(async () => {
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says where the settings go when one is missing', async () => {
    const run = spawnBot({ SLACK_SIGNING_SECRET: SECRET, JIT_POLICY_FILE: join(dir, 'policy.yml') }, dir);
    expect(await run.exited).toBe(78);
    expect(run.stderr()).toContain('SLACK_BOT_TOKEN: is missing');
    expect(run.stderr()).toContain('copy .env.example to .env');
    expect(run.stderr()).not.toMatch(STACK_LINE);
  });

  it('gives up on an unreachable Redis after the wait, with one plain line and exit 69', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const run = spawnBot(baseEnv({ REDIS_URL: closed, JIT_REDIS_WAIT_MS: '1000' }), dir);
    expect(await run.exited).toBe(69);
    const lines = nonEmptyLines(run.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`no Redis answered at ${closed} within 1 s`);
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(lines[0]).toContain('redis-server');
    expect(lines[0]).toContain('set REDIS_URL in .env');
    expect(run.stdout()).toBe('');
  });

  it('masks the password of an unreachable Redis', async () => {
    const closed = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const run = spawnBot(baseEnv({ REDIS_URL: closed, JIT_REDIS_WAIT_MS: '1000' }), dir);
    expect(await run.exited).toBe(69);
    expect(run.stderr()).toContain('redis://***@127.0.0.1');
    expect(run.stderr()).not.toContain('hunter2');
  });

  it('without REDIS_URL and with nothing on the local port, starts its own redis-server and stops it on SIGTERM', async () => {
    // JIT_LOCAL_REDIS_PORT moves the local address off 6379, so a Redis already running there is never touched.
    const port = await freePort();
    const workDir = join(dir, 'local');
    mkdirSync(workDir);
    writeFileSync(join(workDir, 'policy.yml'), TEST_POLICY);
    const httpPort = await freePort();
    const run = spawnBot(
      { ...baseEnv({ PORT: String(httpPort), JIT_LOCAL_REDIS_PORT: String(port) }), JIT_POLICY_FILE: 'policy.yml' },
      workDir,
    );
    let redisPid: number | undefined;
    try {
      const started = await waitForLog(run, /started a local redis-server/);
      redisPid = Number(started.pid);
      expect(started.redis).toBe(`redis://127.0.0.1:${port}`);
      await waitForHealth(`http://127.0.0.1:${httpPort}/readyz`, run);
      const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
      try {
        expect(parseInfo(await client.info('persistence')).get('aof_enabled')).toBe('1');
        expect(parseInfo(await client.info('memory')).get('maxmemory_policy')).toBe('noeviction');
        expect(await client.config('GET', 'dir')).toEqual(['dir', join(workDir, '.redis-data')]);
      } finally {
        client.disconnect();
      }
      expect(existsSync(join(workDir, '.redis-data', 'appendonlydir'))).toBe(true);
      expect(run.logs().filter((line) => /local redis-server/.test(String(line.msg)))).toHaveLength(1);

      expect(await stopBot(run)).toBe(0);
      expect(isRunning(redisPid)).toBe(false);
    } finally {
      await stopBot(run, 'SIGKILL');
      if (redisPid !== undefined && isRunning(redisPid)) process.kill(redisPid, 'SIGKILL');
    }
  });

  it('without REDIS_URL, nothing on the local port and no redis-server on PATH, says how to install it', async () => {
    const emptyPath = join(dir, 'empty-path');
    mkdirSync(emptyPath, { recursive: true });
    const port = await freePort();
    const run = spawnBot(baseEnv({ JIT_LOCAL_REDIS_PORT: String(port), PATH: emptyPath }), dir);
    expect(await run.exited).toBe(69);
    const lines = nonEmptyLines(run.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`nothing answers at redis://127.0.0.1:${port} and redis-server is not on PATH`);
    expect(lines[0]).toContain('apt-get install redis-server');
    expect(lines[0]).toContain('brew install redis');
    expect(lines[0]).toContain('set REDIS_URL in .env');
  });

  it('logs one line when Redis is lost and one when it is back, and is not ready in between', async () => {
    // The data survives the restart (AOF in a folder of ours), as it does for a Redis run the way README says.
    const dataDir = join(dir, 'outage-data');
    mkdirSync(dataDir);
    const persistent = ['--appendonly', 'yes', '--dir', dataDir];
    let redis = await startRedisServer({ extraArgs: persistent });
    const httpPort = await freePort();
    const run = spawnBot(baseEnv({ REDIS_URL: redis.url, PORT: String(httpPort) }), dir);
    try {
      await waitForHealth(`http://127.0.0.1:${httpPort}/readyz`, run);
      await redis.stop();
      await waitForLog(run, /lost the connection to Redis/);
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(503);
      // Long enough for every connection to retry several times: none of those attempts may log.
      await new Promise((r) => setTimeout(r, 2_000));
      redis = await startRedisServer({ port: redis.port, extraArgs: persistent });
      await waitForLog(run, /the connection to Redis is back/);
      await waitForHealth(`http://127.0.0.1:${httpPort}/readyz`, run);

      const errors = run.logs().filter((line) => line.level === 'error' || line.level === 'fatal');
      // With the error's own message, so a failure names what was logged.
      expect(
        errors.map((line) =>
          [line.msg, (line.err as { message?: string } | undefined)?.message].filter(Boolean).join(': '),
        ),
      ).toEqual(['lost the connection to Redis; retrying in the background (jobs and requests wait until it is back)']);
      expect(run.stdout()).not.toContain('ECONNREFUSED');
      expect(run.logs().filter((line) => line.msg === 'the connection to Redis is back')).toHaveLength(1);
      expect(run.stderr()).toBe('');
    } finally {
      // Not a shutdown test: BullMQ's blocking connections may still be reconnecting, which delays a graceful stop.
      await stopBot(run, 'SIGKILL');
      await redis.stop();
    }
  }, 60_000);

  it('refuses a token Slack rejects with the fix, exit 78 and no stack trace', async () => {
    const refusing = await startFakeSlackApi({
      handlers: { 'auth.test': () => ({ ok: false, error: 'invalid_auth' }) },
    });
    try {
      const run = spawnBot(
        baseEnv({ SLACK_API_URL: refusing.url, REDIS_URL: redisUrl(), JIT_REDIS_PREFIX: 'jit-startup-token' }),
        dir,
      );
      expect(await run.exited).toBe(78);
      const lines = nonEmptyLines(run.stderr());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('SLACK_BOT_TOKEN was refused by Slack (invalid_auth)');
      expect(run.stderr() + run.stdout()).not.toMatch(STACK_LINE);
      expect(run.stdout()).not.toContain('did not stop cleanly');
    } finally {
      await refusing.stop();
    }
  });

  it('names the port and PORT when the port is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const run = spawnBot(
        baseEnv({ PORT: String(port), REDIS_URL: redisUrl(), JIT_REDIS_PREFIX: 'jit-startup-port' }),
        dir,
      );
      expect(await run.exited).toBe(78);
      const lines = nonEmptyLines(run.stderr());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port} is already in use`);
      expect(lines[0]).toContain('set PORT in .env or the environment');
      expect(run.stderr() + run.stdout()).not.toMatch(STACK_LINE);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
