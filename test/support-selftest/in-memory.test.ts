/**
 * The in-memory fakes the unit tests run on, held to the real store and scheduler by contract tests, and each on
 * its own: one file for the fakes' one module, hence its length.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type AccessRequest, OPEN_STATES } from '../../src/domain/access-request';
import type { AuditEntry, AuditEvent } from '../../src/domain/audit-event';
import { CloudProviderError } from '../../src/domain/errors';
import type { AuditLog, GrantSpec, RequestStore } from '../../src/domain/ports';
import { isRequestIdShaped } from '../../src/domain/request-id';
import { BullMqJobScheduler, closeQueues, createQueues } from '../../src/jobs/scheduler';
import { createLogger } from '../../src/lib/logger';
import { RedisAuditLog } from '../../src/store/audit-log';
import { RedisKeys } from '../../src/store/keys';
import { READ_CHUNK, RedisRequestStore } from '../../src/store/request-store';
import {
  InMemoryAuditLog,
  InMemoryCloudProvider,
  InMemoryJobScheduler,
  InMemoryPeopleDirectory,
  InMemoryRequestStore,
  inMemoryWorld,
  ManualClock,
  RecordingNotifier,
  SequentialIds,
  WORLD_START,
} from '../support/in-memory';

const T0 = WORLD_START;
const MINUTE = 60_000;
const silent = createLogger({ level: 'silent' });

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'reqaaaab',
    roleId: 'sandbox-admin',
    requesterId: 'U0ALICE',
    teamId: 'T0TEAM',
    reason: 'debugging INC-42',
    durationMs: 60 * MINUTE,
    state: 'pending',
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    approvalDeadline: T0 + 30 * MINUTE,
    approvals: [],
    ...overrides,
  };
}

function event(r: AccessRequest, from: AuditEvent['from'], actor = 'U0ALICE'): AuditEvent {
  return { requestId: r.id, from, to: r.state, actor, reason: `${from} → ${r.state}`, at: r.updatedAt };
}

/** Moves a stored request on by one version, as the domain does. */
function next(r: AccessRequest, changes: Partial<AccessRequest>): AccessRequest {
  return { ...r, ...changes, version: r.version + 1, updatedAt: r.updatedAt + MINUTE };
}

async function all(log: AuditLog, sinceMs?: number): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of log.entries(sinceMs)) entries.push(entry);
  return entries;
}

/** What matters of an audit entry for the contract (stream IDs differ: Redis's clock against the manual one). */
const essence = ({ streamId: _streamId, ...rest }: AuditEntry) => rest;

interface StoreUnderTest {
  store: RequestStore;
  auditLog: AuditLog;
}

/**
 * One contract, two implementations: whatever the Redis store does, the in-memory one must do, so unit tests on
 * the fakes cannot pass on behaviour production does not have.
 */
