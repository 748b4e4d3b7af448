import { Redis } from 'ioredis';
import type { AccessRequest } from '../../src/domain/access-request';
import { ACTION_IDS } from '../../src/slack/ids';
import { eventually } from '../support/eventually';
import { type FakeGcpCrm, startFakeGcpWithAdc } from '../support/fake-gcp-crm';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const PROJECT = 'projects/payments-prod';
const ROLE = 'roles/cloudsql.viewer';
const ADMIN_CHANNEL = 'C0ADMIN';

const POLICY = `
settings:
  minDuration: 1s
  adminChannel: ${ADMIN_CHANNEL}
  admins: { users: [U0SEC] }
  alertAfter: 2
  reconcileEvery: 1s
  propagation: { gcp: 2s }
roles:
  - id: sql-viewer
    description: View Cloud SQL in payments-prod
    provider: gcp
    target:
      resource: ${PROJECT}
      role: ${ROLE}
    maxDuration: 1h
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
`;

/** A sweep runs every second; give a few of them time. */
const SWEEP = { timeoutMs: 15_000 };

const jitBindings = (fake: FakeGcpCrm) =>
  fake.policy(PROJECT).bindings.filter((binding) => binding.condition?.title?.startsWith('jit-'));

/**
 * The promise to the security team, against a real Resource Manager client and a Redis of the test's own:
 * access ends even when Redis forgets it, when the cloud fails for a while, and when the cloud still shows it.
 */
