import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBot, spawnBot, waitForHealth } from '../support/bot-process';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api';
import { freePort } from '../support/free-port';
import { startRedisServer } from '../support/redis-server';
import { slashCommandBody } from '../support/slack-payloads';
import { postSigned } from '../support/slack-signer';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const SECRET = '0123456789abcdef0123456789abcdef';

describe('the bot as a process', () => {
  let dir: string;
  let slack: FakeSlackApi;
  beforeAll(async () => {
    buildBot();
    dir = mkdtempSync(join(tmpdir(), 'jit-process-'));
    writeFileSync(join(dir, 'policy.yml'), TEST_POLICY);
    slack = await startFakeSlackApi({ usergroups: USERGROUPS });
  }, 60_000);
  afterAll(async () => {
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start without settings, listing each problem with its fix', async () => {
    const run = spawnBot({ JIT_POLICY_FILE: join(dir, 'missing.yml'), PORT: 'eighty' }, dir);
    expect(await run.exited).toBe(78);
    const message = run.stderr();
    expect(message).toContain('SLACK_BOT_TOKEN: is missing: copy the Bot User OAuth Token');
    expect(message).toContain('SLACK_SIGNING_SECRET: is missing: copy it from Basic Information → App Credentials');
    expect(message).toContain('PORT: must be a port number');
    expect(message).toContain('missing.yml: does not exist: set JIT_POLICY_FILE');
  });

  it('refuses a malformed policy file, listing every problem with its path', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'roles:\n  - id: Bad_ID\n    provider: nowhere\n    maxDuration: 2 hours\n');
    const run = spawnBot({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: SECRET, JIT_POLICY_FILE: bad }, dir);
    expect(await run.exited).toBe(78);
    const message = run.stderr();
    expect(message).toContain('roles[0].id: must be lowercase letters');
    expect(message).toContain('roles[0].description:');
    expect(message).toContain('roles[0].maxDuration: "2 hours" is not a duration');
    expect(message).not.toContain('xoxb-1');
  });

  it('refuses to start with a bot token Slack rejects', async () => {
    const refusing = await startFakeSlackApi({
      handlers: { 'auth.test': () => ({ ok: false, error: 'invalid_auth' }) },
    });
    try {
      const run = spawnBot(
        {
          SLACK_BOT_TOKEN: 'xoxb-revoked-token',
          SLACK_SIGNING_SECRET: SECRET,
          SLACK_API_URL: refusing.url,
          REDIS_URL: process.env.JIT_TEST_REDIS_URL ?? '',
          JIT_POLICY_FILE: join(dir, 'policy.yml'),
          PORT: '0',
        },
        dir,
      );
      expect(await run.exited).toBe(78);
      expect(run.stderr()).toContain('SLACK_BOT_TOKEN was refused by Slack (invalid_auth)');
      expect(run.stderr() + run.stdout()).not.toContain('xoxb-revoked-token');
    } finally {
      await refusing.stop();
    }
  });

  it('refuses to start on a Redis that may evict keys, exiting 78 with the fix', async () => {
    const redis = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'volatile-lru'] });
    try {
      const run = spawnBot(
        {
          SLACK_BOT_TOKEN: 'xoxb-evicting-redis',
          SLACK_SIGNING_SECRET: SECRET,
          SLACK_API_URL: slack.url,
          REDIS_URL: redis.url,
          JIT_POLICY_FILE: join(dir, 'policy.yml'),
          PORT: '0',
        },
        dir,
      );
      expect(await run.exited).toBe(78);
      expect(run.stderr()).toContain('Redis maxmemory-policy is "volatile-lru"; the bot needs "noeviction"');
      expect(run.stderr()).toContain('CONFIG SET maxmemory-policy noeviction');
    } finally {
      await redis.stop();
    }
  });

  it('keeps running when Slack is unreachable at start-up', async () => {
    const port = await freePort();
    const closedPort = await freePort();
    const run = spawnBot(
      {
        SLACK_BOT_TOKEN: 'xoxb-offline',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `http://127.0.0.1:${closedPort}/api/`,
        REDIS_URL: process.env.JIT_TEST_REDIS_URL ?? '',
        JIT_POLICY_FILE: join(dir, 'policy.yml'),
        PORT: String(port),
      },
      dir,
    );
    try {
      await waitForHealth(`http://127.0.0.1:${port}/healthz`, run);
      expect(run.stdout()).toContain('Slack is unreachable; starting anyway');
      // An expected condition: the reason in a line, no stack trace.
      const line = run
        .stdout()
        .split('\n')
        .find((each) => each.includes('Slack is unreachable'));
      expect(line).toContain('"reason"');
      expect(line).not.toContain('"stack"');
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('starts, serves Slack and health, and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const run = spawnBot(
      {
        SLACK_BOT_TOKEN: 'xoxb-process-test',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.url,
        REDIS_URL: process.env.JIT_TEST_REDIS_URL ?? '',
        JIT_REDIS_PREFIX: `jit-process-${port}`,
        JIT_POLICY_FILE: join(dir, 'policy.yml'),
        PORT: String(port),
      },
      dir,
    );
    try {
      await waitForHealth(`http://127.0.0.1:${port}/healthz`, run);
      const response = await postSigned(
        `http://127.0.0.1:${port}/slack/events`,
        slashCommandBody({ user_id: 'U0ALICE', text: 'request staging-deployer 1h deploy' }),
        SECRET,
      );
      expect(response.status).toBe(200);
      expect(String((response.json as { text: string }).text)).toContain('auto-approved');
      await slack.waitFor((call) => call.method === 'chat.postMessage' && call.args.channel === 'U0ALICE', {
        description: 'activation DM from the bot process',
      });
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      const lines = run
        .stdout()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { msg: string; level: string });
      expect(lines.map((line) => line.msg)).toEqual(
        expect.arrayContaining(['jit-access-bot is running', 'stopped cleanly']),
      );
      expect(run.stdout()).not.toContain('xoxb-process-test');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });
});