describe.each<[string, () => Promise<StoreUnderTest & { close(): Promise<void> }>]>([
  [
    'RedisRequestStore',
    async () => {
      const url = process.env.JIT_TEST_REDIS_URL;
      if (!url) throw new Error('JIT_TEST_REDIS_URL is not set: run through jest (its global setup starts Redis)');
      const redis = new Redis(url);
      const keys = new RedisKeys(`jit-contract-${randomUUID().slice(0, 8)}`);
      return {
        store: new RedisRequestStore(redis, keys, silent),
        auditLog: new RedisAuditLog(redis, keys),
        async close() {
          const written = await redis.keys(`${keys.prefix}:*`);
          if (written.length > 0) await redis.del(...written);
          redis.disconnect();
        },
      };
    },
  ],
  [
    'InMemoryRequestStore',
    async () => {
      const auditLog = new InMemoryAuditLog(new ManualClock(T0));
      return { store: new InMemoryRequestStore(auditLog), auditLog, close: async () => {} };
    },
  ],
])('RequestStore contract: %s', (_name, make) => {
  let store: RequestStore;
  let auditLog: AuditLog;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ store, auditLog, close } = await make());
  });
  afterEach(async () => {
    await close();
  });

  it('creates a request once, with its audit event, and reads it back as stored', async () => {
    const created = request({
      reason: 'with "quotes", commas\nand a newline',
      approvals: [{ userId: 'U0LEAD', at: T0 }],
    });
    expect(await store.create(created, event(created, 'none'))).toBe(true);
    expect(await store.get(created.id)).toEqual(created);
    const again = request({ reason: 'someone else' });
    expect(await store.create(again, event(again, 'none'))).toBe(false);
    expect(await store.get(created.id)).toEqual(created);
    expect((await all(auditLog)).map(essence)).toEqual([{ type: 'transition', ...event(created, 'none') }]);
    expect(await store.get('nosuchid')).toBeUndefined();
  });

  it('creates within a cap of open requests: extensions, ended requests and other people are not counted', async () => {
    const cap = { max: 2, states: OPEN_STATES };
    const stored = [
      request({ id: 'reqactiv', state: 'active', expiresAt: T0 + 60 * MINUTE }),
      request({ id: 'reqexten', extends: 'reqactiv' }),
      request({ id: 'reqended', state: 'expired' }),
      request({ id: 'reqother', requesterId: 'U0BOB' }),
    ];
    for (const each of stored) await store.create(each, event(each, 'none'));
    const second = request({ id: 'reqsecnd' });
    expect(await store.createWithinCap(second, event(second, 'none'), cap)).toEqual({ kind: 'created' });
    const before = (await all(auditLog)).length;
    const third = request({ id: 'reqthird' });
    expect(await store.createWithinCap(third, event(third, 'none'), cap)).toEqual({ kind: 'at-cap', open: 2 });
    expect(await store.get('reqthird')).toBeUndefined();
    expect(await all(auditLog)).toHaveLength(before);
    const taken = request({ id: 'reqactiv' });
    expect(await store.createWithinCap(taken, event(taken, 'none'), { ...cap, max: 9 })).toEqual({ kind: 'id-taken' });
  });

  it('creates within a cap atomically: of requests filed at the same moment, only those under the cap are stored', async () => {
    const filed = ['reqfirst', 'reqsecnd', 'reqthird', 'reqforth'].map((id) => request({ id }));
    const outcomes = await Promise.all(
      filed.map((each) => store.createWithinCap(each, event(each, 'none'), { max: 2, states: OPEN_STATES })),
    );
    expect(outcomes.filter((outcome) => outcome.kind === 'created')).toHaveLength(2);
    expect(outcomes.filter((outcome) => outcome.kind === 'at-cap')).toEqual([
      { kind: 'at-cap', open: 2 },
      { kind: 'at-cap', open: 2 },
    ]);
    expect(await store.listByRequester('U0ALICE')).toHaveLength(2);
  });

  it('compare-and-set: an update on the stored version wins; a stale one changes nothing and audits nothing', async () => {
    const v1 = request();
    await store.create(v1, event(v1, 'none'));
    const approved = next(v1, { state: 'approved', decidedBy: 'U0LEAD' });
    expect(await store.update(approved, 1, event(approved, 'pending', 'U0LEAD'))).toBe(true);
    // A second approver read version 1 too, and is too late.
    const denied = next(v1, { state: 'denied', decidedBy: 'U0SEC' });
    expect(await store.update(denied, 1, event(denied, 'pending', 'U0SEC'))).toBe(false);
    expect(await store.get(v1.id)).toEqual(approved);
    expect((await all(auditLog)).map((entry) => entry.actor)).toEqual(['U0ALICE', 'U0LEAD']);
    // Nothing stored under that ID: nothing to update.
    const ghost = request({ id: 'reqghost', version: 2 });
    expect(await store.update(ghost, 1, event(ghost, 'pending'))).toBe(false);
    expect(await store.get('reqghost')).toBeUndefined();
  });

  it("lists a person's requests newest first, optionally only in some states", async () => {
    const older = request({ id: 'reqolder', createdAt: T0, updatedAt: T0 });
    const newer = request({ id: 'reqnewer', createdAt: T0 + MINUTE, updatedAt: T0 + MINUTE });
    const bobs = request({ id: 'reqbobss', requesterId: 'U0BOB', createdAt: T0 + 2 * MINUTE });
    for (const r of [older, newer, bobs]) await store.create(r, event(r, 'none'));
    const cancelled = next(newer, { state: 'cancelled' });
    await store.update(cancelled, 1, event(cancelled, 'pending'));
    expect((await store.listByRequester('U0ALICE')).map((r) => r.id)).toEqual(['reqnewer', 'reqolder']);
    expect((await store.listByRequester('U0ALICE', ['pending'])).map((r) => r.id)).toEqual(['reqolder']);
    expect(await store.listByRequester('U0NOBODY')).toEqual([]);
  });

  it('lists by state with the state’s score (deadline when pending, expiry when active), moving on each change', async () => {
    const soon = request({ id: 'reqsoonn', approvalDeadline: T0 + 10 * MINUTE });
    const late = request({ id: 'reqlater', approvalDeadline: T0 + 50 * MINUTE });
    for (const r of [late, soon]) await store.create(r, event(r, 'none'));
    expect((await store.listByState('pending')).map((r) => r.id)).toEqual(['reqsoonn', 'reqlater']);
    expect((await store.listByState('pending', T0 + 10 * MINUTE)).map((r) => r.id)).toEqual(['reqsoonn']);

    const active = next(soon, { state: 'active', expiresAt: T0 + 70 * MINUTE, activatedAt: T0 + MINUTE });
    await store.update(active, 1, event(active, 'pending'));
    expect((await store.listByState('pending')).map((r) => r.id)).toEqual(['reqlater']);
    expect((await store.listByState('active', T0 + 69 * MINUTE)).map((r) => r.id)).toEqual([]);
    expect((await store.listByState('active', T0 + 70 * MINUTE)).map((r) => r.id)).toEqual(['reqsoonn']);
  });

  it('lists many more requests than one read holds, all of them, in order', async () => {
    const many = Array.from({ length: READ_CHUNK * 2 + 7 }, (_, index) =>
      request({ id: `req${String(index).padStart(5, '0')}`, approvalDeadline: T0 + index }),
    );
    for (const r of many) await store.create(r, event(r, 'none'));
    expect((await store.listByState('pending')).map((r) => r.id)).toEqual(many.map((r) => r.id));
  });

  it('a change audited with the wrong `from` still lists the request only under its true state', async () => {
    const v1 = request();
    await store.create(v1, event(v1, 'none'));
    const approved = next(v1, { state: 'approved' });
    // Claims it came from `active`: the pending index keeps a stale entry, which reads filter out.
    await store.update(approved, 1, { ...event(approved, 'active') });
    expect(await store.listByState('pending')).toEqual([]);
    expect((await store.listByState('approved')).map((r) => r.id)).toEqual([v1.id]);
  });

  it('keeps where the approval message is', async () => {
    expect(await store.getApprovalMessage('reqaaaab')).toBeUndefined();
    await store.setApprovalMessage('reqaaaab', { channel: 'C0APPROVALS', ts: '1700000000.000100' });
    expect(await store.getApprovalMessage('reqaaaab')).toEqual({ channel: 'C0APPROVALS', ts: '1700000000.000100' });
  });

  it("records each notice's parts delivered with its request, read back with the request and its message", async () => {
    const v1 = request();
    expect(await store.forNotice(v1.id, 'approved-v2')).toBeUndefined();
    await store.recordNoticeStep(v1.id, 'approved-v2', 'thread-reply');
    await store.create(v1, event(v1, 'none'));
    expect(await store.forNotice(v1.id, 'approved-v2')).toEqual({
      request: v1,
      approvalMessage: undefined,
      done: new Set(),
    });

    const message = { channel: 'C0APPROVALS', ts: '1700000000.000100' };
    // Kept by the notice that posted it, which records its part in the same write.
    await store.setApprovalMessage(v1.id, message, 'approved-v2');
    await store.recordNoticeStep(v1.id, 'approved-v2', 'thread-reply');
    await store.recordNoticeStep(v1.id, 'activated-v3', 'requester-dm');
    const approved = next(v1, { state: 'approved' });
    expect(await store.update(approved, 1, event(approved, 'pending'))).toBe(true);

    // A change of the request keeps both; each notice reads only its own record.
    expect(await store.forNotice(v1.id, 'approved-v2')).toEqual({
      request: approved,
      approvalMessage: message,
      done: new Set(['approval-message', 'thread-reply']),
    });
    expect((await store.forNotice(v1.id, 'activated-v3'))?.done).toEqual(new Set(['requester-dm']));
    expect((await store.forNotice(v1.id, 'approved-v22'))?.done).toEqual(new Set());
    expect(await store.getApprovalMessage(v1.id)).toEqual(message);
  });

  it('the audit log: transitions and notes in order, read from a point in time, trimmed from the old end', async () => {
    const v1 = request();
    await store.create(v1, event(v1, 'none'));
    await auditLog.note({ kind: 'refusal', actor: 'U0MALLORY', reason: 'not an approver', at: T0 + 1 });
    await auditLog.note({ kind: 'drift', requestId: v1.id, actor: 'system:reconcile', reason: 'odd', at: T0 + 2 });
    const entries = await all(auditLog);
    expect(entries.map(essence)).toEqual([
      { type: 'transition', ...event(v1, 'none') },
      { type: 'refusal', actor: 'U0MALLORY', reason: 'not an approver', at: T0 + 1 },
      { type: 'drift', requestId: v1.id, actor: 'system:reconcile', reason: 'odd', at: T0 + 2 },
    ]);
    // Stream IDs are `<ms>-<seq>` and strictly increasing.
    const ids = entries.map((entry) => entry.streamId.split('-').map(Number) as [number, number]);
    for (let i = 1; i < ids.length; i += 1) {
      const [ms, seq] = ids[i] as [number, number];
      const [prevMs, prevSeq] = ids[i - 1] as [number, number];
      expect(ms > prevMs || (ms === prevMs && seq > prevSeq)).toBe(true);
    }
    const firstMs = ids[0]?.[0] ?? 0;
    expect((await all(auditLog, firstMs)).length).toBe(3);
    expect(await all(auditLog, firstMs + 365 * 24 * 60 * MINUTE)).toEqual([]);
    // Trimming before the first entry drops nothing; what a trim keeps is never older than its cutoff (Redis trims
    // approximately, so it may keep more).
    expect(await auditLog.trim(firstMs)).toBe(0);
    expect((await all(auditLog)).length).toBe(3);
  });
});