describe('never leave access behind', () => {
  let fake: FakeGcpCrm;
  let redisServer: RedisServerHandle;
  let bot: TestBot;
  let restoreGcp: () => void;

  beforeAll(async () => {
    ({ fake, restore: restoreGcp } = await startFakeGcpWithAdc());
    redisServer = await startRedisServer();
  });

  beforeEach(async () => {
    fake.reset();
    bot = await startTestBot({
      policyYaml: POLICY,
      usergroups: USERGROUPS,
      redisUrl: redisServer.url,
      env: { GCP_RESOURCE_MANAGER_ENDPOINT: fake.endpoint },
    });
  });

  afterEach(async () => {
    await bot.stop();
  });

  afterAll(async () => {
    await redisServer?.stop();
    await fake?.close();
    restoreGcp?.();
  });

  const adminAlerts = () => bot.slack.calls('chat.postMessage').filter((call) => call.args.channel === ADMIN_CHANNEL);

  it('revokes from the cloud alone, at expiry, after Redis lost everything', async () => {
    const alice = await bot.requestApproved('U0ALICE', 'sql-viewer 4s INC-1', 'U0LEAD');
    const bob = await bot.requestApproved('U0BOB', 'sql-viewer 4s INC-2', 'U0LEAD');
    expect(jitBindings(fake)).toHaveLength(2);

    const client = new Redis(redisServer.url);
    await client.flushall();
    await client.quit();

    await eventually(() => jitBindings(fake).length === 0, 'the sweep revoked both bindings', SWEEP);
    expect(Date.now()).toBeGreaterThanOrEqual(Math.max(alice.expiresAt ?? 0, bob.expiresAt ?? 0));
    const drift = adminAlerts().map((call) => String(call.args.text));
    expect(drift).toEqual(expect.arrayContaining([expect.stringContaining(alice.id), expect.stringContaining(bob.id)]));
    expect(drift.join('\n')).toContain('which the store does not know');
    // The note follows the cloud call that removed the binding.
    await eventually(
      async () => (await bot.container.auditLog.notes({ kind: 'reconciled' })).length >= 2,
      'both revocations were audited',
      SWEEP,
    );
    const reconciled = await bot.container.auditLog.notes({ kind: 'reconciled' });
    expect(reconciled.map((note) => note.requestId).sort()).toEqual([alice.id, bob.id].sort());
  });

  it('keeps retrying a failing revocation, alerts with a Retry button, and ends the access once the cloud recovers', async () => {
    const active = await bot.requestApproved('U0ALICE', 'sql-viewer 2s INC-3', 'U0LEAD');
    // Three revocation attempts of four in-call tries each meet a 503.
    fake.failNext(12, 503, { only: 'setIamPolicy' });

    const alert = await bot.slack.waitFor(
      (call) => call.method === 'chat.postMessage' && call.args.channel === ADMIN_CHANNEL,
      { description: 'alert in the admin channel', timeoutMs: 15_000 },
    );
    expect(String(alert.args.text)).toContain(`Revoking access for request ${active.id} has failed 2 times`);
    // After exactly two attempts (the expiry sweep's, then its own job's first), each of four tries; the next
    // waits out its backoff.
    expect(fake.callsOf('setIamPolicy', PROJECT).filter((call) => call.status === 503)).toHaveLength(8);
    const blocks = JSON.stringify(alert.args.blocks);
    expect(blocks).toContain(ACTION_IDS.retryRevocation);
    expect(blocks).toContain('503');
    expect(await bot.container.redis.smembers(bot.container.keys.irrevocable())).toEqual([active.id]);

    await bot.waitForExpiry(active, 20_000);
    expect(jitBindings(fake)).toEqual([]);
    expect(await bot.container.redis.smembers(bot.container.keys.irrevocable())).toEqual([]);
    const failedWrites = fake.callsOf('setIamPolicy', PROJECT).filter((call) => call.status === 503);
    expect(failedWrites).toHaveLength(12);
  });

  it('lets only admins press Retry now', async () => {
    const active = await bot.requestApproved('U0ALICE', 'sql-viewer 1h INC-4', 'U0LEAD');
    const press = (userId: string) =>
      bot.press(userId, ACTION_IDS.retryRevocation, active.id, { channelId: ADMIN_CHANNEL });
    await press('U0LEAD');
    await bot.waitForEphemeral('U0LEAD', 'Only the admins named in the policy');
    expect((await bot.container.store.get(active.id))?.state).toBe('active');
    await press('U0SEC');
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.postEphemeral' &&
        call.args.user === 'U0SEC' &&
        String(call.args.text).includes('Retrying'),
      { description: 'admin retry accepted' },
    );
  });

  it('reads the cloud back after propagation and revokes again, with an alert, when access is still there', async () => {
    // The sweep would also catch the binding; an hourly one leaves this to the read-back after propagation.
    await bot.stop();
    bot = await startTestBot({
      policyYaml: POLICY.replace('reconcileEvery: 1s', 'reconcileEvery: 1h'),
      usergroups: USERGROUPS,
      redisUrl: redisServer.url,
      env: { GCP_RESOURCE_MANAGER_ENDPOINT: fake.endpoint },
    });
    const active: AccessRequest = await bot.requestApproved('U0ALICE', 'sql-viewer 2s INC-5', 'U0LEAD');
    const [binding] = jitBindings(fake);
    await bot.waitForExpiry(active);
    // The cloud shows the binding again, as a stale replica would within its propagation window.
    fake.seed(PROJECT, [...fake.policy(PROJECT).bindings, ...(binding ? [binding] : [])]);

    const alert = await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.channel === ADMIN_CHANNEL &&
        String(call.args.text).includes('still in place'),
      { description: 'access-remains alert', timeoutMs: 10_000 },
    );
    expect(String(alert.args.text)).toContain(active.id);
    await eventually(() => jitBindings(fake).length === 0, 'the binding was revoked again', SWEEP);
    const notes = await bot.container.auditLog.notes({ requestId: active.id, kind: 'alert' });
    expect(notes.map((note) => note.actor)).toEqual(['system:verify']);
  });

  it('revokes a binding left behind after its request ended, and says so', async () => {
    const active: AccessRequest = await bot.requestApproved('U0ALICE', 'sql-viewer 2s INC-6', 'U0LEAD');
    const [binding] = jitBindings(fake);
    await bot.waitForExpiry(active);
    fake.seed(PROJECT, [...fake.policy(PROJECT).bindings, ...(binding ? [binding] : [])]);
    await eventually(() => jitBindings(fake).length === 0, 'the sweep revoked the left-behind binding', SWEEP);
    const drift = await bot.container.auditLog.notes({ requestId: active.id, kind: 'drift' });
    expect(drift.map((note) => note.reason).join('\n')).toContain('although request');
  });
});
