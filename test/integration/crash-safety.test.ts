import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ACTION_IDS } from '../../src/slack/ids';
import { type BotProcess, buildBot, spawnBot, stopBot, waitForHealth } from '../support/bot-process';
import { eventuallyValue } from '../support/eventually';
import { FakeGcpCrm } from '../support/fake-gcp-crm';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api';
import { findOnPath } from '../support/find-on-path';
import { freePort } from '../support/free-port';
import { blockActionsBody, slashCommandBody } from '../support/slack-payloads';
import { postSigned } from '../support/slack-signer';

const SECRET = '0123456789abcdef0123456789abcdef';
const PROJECT = 'projects/payments-prod';
const PREFIX = 'jit-crash';

const POLICY = `
settings:
  minDuration: 1s
  reconcileEvery: 1s
  propagation: { gcp: 0s }
roles:
  - id: sql-viewer
    description: View Cloud SQL in payments-prod
    provider: gcp
    target:
      resource: ${PROJECT}
      role: roles/cloudsql.viewer
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD, U0CAROL]
`;

/** A redis-server with AOF on a fixed port and folder, so the test can stop it and bring the same data back. */
class RestartableRedis {
  private child: ChildProcess | undefined;

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(this.binary, [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--hz',
      '100',
      '--maxmemory-policy',
      'noeviction',
    ]);
    await eventuallyValue(
      async () => {
        const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        try {
          await client.connect();
          return await client.ping();
        } finally {
          client.disconnect();
        }
      },
      `redis-server on port ${this.port} answers PING`,
      { intervalMs: 50 },
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** The shared wait, with room for processes to be killed, restarted and to catch up. */
const eventually = <T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string) =>
  eventuallyValue(probe, what, { timeoutMs: 20_000, intervalMs: 50 });

/**
 * Real processes and real failures: the built bot is killed with SIGKILL mid-grant and after granting, restarted
 * after an expiry, run twice on one Redis, and has its Redis restarted under it. The cloud is a local Resource
 * Manager whose bindings show exactly what was granted.
 */
describe('crash safety', () => {
  let dir: string;
  let slack: FakeSlackApi;
  let gcp: FakeGcpCrm;
  let redis: RestartableRedis;
  let inspect: Redis;
  const bots: BotProcess[] = [];

  beforeAll(async () => {
    buildBot();
    dir = mkdtempSync(join(tmpdir(), 'jit-crash-'));
    writeFileSync(join(dir, 'policy.yml'), POLICY);
    slack = await startFakeSlackApi();
    gcp = await FakeGcpCrm.start();
    const binary = await findOnPath('redis-server');
    if (!binary) throw new Error('redis-server is not on PATH; install it (e.g. apt-get install redis-server)');
    redis = new RestartableRedis(binary, await freePort(), mkdtempSync(join(tmpdir(), 'jit-crash-redis-')));
    await redis.start();
    inspect = new Redis(redis.url);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(bots.splice(0).map((bot) => stopBot(bot, 'SIGKILL')));
  });

  afterAll(async () => {
    inspect?.disconnect();
    await redis?.stop();
    await gcp?.close();
    await slack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startBot(): Promise<{ bot: BotProcess; eventsUrl: string }> {
    const port = await freePort();
    const bot = spawnBot(
      {
        SLACK_BOT_TOKEN: 'xoxb-crash-test',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.url,
        REDIS_URL: redis.url,
        JIT_REDIS_PREFIX: PREFIX,
        JIT_POLICY_FILE: join(dir, 'policy.yml'),
        PORT: String(port),
        GCP_RESOURCE_MANAGER_ENDPOINT: gcp.endpoint,
        GOOGLE_APPLICATION_CREDENTIALS: gcp.credentialsFile,
        GOOGLE_CLOUD_PROJECT: 'jit-bot-home',
        JIT_JOB_LOCK_MS: '2000',
      },
      dir,
    );
    bots.push(bot);
    await waitForHealth(`http://127.0.0.1:${port}/healthz`, bot);
    return { bot, eventsUrl: `http://127.0.0.1:${port}/slack/events` };
  }

  async function request(eventsUrl: string, userId: string, text: string): Promise<string> {
    const response = await postSigned(
      eventsUrl,
      slashCommandBody({ user_id: userId, text: `request ${text}` }),
      SECRET,
    );
    const reply = String((response.json as { text?: string } | undefined)?.text);
    const id = /Request `([^`]+)`/.exec(reply)?.[1];
    if (!id) throw new Error(`request refused: ${reply}`);
    await slack.waitFor(
      (call) => call.method === 'chat.postMessage' && JSON.stringify(call.args.blocks ?? []).includes(id),
      { description: `approval message for ${id}` },
    );
    return id;
  }

  /** Clicks Approve on the approval message the bot posted (and stored) for the request. */
  async function approve(eventsUrl: string, approverId: string, requestId: string) {
    const stored = await eventually(
      async () => (await inspect.hget(`${PREFIX}:request:${requestId}`, 'message')) ?? undefined,
      'the approval message is stored',
    );
    const message = JSON.parse(stored) as { channel: string; ts: string };
    return postSigned(
      eventsUrl,
      blockActionsBody({
        userId: approverId,
        actionId: ACTION_IDS.approve,
        value: requestId,
        channelId: message.channel,
        messageTs: message.ts,
      }),
      SECRET,
    );
  }

  const bindingsOf = (requestId: string) =>
    gcp.policy(PROJECT).bindings.filter((binding) => binding.condition?.title === `jit-${requestId}`);

  const stored = async (requestId: string) => {
    const json = await inspect.hget(`${PREFIX}:request:${requestId}`, 'json');
    return json === null ? undefined : (JSON.parse(json) as { state: string; expiresAt?: number });
  };

  const dms = (userId: string, fragment: string) =>
    slack
      .calls('chat.postMessage')
      .filter((call) => call.args.channel === userId && String(call.args.text).includes(fragment));

  it('a bot killed mid-grant leaves exactly one grant after restart', async () => {
    const first = await startBot();
    const id = await request(first.eventsUrl, 'U0ALICE', 'sql-viewer 1h killed mid-grant');
    gcp.delayNext('setIamPolicy', 3_000);
    await approve(first.eventsUrl, 'U0LEAD', id);
    await eventually(() => gcp.arrivals.some((call) => call.method === 'setIamPolicy'), 'the grant reached the cloud');
    await stopBot(first.bot, 'SIGKILL');

    await startBot();
    await eventually(async () => (await stored(id))?.state === 'active', 'the restarted bot finished the grant');
    await eventually(() => dms('U0ALICE', 'is active until').length > 0, 'the activation DM');
    expect(bindingsOf(id)).toHaveLength(1);
    expect(bindingsOf(id)[0]?.members).toEqual(['user:u0alice@example.com']);
  });

  it('a bot down across an expiry revokes right after restart and reports how late it was', async () => {
    const first = await startBot();
    const id = await request(first.eventsUrl, 'U0BOB', 'sql-viewer 2s killed after granting');
    await approve(first.eventsUrl, 'U0LEAD', id);
    await eventually(async () => (await stored(id))?.state === 'active', 'access active');
    expect(bindingsOf(id)).toHaveLength(1);
    await stopBot(first.bot, 'SIGKILL');
    const expiresAt = (await stored(id))?.expiresAt ?? 0;
    await eventually(() => Date.now() > expiresAt + 2_000 || undefined, 'two seconds past the expiry');

    const second = await startBot();
    await eventually(async () => (await stored(id))?.state === 'expired', 'revoked after restart');
    expect(bindingsOf(id)).toEqual([]);
    await eventually(() => dms('U0BOB', 'has expired').length > 0, 'the expiry DM');
    expect(dms('U0BOB', 'has expired')).toHaveLength(1);
    const line = second.bot.logs().find((entry) => entry.requestId === id && typeof entry.latenessMs === 'number');
    expect(Number(line?.latenessMs)).toBeGreaterThanOrEqual(2_000);
  });

  it('a bot killed mid-revoke leaves no grant after restart, and tells the requester once', async () => {
    const first = await startBot();
    const id = await request(first.eventsUrl, 'U0FRAN', 'sql-viewer 2s killed mid-revoke');
    await approve(first.eventsUrl, 'U0LEAD', id);
    await eventually(async () => (await stored(id))?.state === 'active', 'access active');
    const writesBefore = gcp.arrivals.filter((call) => call.method === 'setIamPolicy').length;
    gcp.delayNext('setIamPolicy', 3_000);
    await eventually(
      () => gcp.arrivals.filter((call) => call.method === 'setIamPolicy').length > writesBefore,
      'the revocation reached the cloud',
    );
    await stopBot(first.bot, 'SIGKILL');

    await startBot();
    await eventually(async () => (await stored(id))?.state === 'expired', 'the restarted bot finished the revocation');
    expect(bindingsOf(id)).toEqual([]);
    await eventually(() => dms('U0FRAN', 'has expired').length > 0, 'the expiry DM');
    expect(dms('U0FRAN', 'has expired')).toHaveLength(1);
  });

  it('two bots on one Redis share the work: racing approvals grant once', async () => {
    const one = await startBot();
    const two = await startBot();
    const id = await request(one.eventsUrl, 'U0DAVE', 'sql-viewer 1h two bots');
    const clicks = Array.from({ length: 12 }, (_, i) =>
      approve(i % 2 === 0 ? one.eventsUrl : two.eventsUrl, i % 3 === 0 ? 'U0CAROL' : 'U0LEAD', id),
    );
    expect((await Promise.all(clicks)).map((response) => response.status)).toEqual(Array(12).fill(200));
    await eventually(async () => (await stored(id))?.state === 'active', 'access active');
    await eventually(() => dms('U0DAVE', 'is active until').length > 0, 'the activation DM');
    const audit = await inspect.xrange(`${PREFIX}:audit`, '-', '+');
    const approvals = audit.filter(
      ([, fields]) => fields.includes(id) && fields.includes('approved') && fields.includes('to'),
    );
    expect(approvals.filter(([, fields]) => fields[fields.indexOf('to') + 1] === 'approved')).toHaveLength(1);
    expect(bindingsOf(id)).toHaveLength(1);
    expect(dms('U0DAVE', 'is active until')).toHaveLength(1);
  });

  it('a Redis restart mid-run loses no job: the grant still ends on time', async () => {
    const { eventsUrl } = await startBot();
    const id = await request(eventsUrl, 'U0ERIN', 'sql-viewer 5s redis restart');
    await approve(eventsUrl, 'U0LEAD', id);
    await eventually(async () => (await stored(id))?.state === 'active', 'access active');
    inspect.disconnect();
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await redis.start();
    inspect = new Redis(redis.url);
    await eventually(async () => (await stored(id))?.state === 'expired', 'revoked after the Redis restart');
    expect(bindingsOf(id)).toEqual([]);
    await eventually(() => dms('U0ERIN', 'has expired').length > 0, 'the expiry DM');
  });
});