describe('ManualClock and SequentialIds', () => {
  it('time moves only when told, and never backwards', () => {
    const clock = new ManualClock(T0);
    expect(clock.now()).toBe(T0);
    expect(clock.advance(5_000)).toBe(T0 + 5_000);
    expect(() => clock.advance(-1)).toThrow('only moves forward');
    expect(() => clock.set(T0)).toThrow('before now');
  });

  it('hands out the given IDs, then distinct IDs shaped like real ones', () => {
    const ids = new SequentialIds(['k7m2xq9d']);
    expect(ids.newRequestId()).toBe('k7m2xq9d');
    const made = Array.from({ length: 2_000 }, () => ids.newRequestId());
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(isRequestIdShaped(id)).toBe(true);
  });
});

/** The in-memory scheduler and BullMQ's given the same calls hold the same jobs, due at the same times. */
describe('JobScheduler contract: InMemoryJobScheduler against BullMqJobScheduler', () => {
  let redis: Redis;
  beforeAll(() => {
    const url = process.env.JIT_TEST_REDIS_URL;
    if (!url) throw new Error('JIT_TEST_REDIS_URL is not set: run through jest (its global setup starts Redis)');
    redis = new Redis(url, { maxRetriesPerRequest: null });
  });
  afterAll(() => {
    redis.disconnect();
  });

  it('deduplicates, moves, promotes and cancels the same way', async () => {
    const clock = new ManualClock(T0);
    const queues = createQueues(redis, `jit-contract-${randomUUID().slice(0, 8)}`, silent);
    const bull = new BullMqJobScheduler(queues, clock, silent);
    const memory = new InMemoryJobScheduler(clock);
    try {
      for (const scheduler of [bull, memory]) {
        await scheduler.scheduleGrant('reqaaaab');
        await scheduler.scheduleGrant('reqaaaab');
        await scheduler.scheduleRevocation('reqaaaab', T0 + 60 * MINUTE);
        // An extension moves the delayed revocation instead of adding another.
        await scheduler.scheduleRevocation('reqaaaab', T0 + 90 * MINUTE);
        await scheduler.scheduleRevocation('reqbbbbc', T0 + 30 * MINUTE);
        await scheduler.revokeNow('reqbbbbc');
        await scheduler.scheduleApprovalTimeout('reqcccce', T0 + 30 * MINUTE);
        await scheduler.scheduleApprovalTimeout('reqddddf', T0 + 30 * MINUTE);
        await scheduler.cancelApprovalTimeout('reqddddf');
        await scheduler.scheduleNotice('reqaaaab', 'approved', 2);
        await scheduler.scheduleNotice('reqaaaab', 'approved', 2);
        await scheduler.scheduleNotice('reqaaaab', 'activated', 3);
        await scheduler.scheduleReminder('reqaaaab', 'expiry-reminder', T0 + 80 * MINUTE, 3);
        await scheduler.scheduleRevocationCheck('reqaaaab', T0 + 95 * MINUTE);
        await scheduler.scheduleHomeRefresh('U0ALICE');
        await scheduler.scheduleHomeRefresh('U0ALICE');
      }
      const bullJobs = [];
      for (const queue of Object.values(queues)) {
        for (const job of await queue.getJobs(['delayed', 'waiting', 'prioritized', 'active'])) {
          const state = await job.getState();
          bullJobs.push({ id: String(job.id), dueIn: state === 'delayed' ? job.delay : 0 });
        }
      }
      const memoryJobs = memory.pending().map((job) => ({ id: job.id, dueIn: Math.max(0, job.runAt - clock.now()) }));
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect(memoryJobs.sort(byId)).toEqual(bullJobs.sort(byId));
      expect(memoryJobs.map((job) => job.id)).toContain('revoke-reqbbbbc');
    } finally {
      await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true })));
      await closeQueues(queues);
    }
  });
});

