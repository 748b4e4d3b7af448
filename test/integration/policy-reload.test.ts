import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/lib/logger';
import { RedisAuditLog } from '../../src/store/audit-log';
import { RedisKeys } from '../../src/store/keys';
import { type BotProcess, buildBot, spawnBot, stopBot, waitForHealth } from '../support/bot-process';
import { eventually } from '../support/eventually';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api';
import { freePort } from '../support/free-port';
import { slashCommandBody } from '../support/slack-payloads';
import { postSigned } from '../support/slack-signer';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const SECRET = '0123456789abcdef0123456789abcdef';
const ADMIN_CHANNEL = 'C0ADMINS';
const POLICY = TEST_POLICY.replace('settings:\n', `settings:\n  adminChannel: ${ADMIN_CHANNEL}\n`);

/** A role anyone may take at once, added by the edits below. */
const role = (id: string) => `
  - id: ${id}
    description: Added while the bot runs
    provider: dryrun
    approvalChannel: C0APPROVALS
    autoApprove: true
`;

/** The bot as a process, its policy file edited under it: SIGHUP and the file watcher reload it, a bad file does not. */
describe('policy reload in a running bot', () => {
  let dir: string;
  let file: string;
  let slack: FakeSlackApi;
  let bot: BotProcess;
  let port: number;
  let redis: Redis;
  const prefix = `jit-reload-${process.pid}`;

  beforeAll(async () => {
    buildBot();
    dir = mkdtempSync(join(tmpdir(), 'jit-reload-'));
    file = join(dir, 'policy.yml');
    writeFileSync(file, POLICY);
    slack = await startFakeSlackApi({ usergroups: USERGROUPS });
    redis = new Redis(process.env.JIT_TEST_REDIS_URL ?? '');
    port = await freePort();
    bot = spawnBot(
      {
        SLACK_BOT_TOKEN: 'xoxb-reload-test',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.url,
        REDIS_URL: process.env.JIT_TEST_REDIS_URL ?? '',
        JIT_REDIS_PREFIX: prefix,
        JIT_POLICY_FILE: file,
        PORT: String(port),
      },
      dir,
    );
    await waitForHealth(`http://127.0.0.1:${port}/healthz`, bot);
  }, 60_000);
  afterAll(async () => {
    if (bot !== undefined) expect(await stopBot(bot)).toBe(0);
    await redis?.quit();
    await slack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `/jit request …` as Alice, signed; the ephemeral answer's text. */
  async function ask(text: string): Promise<string> {
    const answer = await postSigned(
      `http://127.0.0.1:${port}/slack/events`,
      slashCommandBody({ user_id: 'U0ALICE', text: `request ${text}` }),
      SECRET,
    );
    expect(answer.status).toBe(200);
    return String((answer.json as { text?: string }).text);
  }

  /** Waits for the bot's log line with this message (and fields), counting only lines after `since`. */
  async function logged(msg: string | RegExp, since: number, fields: Record<string, unknown> = {}) {
    let found: Record<string, unknown> | undefined;
    await eventually(
      () => {
        found = bot
          .logs()
          .slice(since)
          .find(
            (line) =>
              (typeof msg === 'string' ? line.msg === msg : msg.test(String(line.msg))) &&
              Object.entries(fields).every(([key, value]) => JSON.stringify(line[key]) === JSON.stringify(value)),
          );
        return found !== undefined;
      },
      `the bot logs "${String(msg)}"`,
      { timeoutMs: 10_000, detail: () => bot.stdout().slice(-3_000) },
    );
    return found as Record<string, unknown>;
  }

  const auditedReloads = async () =>
    (
      await new RedisAuditLog(redis, new RedisKeys(prefix), createLogger({ level: 'silent' })).notes({
        kind: 'policy',
      })
    ).map((note) => `${note.actor}: ${note.reason}`);

  it('reloads an edited policy on SIGHUP: one line says what changed, it is audited, decisions use it', async () => {
    expect(await ask('sandbox-reader 1h look around')).toContain('There is no role "sandbox-reader"');
    const since = bot.logs().length;
    writeFileSync(
      file,
      `${POLICY.replace('    maxDuration: 4h\n', '    maxDuration: 3h\n').replace(
        / {2}- id: restricted[\s\S]*$/,
        '',
      )}${role('sandbox-reader')}`,
    );
    bot.child.kill('SIGHUP');

    const line = await logged(/^policy reloaded: /, since, { trigger: 'SIGHUP' });
    expect(line.msg).toBe(
      'policy reloaded: roles added: sandbox-reader; roles removed: restricted; roles changed: sandbox-admin',
    );
    expect(line).toMatchObject({ rolesAdded: ['sandbox-reader'], rolesRemoved: ['restricted'], settingsChanged: [] });
    expect(await ask('sandbox-reader 1h look around')).toContain('auto-approved');
    expect(await ask('sandbox-admin 4h too long now')).toContain('ask for at most 3h');
    expect(await auditedReloads()).toEqual([
      `SIGHUP: policy ${file} reloaded (SIGHUP): roles added: sandbox-reader; roles removed: restricted; roles changed: sandbox-admin`,
    ]);
    // The watcher saw the same edit and has nothing to add.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(bot.logs().filter((entry) => String(entry.msg).startsWith('policy reloaded'))).toHaveLength(1);
  });

  it('keeps the policy in force when the edit is bad, logging and alerting every problem', async () => {
    const since = bot.logs().length;
    writeFileSync(
      file,
      `${POLICY}${role('Bad_Role')}  - id: aws-reader\n    description: Needs a client the bot did not build\n    provider: aws\n    target:\n      kind: iam-policy\n      statements:\n        - Effect: Allow\n          Action: ["logs:Get*"]\n          Resource: "*"\n    autoApprove: true\n    maxDuration: 2 hours\n`,
    );
    bot.child.kill('SIGHUP');

    const line = await logged(/^policy file refused, the policy in force stays: /, since);
    const problems = line.problems as string[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('roles[6].id: must be lowercase letters'),
        expect.stringContaining('roles[7].maxDuration: "2 hours" is not a duration'),
      ]),
    );
    const alert = await slack.waitFor(
      (call) => call.method === 'chat.postMessage' && call.args.channel === ADMIN_CHANNEL,
      { description: 'the policy alert in the admin channel' },
    );
    expect(String(alert.args.text)).toContain('Policy change refused');
    const [section] = alert.args.blocks as { text: { text: string } }[];
    for (const problem of problems) expect(section?.text.text).toContain(`• ${problem}`);
    // The policy of the first edit is still in force.
    expect(await ask('sandbox-reader 1h still there')).toContain('auto-approved');
    expect((await auditedReloads()).at(-1)).toContain(`policy ${file} refused (SIGHUP): `);
  });

  it('refuses, naming the restart, a valid policy that uses a cloud the bot did not start with', async () => {
    const since = bot.logs().length;
    const valid = `${POLICY}  - id: aws-reader\n    description: Needs a client the bot did not build\n    provider: aws\n    target:\n      kind: iam-policy\n      statements:\n        - Effect: Allow\n          Action: ["logs:Get*"]\n          Resource: "*"\n    autoApprove: true\n`;
    writeFileSync(file, valid);
    bot.child.kill('SIGHUP');
    const line = await logged(/^policy file refused/, since);
    expect(line.problems).toEqual([
      'roles[6].provider: aws was not used when the bot started, so its client was not built: restart the bot to add the first aws role',
    ]);
    await slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.channel === ADMIN_CHANNEL &&
        JSON.stringify(call.args.blocks).includes('restart the bot to add the first aws role'),
      { description: 'the restart alert in the admin channel' },
    );
  });

  it('picks up, without a signal, a file replaced by rename as editors and ConfigMaps do', async () => {
    const since = bot.logs().length;
    const next = join(dir, '.policy.yml.swp');
    writeFileSync(next, `${POLICY}${role('renamed-in')}`);
    renameSync(next, file);

    const line = await logged(/^policy reloaded: /, since, { trigger: 'file-change' });
    expect(line.rolesAdded).toEqual(['restricted', 'renamed-in']);
    expect(await ask('renamed-in 1h via the watcher')).toContain('auto-approved');
  });
});
