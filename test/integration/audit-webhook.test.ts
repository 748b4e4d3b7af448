import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../../src/config/config-error';
import { parseEnv } from '../../src/config/env-schema';
import { parsePolicy } from '../../src/config/policy-schema';
import { buildContainer } from '../../src/container';
import { createLogger } from '../../src/lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../src/providers/registry';
import { RedisAuditLog } from '../../src/store/audit-log';
import { RedisKeys } from '../../src/store/keys';
import { eventually, eventuallyValue } from '../support/eventually';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const SECRET_ENV = 'JIT_AUDIT_WEBHOOK_SECRET';
const ADMIN_CHANNEL = 'C0ADMINS';

/** One POST the receiver got, and what it answered. */
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; subject?: string; [key: string]: unknown };
  status: number;
}

/** A local HTTP receiver standing in for the SIEM; `answer` decides each response's status. */
interface Receiver {
  url: string;
  received: Received[];
  answer: (event: Received['event'], index: number) => number;
  /** IDs answered 2xx, in the order they were. */
  delivered(): string[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    answer: () => 200,
    delivered: () => received.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.event.id),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const event = JSON.parse(body) as Received['event'];
      const status = receiver.answer(event, received.length);
      received.push({ headers: request.headers, body, event, status });
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  return receiver;
}

/** The test policy with the webhook and an admin channel for its alerts. */
function policyWith(url: string): string {
  return TEST_POLICY.replace(
    'settings:\n',
    `settings:\n  adminChannel: ${ADMIN_CHANNEL}\n  auditWebhook:\n    url: ${url}\n    secretEnv: ${SECRET_ENV}\n    timeout: 2s\n`,
  );
}