describe('InMemoryJobScheduler running jobs', () => {
  it('runs each due job at its own time as the clock advances; unhandled kinds wait; failures are kept', async () => {
    const clock = new ManualClock(T0);
    const scheduler = new InMemoryJobScheduler(clock);
    const ranAt: string[] = [];
    await scheduler.scheduleGrant('reqaaaab');
    await scheduler.scheduleRevocation('reqaaaab', T0 + 10 * MINUTE);
    await scheduler.scheduleApprovalTimeout('reqbbbbc', T0 + 5 * MINUTE);
    await scheduler.scheduleNotice('reqaaaab', 'activated', 2);
    const handlers = {
      grant: async (job: { requestId?: string }) => {
        ranAt.push(`grant@${clock.now() - T0}`);
        // A job scheduling more work, due now: it runs in the same pass.
        await scheduler.scheduleRevocationCheck(job.requestId ?? '', clock.now());
      },
      'revocation-check': () => {
        ranAt.push(`check@${clock.now() - T0}`);
      },
      revoke: () => {
        ranAt.push(`revoke@${clock.now() - T0}`);
        throw new CloudProviderError('dryrun', 'the cloud is down', true);
      },
      'approval-timeout': () => {
        ranAt.push(`timeout@${clock.now() - T0}`);
      },
    };
    expect((await scheduler.runDue(handlers)).map((job) => job.id)).toEqual(['grant-reqaaaab', 'verify-reqaaaab']);
    await scheduler.advance(15 * MINUTE, handlers);
    expect(ranAt).toEqual(['grant@0', 'check@0', `timeout@${5 * MINUTE}`, `revoke@${10 * MINUTE}`]);
    expect(clock.now()).toBe(T0 + 15 * MINUTE);
    expect(scheduler.find('revoke-reqaaaab')).toMatchObject({ state: 'failed', error: expect.any(CloudProviderError) });
    expect(scheduler.pending().map((job) => job.id)).toEqual(['notice-reqaaaab-activated-v2']);
    // A finished revocation is run again by revokeNow (BullMQ would otherwise deduplicate it away).
    await scheduler.revokeNow('reqaaaab');
    expect(scheduler.find('revoke-reqaaaab')).toMatchObject({ state: 'pending', runAt: clock.now() });
  });
});

