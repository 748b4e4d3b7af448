import { REVOKE_JOB_BACKSTOP_MS } from '../../../../src/domain/expiry-reminder';
import { FRESH_GRANT_GRACE_MS, STUCK_APPROVAL_MS } from '../../../../src/domain/reconciler';
import { WORLD_START } from '../../../support/in-memory';
import { HOUR, MINUTE, observable, serviceWorld } from './service-world';

const T0 = WORLD_START;
const artefact = (requestId: string, expiresAt: number) => ({
  requestId,
  roleId: 'sandbox-admin',
  principal: 'U0ALICE',
  target: {},
  expiresAt,
});

describe('Reconciler.reconcile', () => {
  it('a clean world: nothing found, nothing done', async () => {
    const world = serviceWorld();
    await world.activeGrant();
    world.clock.advance(2 * MINUTE);
    const before = await observable(world);
    const report = await world.reconciler.reconcile();
    expect(report).toEqual({
      overdue: 0,
      maxOverdueMs: 0,
      pendingTimedOut: 0,
      grantsRescheduled: 0,
      found: 1,
      revokedFromCloud: 0,
      drift: 0,
      auditTrimmed: 0,
      failures: [],
    });
    const after = await observable(world);
    expect({ ...after, cloudCalls: before.cloudCalls }).toEqual(before);
  });

  it('an artefact unknown to the store and past its expiry is revoked, audited and alerted as drift', async () => {
    const world = serviceWorld();
    world.cloud().plant(artefact('lostlost', T0 - MINUTE));
    const report = await world.reconciler.reconcile();
    expect(report).toMatchObject({ found: 1, revokedFromCloud: 1, drift: 1 });
    expect(world.cloud().grants()).toEqual([]);
    expect(world.alerter.alerts).toEqual([
      {
        kind: 'drift',
        requestId: 'lostlost',
        details: {
          situation: 'unknown-to-store',
          provider: 'dryrun',
          description: 'dryrun artefact jit-lostlost of sandbox-admin to U0ALICE',
        },
      },
    ]);
    expect((await world.auditLog.notes({ requestId: 'lostlost' })).map((note) => [note.type, note.actor])).toEqual([
      ['drift', 'system:reconciler'],
      ['reconciled', 'system:reconciler'],
    ]);
  });

  it('an artefact unknown to the store but not yet expired is alerted with its end, and left to end by itself', async () => {
    const world = serviceWorld();
    world.cloud().plant(artefact('lostlost', T0 + HOUR));
    const report = await world.reconciler.reconcile();
    expect(report).toMatchObject({ found: 1, revokedFromCloud: 0, drift: 1 });
    expect(world.cloud().grants()).toHaveLength(1);
    expect(world.alerter.alerts[0]).toMatchObject({ details: { situation: 'unknown-to-store', endsAt: T0 + HOUR } });
  });

  it('an artefact left behind by an ended request is revoked and alerted', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    world.clock.set(grant.expiresAt ?? 0);
    await world.lifecycle.finishAccess(grant.id);
    world.cloud().plant(artefact(grant.id, grant.expiresAt ?? 0));
    const report = await world.reconciler.reconcile();
    expect(report).toMatchObject({ revokedFromCloud: 1, drift: 1 });
    expect(world.cloud().grants()).toEqual([]);
    expect(world.alerter.alerts[0]).toMatchObject({ details: { situation: 'left-behind', state: 'expired' } });
  });

  it('a grant active in the store past its expiry and its backstop has its revocation run now', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    // Within the backstop, a grant is the expiry sweep's or its own job's: not the reconciler's.
    world.clock.set((grant.expiresAt ?? 0) + REVOKE_JOB_BACKSTOP_MS - 1);
    world.scheduler.lose(`revoke-${grant.id}`);
    expect(await world.reconciler.reconcile()).toMatchObject({ overdue: 0 });
    expect(world.scheduler.find(`revoke-${grant.id}`)).toBeUndefined();

    world.clock.set((grant.expiresAt ?? 0) + REVOKE_JOB_BACKSTOP_MS + 3 * MINUTE);
    // The sweep and the revoke job were lost (a worker crash, Redis restored from an older copy).
    const report = await world.reconciler.reconcile();
    expect(report).toMatchObject({
      overdue: 1,
      maxOverdueMs: REVOKE_JOB_BACKSTOP_MS + 3 * MINUTE,
      revokedFromCloud: 0,
      drift: 0,
    });
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({ state: 'pending', runAt: world.clock.now() });
    await world.scheduler.runDue(world.handlers);
    expect(await world.stored(grant.id)).toMatchObject({ state: 'expired' });
  });

  it('an active grant missing in the cloud is drift; a grant younger than the grace period is not', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    await world.cloud().revoke({
      requestId: grant.id,
      roleId: 'sandbox-admin',
      target: {},
      principal: { slackUserId: 'U0ALICE', identities: {} },
      expiresAt: grant.expiresAt ?? 0,
    });
    world.clock.advance(FRESH_GRANT_GRACE_MS);
    expect((await world.reconciler.reconcile()).drift).toBe(0);

    world.clock.advance(1);
    const report = await world.reconciler.reconcile();
    expect(report.drift).toBe(1);
    expect(world.alerter.alerts).toEqual([
      {
        kind: 'drift',
        requestId: grant.id,
        details: { situation: 'missing-in-cloud', provider: 'dryrun', roleId: 'sandbox-admin', requesterId: 'U0ALICE' },
      },
    ]);
    expect(await world.stored(grant.id)).toEqual(grant);
  });

  it('pending past its deadline gets its timeout now; approved but never granted gets its grant job again', async () => {
    const world = serviceWorld();
    const pending = await world.file();
    const stuck = await world.file({ roleId: 'staging-deployer' });
    world.scheduler.lose(`approval-timeout-${pending.id}`);
    world.scheduler.lose(`grant-${stuck.id}`);
    world.clock.set(pending.approvalDeadline + STUCK_APPROVAL_MS);
    const report = await world.reconciler.reconcile();
    expect(report).toMatchObject({ pendingTimedOut: 1, grantsRescheduled: 1 });
    expect(world.scheduler.find(`approval-timeout-${pending.id}`)).toMatchObject({ runAt: world.clock.now() });
    expect(world.scheduler.find(`grant-${stuck.id}`)).toMatchObject({ runAt: world.clock.now() });
  });

  it('a provider whose sweep fails is reported, and the other providers are still swept', async () => {
    const world = serviceWorld();
    world.cloud('gcp').failNext('findGrants', new Error('gcp is down'));
    world.cloud().plant(artefact('lostlost', T0 - MINUTE));
    const report = await world.reconciler.reconcile();
    expect(report.failures).toEqual([{ provider: 'gcp', error: 'gcp is down' }]);
    expect(report.revokedFromCloud).toBe(1);
  });

  it('trims audit entries older than the retention', async () => {
    const world = serviceWorld();
    await world.file();
    world.clock.advance(91 * 24 * HOUR);
    expect((await world.reconciler.reconcile()).auditTrimmed).toBe(1);
  });
});