/** Verifies `X-Jit-Signature` as a receiver would (the README's recipe). */
function signatureValid(received: Received, secret: string, nowSeconds: number): boolean {
  const header = String(received.headers['x-jit-signature'] ?? '');
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${received.body}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('audit webhook: every audit entry as a signed CloudEvent', () => {
  let receiver: Receiver;
  let secret: string;
  const bots: TestBot[] = [];
  const start = async (prefix = `jit-test-${randomUUID().slice(0, 8)}`) => {
    const bot = await startTestBot({
      policyYaml: policyWith(receiver.url),
      usergroups: USERGROUPS,
      env: { [SECRET_ENV]: secret, JIT_REDIS_PREFIX: prefix },
    });
    bots.push(bot);
    return bot;
  };

  beforeEach(async () => {
    receiver = await startReceiver();
    secret = randomBytes(32).toString('hex');
  });
  afterEach(async () => {
    await Promise.all(bots.splice(0).map((bot) => bot.stop()));
    await receiver.close();
  });

  it('sends request → approve → grant → expiry in order, signed, with the stream IDs as event IDs', async () => {
    const bot = await start();
    const active = await bot.requestApproved('U0ALICE', 'sandbox-admin 2s debugging INC-42', 'U0LEAD');
    await bot.waitForExpiry(active);
    const trail = await bot.container.auditLog.read({ requestId: active.id });
    expect(trail.map((entry) => `${entry.from}>${entry.to}`)).toEqual([
      'none>pending',
      'pending>approved',
      'approved>active',
      'active>expired',
    ]);
    await eventually(
      () => trail.every((entry) => receiver.delivered().includes(entry.streamId)),
      'every entry of the request delivered',
    );

    const ofRequest = receiver.received.filter((r) => r.event.subject === active.id);
    expect(ofRequest.map((r) => r.event.type)).toEqual([
      'dev.jit-access-bot.request.created',
      'dev.jit-access-bot.request.approved',
      'dev.jit-access-bot.request.granted',
      'dev.jit-access-bot.request.expired',
    ]);
    expect(ofRequest.map((r) => r.event.id)).toEqual(trail.map((entry) => entry.streamId));
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const r of receiver.received) {
      expect(r.headers['content-type']).toBe('application/cloudevents+json');
      expect(signatureValid(r, secret, nowSeconds)).toBe(true);
      expect(signatureValid(r, 'not-the-secret-at-all', nowSeconds)).toBe(false);
    }
    const [created] = ofRequest;
    expect(created?.event).toEqual({
      specversion: '1.0',
      id: trail[0]?.streamId,
      source: `jit-access-bot/${bot.container.keys.prefix}`,
      type: 'dev.jit-access-bot.request.created',
      time: new Date(trail[0]?.at ?? 0).toISOString(),
      subject: active.id,
      datacontenttype: 'application/json',
      data: {
        streamId: trail[0]?.streamId,
        at: new Date(trail[0]?.at ?? 0).toISOString(),
        type: 'transition',
        requestId: active.id,
        from: 'none',
        to: 'pending',
        actor: 'U0ALICE',
        reason: 'debugging INC-42',
      },
    });
    // The whole trail went out in stream order, each entry once.
    const ids = receiver.delivered();
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort(compareStreamIds)).toEqual(ids);
    const metrics = (await bot.container.metrics.exposition()).body;
    expect(metrics).toMatch(/jit_audit_webhook_events_total\{outcome="delivered"\} [1-9]/);
  });

  it('retries a 5xx with backoff until the receiver takes the event, with the same ID, keeping the order', async () => {
    let failures = 0;
    receiver.answer = () => (failures++ < 2 ? 500 : 200);
    const bot = await start();
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploying');
    await bot.waitForState(id, 'active');
    const trail = await bot.container.auditLog.read({ requestId: id });
    await eventually(
      () => trail.every((entry) => receiver.delivered().includes(entry.streamId)),
      'every entry delivered after the receiver recovered',
      { timeoutMs: 15_000 },
    );
    const [first, second, third] = receiver.received;
    expect([first?.status, second?.status, third?.status]).toEqual([500, 500, 200]);
    expect(new Set([first?.event.id, second?.event.id, third?.event.id]).size).toBe(1);
    expect(first?.event.id).toBe(trail[0]?.streamId);
    // Signed afresh on each attempt, so a receiver refusing old timestamps takes the retry.
    expect(first?.headers['x-jit-signature']).not.toBe(third?.headers['x-jit-signature']);
    expect(receiver.delivered().filter((delivered) => trail.some((e) => e.streamId === delivered))).toEqual(
      trail.map((entry) => entry.streamId),
    );
  });

  it('skips an event the receiver refuses with a 400, alerting once, and goes on', async () => {
    receiver.answer = (event) => (event.type === 'dev.jit-access-bot.request.approved' ? 400 : 200);
    const bot = await start();
    const first = await bot.request('U0ALICE', 'staging-deployer 1h deploying');
    const second = await bot.request('U0BOB', 'staging-deployer 1h deploying too');
    await bot.waitForState(first, 'active');
    await bot.waitForState(second, 'active');
    const granted = (await bot.container.auditLog.read()).filter((entry) => entry.to === 'active');
    await eventually(
      () => granted.every((entry) => receiver.delivered().includes(entry.streamId)),
      'the events after the refused ones delivered',
    );
    const refused = receiver.received.filter((r) => r.status === 400);
    expect(refused.map((r) => r.event.subject).sort()).toEqual([first, second].sort());
    // Each refused event was tried once: a 400 is not retried.
    expect(new Set(refused.map((r) => r.event.id)).size).toBe(refused.length);
    const alert = await bot.slack.waitFor(
      (call) => call.method === 'chat.postMessage' && call.args.channel === ADMIN_CHANNEL,
      { description: 'the admin channel alerted' },
    );
    expect(String(alert.args.text)).toContain('Audit webhook refused an event');
    expect(String(alert.args.text)).toContain('HTTP 400');
    await eventually(
      () => bot.logs.filter((line) => String(line.msg).includes('refused an event with HTTP 400')).length === 2,
      'both refusals logged',
    );
    // Alerted once: the second refusal within the hour is logged, not posted again.
    await bot.handled();
    const alerts = bot.slack.calls().filter((c) => c.method === 'chat.postMessage' && c.args.channel === ADMIN_CHANNEL);
    expect(alerts).toHaveLength(1);
    const metrics = (await bot.container.metrics.exposition()).body;
    expect(metrics).toMatch(/jit_audit_webhook_events_total\{outcome="rejected"\} 2/);
  });

  it('resumes from the cursor after a restart: entries written while no bot ran arrive, delivered ones do not repeat', async () => {
    const prefix = `jit-test-${randomUUID().slice(0, 8)}`;
    const first = await start(prefix);
    const id = await first.request('U0ALICE', 'staging-deployer 1h deploying');
    await first.waitForState(id, 'active');
    const before = await first.container.auditLog.read({ requestId: id });
    await eventually(
      () => before.every((entry) => receiver.delivered().includes(entry.streamId)),
      'the first bot delivered the request',
    );
    await first.stop();
    bots.splice(bots.indexOf(first), 1);
    const deliveredBefore = receiver.delivered();

    // Written while no bot runs, as a process that crashed right after writing them would leave them.
    const redis = new Redis(process.env.JIT_TEST_REDIS_URL ?? '');
    try {
      const log = new RedisAuditLog(redis, new RedisKeys(prefix));
      for (const reason of ['one', 'two']) {
        await log.note({ kind: 'drift', requestId: id, actor: 'system:reconciler', reason, at: Date.now() });
      }
    } finally {
      redis.disconnect();
    }

    await start(prefix);
    const notes = await eventuallyValue(() => {
      const drift = receiver.received.filter((r) => r.event.type === 'dev.jit-access-bot.drift' && r.status === 200);
      return drift.length >= 2 && drift;
    }, 'the notes written while no bot ran delivered by the restarted one');
    expect(notes.map((r) => (r.event.data as { reason: string }).reason)).toEqual(['one', 'two']);
    const all = receiver.delivered();
    // Nothing the first bot delivered was sent again, and nothing was sent twice.
    expect(all.slice(0, deliveredBefore.length)).toEqual(deliveredBefore);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('audit webhook secret', () => {
  it('refuses a reloaded policy whose webhook secret the environment lacks, keeping the policy in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-webhook-reload-'));
    const file = join(dir, 'policy.yml');
    writeFileSync(file, TEST_POLICY);
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-test-token-0000',
      SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
      REDIS_URL: process.env.JIT_TEST_REDIS_URL,
      JIT_REDIS_PREFIX: `jit-test-${randomUUID().slice(0, 8)}`,
      JIT_POLICY_FILE: file,
    });
    const policy = parsePolicy(TEST_POLICY, file, PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS);
    const container = buildContainer({
      config: { env, policy },
      logger: createLogger({ level: 'silent' }),
      environment: {},
    });
    try {
      writeFileSync(file, policyWith('https://siem.example/ingest'));
      const outcome = await container.reloadPolicy('SIGHUP');
      expect(outcome).toMatchObject({ outcome: 'rejected' });
      expect(JSON.stringify(outcome)).toContain(SECRET_ENV);
      expect(container.policy.current().settings.auditWebhook).toBeUndefined();
    } finally {
      await container.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start when the variable named by secretEnv is unset, saying which and how to fix it', async () => {
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-test-token-0000',
      SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
      REDIS_URL: process.env.JIT_TEST_REDIS_URL,
      JIT_REDIS_PREFIX: `jit-test-${randomUUID().slice(0, 8)}`,
    });
    const policy = parsePolicy(
      policyWith('https://siem.example/ingest'),
      'test policy',
      PROVIDER_TARGET_SCHEMAS,
      PROVIDER_IAM_POWER,
      PROVIDER_PROPAGATION_MS,
    );
    const container = buildContainer({
      config: { env, policy },
      logger: createLogger({ level: 'silent' }),
      environment: {},
    });
    try {
      const refusal = await container.start(0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(ConfigError);
      expect((refusal as ConfigError).message).toContain(`${SECRET_ENV}: is missing`);
      expect((refusal as ConfigError).message).toContain('settings.auditWebhook.secretEnv');
    } finally {
      await container.stop();
    }
  });
});

function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