describe('InMemoryCloudProvider', () => {
  const spec = (overrides: Partial<GrantSpec> = {}): GrantSpec => ({
    requestId: 'reqaaaab',
    roleId: 'sandbox-admin',
    target: {},
    principal: { slackUserId: 'U0ALICE', identities: {} },
    expiresAt: T0 + 60 * MINUTE,
    ...overrides,
  });

  it('grants idempotently (a second grant replaces the expiry on the same artefact) and revokes what is gone', async () => {
    const cloud = new InMemoryCloudProvider();
    await cloud.grant(spec());
    await cloud.grant(spec({ expiresAt: T0 + 90 * MINUTE }));
    expect(cloud.grants()).toEqual([expect.objectContaining({ requestId: 'reqaaaab', expiresAt: T0 + 90 * MINUTE })]);
    expect(await cloud.verify(spec())).toBe(true);
    const found = await cloud.findGrants([{ roleId: 'sandbox-admin', target: {} }]);
    expect(found.map((grant) => [grant.requestId, grant.expiresAt])).toEqual([['reqaaaab', T0 + 90 * MINUTE]]);
    expect(await cloud.findGrants([{ roleId: 'other', target: {} }])).toEqual([]);
    await cloud.revoke(spec());
    await cloud.revoke(spec());
    expect(await cloud.verify(spec())).toBe(false);
  });

  it('refuses as the real providers do: failGrantWith, no email where one is needed, injected outages', async () => {
    const cloud = new InMemoryCloudProvider({ name: 'gcp', identifiesPeopleByEmail: true });
    await expect(cloud.grant(spec({ target: { failGrantWith: 'closed' } }))).rejects.toMatchObject({
      retryable: false,
      message: 'closed',
    });
    await expect(cloud.grant(spec())).rejects.toBeInstanceOf(CloudProviderError);
    const outcome = await cloud.grant(spec({ principal: { slackUserId: 'U0ALICE', identities: {}, email: 'a@x.io' } }));
    expect(outcome.memo).toMatchObject({ principal: 'a@x.io' });
    cloud.failNext('revoke');
    await expect(cloud.revoke(spec())).rejects.toMatchObject({ retryable: true });
    await cloud.revoke(spec());
    expect(cloud.grants()).toEqual([]);
  });
});

describe('InMemoryPeopleDirectory and RecordingNotifier', () => {
  it('answers like Slack: group members, emails with their confirmed flag, standings, unknown people', async () => {
    const directory = new InMemoryPeopleDirectory({
      usergroups: { S0ONCALL: ['U0LEAD'] },
      people: {
        U0ALICE: { email: 'alice@x.io', emailConfirmed: false },
        U0EX: { deactivated: true },
        U0G: { guest: true },
      },
    });
    expect(await directory.usergroupMembers('S0ONCALL')).toEqual(['U0LEAD']);
    expect(await directory.usergroupMembers('S0NONE')).toEqual([]);
    expect(await directory.userEmail('U0ALICE')).toEqual({ address: 'alice@x.io', confirmed: false });
    expect(await directory.userEmail('U0BOB')).toBeUndefined();
    expect(await directory.userStanding('U0EX')).toEqual({ deactivated: true, guest: false });
    expect(await directory.userStanding('U0G')).toEqual({ deactivated: false, guest: true });
    expect(await directory.userStanding('U0BOB')).toEqual({ deactivated: false, guest: false });
    directory.setPerson('U0BOB', null);
    expect(await directory.userStanding('U0BOB')).toBeUndefined();
  });

  it('posts an approval message once per request and redraws it where it is', async () => {
    const notifier = new RecordingNotifier();
    const world = inMemoryWorld({ policy: POLICY });
    const role = world.policy.current().roles[0];
    const posted = await notifier.showApprovalMessage(request(), role, undefined);
    expect(posted).toEqual({ channel: 'C0APPROVALS', ts: expect.any(String) });
    expect(await notifier.showApprovalMessage(request(), role, posted)).toEqual(posted);
    expect(await notifier.showApprovalMessage(request(), undefined, undefined)).toBeUndefined();
    expect(notifier.callsOf('showApprovalMessage')).toHaveLength(3);
  });
});

const POLICY = `
settings:
  minDuration: 1m
roles:
  - id: sandbox-admin
    description: Admin on the sandbox account
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers:
      usergroups: [S0ONCALL]
  - id: sql-viewer
    description: View Cloud SQL
    provider: gcp
    target: { resource: projects/p, role: roles/cloudsql.viewer }
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
`;

describe('inMemoryWorld', () => {
  it('builds every port around one clock, with a cloud per provider the policy names', async () => {
    const world = inMemoryWorld({ policy: POLICY, usergroups: { S0ONCALL: ['U0LEAD'] }, ids: ['k7m2xq9d'] });
    expect(world.providers.list().map((provider) => provider.name)).toEqual(['dryrun', 'gcp']);
    expect(world.cloud('gcp')).toBe(world.providers.get('gcp'));
    expect(() => world.cloud('aws')).toThrow('has dryrun, gcp');
    expect(world.ids.newRequestId()).toBe('k7m2xq9d');
    expect(await world.directory.usergroupMembers('S0ONCALL')).toEqual(['U0LEAD']);
    expect(world.deps.audit).toBe(world.auditLog);

    // The store's transitions land in the world's audit log, stamped by the world's clock.
    world.clock.advance(1_000);
    const r = request();
    await world.store.create(r, event(r, 'none'));
    expect(await world.auditLog.read()).toEqual([{ ...event(r, 'none'), streamId: `${T0 + 1_000}-0` }]);

    world.setPolicy(POLICY.replace('minDuration: 1m', 'minDuration: 5m'));
    expect(world.policy.current().settings.minDurationMs).toBe(5 * MINUTE);
  });

  it('refuses a policy the bot would refuse', () => {
    expect(() => inMemoryWorld({ policy: 'roles: [{ id: x }]' })).toThrow(/provider/);
  });
});
