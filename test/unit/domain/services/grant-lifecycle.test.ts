import { type AccessRequest, SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import { CloudProviderError } from '../../../../src/domain/errors';
import { REVOKE_JOB_BACKSTOP_MS } from '../../../../src/domain/expiry-reminder';
import { GrantRefused } from '../../../../src/domain/grant-refusal';
import { InMemoryCloudProvider, WORLD_START } from '../../../support/in-memory';
import {
  HOUR,
  MINUTE,
  noticesQueued,
  observable,
  pendingJobIds,
  type ServiceWorld,
  serviceWorld,
  transitions,
} from './service-world';

const T0 = WORLD_START;

/** A request approved by U0LEAD, not yet granted. */
async function approved(world: ServiceWorld, overrides: Parameters<ServiceWorld['file']>[0] = {}) {
  const request = await world.file(overrides);
  await world.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
  return world.stored(request.id);
}

/** Expects `activate` to be refused by the policy with `refusal`, with no cloud call and nothing changed. */
async function expectGrantRefused(world: ServiceWorld, requestId: string, refusal: GrantRefused['refusal']) {
  const before = await observable(world);
  const error = await world.lifecycle.activate(requestId).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(GrantRefused);
  expect((error as GrantRefused).refusal).toEqual(refusal);
  expect((error as GrantRefused).retryable).toBe(false);
  expect(await observable(world)).toEqual(before);
  return error as GrantRefused;
}

describe('GrantLifecycle.activate', () => {
  it('grants, reads the grant back, stores it active, and schedules the revoke job (due at the reminder) and notice', async () => {
    const world = serviceWorld();
    const request = await approved(world, { duration: '2h' });
    world.clock.advance(MINUTE);
    const outcome = await world.lifecycle.activate(request.id);

    const activatedAt = T0 + MINUTE;
    const expiresAt = activatedAt + 2 * HOUR;
    expect(outcome).toEqual({ kind: 'done', request: await world.stored(request.id) });
    expect(await world.stored(request.id)).toMatchObject({
      state: 'active',
      version: 3,
      activatedAt,
      expiresAt,
      grant: {
        provider: 'dryrun',
        target: {},
        identities: {},
        memo: { artefact: `jit-${request.id}`, principal: 'U0ALICE' },
      },
    });
    expect(world.cloud().calls.map((call) => [call.operation, call.spec?.expiresAt])).toEqual([
      ['grant', expiresAt],
      ['verify', expiresAt],
    ]);
    expect(world.cloud().grants()).toEqual([
      { requestId: request.id, roleId: 'sandbox-admin', principal: 'U0ALICE', target: {}, expiresAt },
    ]);
    // One job for the grant's end: it wakes at the expiry reminder (10 minutes ahead), then at the expiry.
    expect(world.scheduler.find(`revoke-${request.id}`)?.runAt).toBe(expiresAt - 10 * MINUTE);
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-activated-v3`);
    expect(world.scheduler.pending('reminder').filter((job) => job.noticeKind === 'expiry-reminder')).toEqual([]);
    expect((await transitions(world, request.id)).at(-1)).toBe(
      'approved→active by system:grant: granted through dryrun for 2h',
    );
  });

  it('no expiry reminder for a grant shorter than the reminder lead: the sweep ends it, its job is the backstop', async () => {
    const world = serviceWorld();
    const request = await approved(world, { duration: '5m' });
    const { request: active } = (await world.lifecycle.activate(request.id)) as { request: AccessRequest };
    expect(world.scheduler.find(`revoke-${request.id}`)?.runAt).toBe((active.expiresAt ?? 0) + REVOKE_JOB_BACKSTOP_MS);
    await world.scheduler.advanceTo(active.expiresAt ?? 0, world.handlers);
    expect(await world.stored(request.id)).toMatchObject({ state: 'expired' });
    expect(noticesQueued(world, request.id, 'expiry-reminder')).toEqual([]);
  });

  it('a principals entry names the person in the cloud', async () => {
    const world = serviceWorld();
    const policy = world.policy.current();
    world.setPolicy({ ...policy, principals: { U0ALICE: { dryrun: 'alice-sandbox' } } });
    const request = await approved(world);
    await world.lifecycle.activate(request.id);
    expect(world.cloud().grants()[0]?.principal).toBe('alice-sandbox');
  });

  it('skips what is not approved or not stored, and re-schedules what follows for an already active one', async () => {
    const world = serviceWorld();
    const pending = await world.file();
    expect(await world.lifecycle.activate(pending.id)).toEqual({ kind: 'skipped', why: 'request is pending' });
    expect(await world.lifecycle.activate('nosuchid')).toEqual({ kind: 'skipped', why: 'request not found' });
    expect(world.cloud().calls).toEqual([]);

    const active = await world.activeGrant();
    const calls = world.cloud().calls.length;
    const jobs = pendingJobIds(world);
    expect(await world.lifecycle.activate(active.id)).toEqual({ kind: 'skipped', why: 'already active' });
    expect(world.cloud().calls.length).toBe(calls);
    expect(pendingJobIds(world)).toEqual(jobs);
  });

  it('a retryable provider failure propagates with the request left approved and nothing scheduled', async () => {
    const world = serviceWorld();
    const request = await approved(world);
    world.cloud().failNext('grant');
    const before = await observable(world);
    await expect(world.lifecycle.activate(request.id)).rejects.toMatchObject({
      name: 'CloudProviderError',
      retryable: true,
    });
    const after = await observable(world);
    expect({ ...after, cloudCalls: before.cloudCalls }).toEqual(before);
    // The retry succeeds.
    expect((await world.lifecycle.activate(request.id)).kind).toBe('done');
  });

  it('a grant that does not read back is a retryable failure; the request stays approved', async () => {
    const world = serviceWorld();
    const request = await approved(world);
    jest.spyOn(world.cloud(), 'verify').mockResolvedValueOnce(false);
    await expect(world.lifecycle.activate(request.id)).rejects.toMatchObject({
      retryable: true,
      message: 'the grant did not show up when read back from the cloud',
    });
    expect(await world.stored(request.id)).toMatchObject({ state: 'approved', version: 2 });
  });

  it('a permanent provider failure: the job calls failGrant, which stores why, notifies and cleans up', async () => {
    const world = serviceWorld();
    const request = await approved(world, { roleId: 'broken' });
    const error = await world.lifecycle.activate(request.id).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CloudProviderError);
    expect(error).toMatchObject({ retryable: false, message: 'the sandbox account is closed' });
    expect(await world.stored(request.id)).toMatchObject({ state: 'approved' });

    world.clock.advance(MINUTE);
    expect(await world.lifecycle.failGrant(request.id, 'the sandbox account is closed')).toEqual({});
    const failed = await world.stored(request.id);
    expect(failed).toMatchObject({ state: 'failed', failureReason: 'the sandbox account is closed' });
    expect(failed.grantRefusal).toBeUndefined();
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-failed-v3`);
    expect(world.cloud().calls.map((call) => call.operation)).toEqual(['grant', 'revoke']);
    expect((await transitions(world, request.id)).at(-1)).toBe(
      'approved→failed by system:grant: the sandbox account is closed',
    );
    // A second call (a replayed job) changes nothing.
    const before = await observable(world);
    expect(await world.lifecycle.failGrant(request.id, 'again')).toEqual({});
    expect(await observable(world)).toEqual(before);
  });

  it('failGrant returns the cleanup error without undoing the stored failure', async () => {
    const world = serviceWorld();
    const request = await approved(world);
    world.cloud().failNext('revoke');
    const { cleanupError } = await world.lifecycle.failGrant(request.id, 'gave up');
    expect(cleanupError).toBeInstanceOf(CloudProviderError);
    expect(await world.stored(request.id)).toMatchObject({ state: 'failed' });
  });

  it('a request failed while it was being granted gets what was just granted taken back', async () => {
    const world = serviceWorld();
    const request = await approved(world);
    world.store.interleave(async (id) => {
      await world.lifecycle.failGrant(id, 'failed by another run');
    });
    expect(await world.lifecycle.activate(request.id)).toEqual({
      kind: 'skipped',
      why: 'request became failed while granting',
    });
    expect(world.cloud().grants()).toEqual([]);
    expect(await world.stored(request.id)).toMatchObject({ state: 'failed' });
    expect(world.scheduler.find(`revoke-${request.id}`)).toBeUndefined();
  });

  describe('GrantRefused: the policy in force refuses at grant time, before any cloud call', () => {
    it('role_removed', async () => {
      const world = serviceWorld();
      const request = await approved(world);
      const policy = world.policy.current();
      world.setPolicy({ ...policy, roles: policy.roles.filter((role) => role.id !== 'sandbox-admin') });
      const error = await expectGrantRefused(world, request.id, {
        code: 'role_removed',
        details: { roleId: 'sandbox-admin' },
      });
      expect(error.message).toBe('role sandbox-admin is no longer in the policy');

      // failGrant stores the code; with the role gone there is nothing it knows how to clean up.
      await world.lifecycle.failGrant(request.id, error.message, error.refusal);
      expect(await world.stored(request.id)).toMatchObject({ state: 'failed', grantRefusal: error.refusal });
      expect(world.cloud().calls).toEqual([]);
    });

    it('requester_not_allowed', async () => {
      const world = serviceWorld();
      const request = await approved(world, { roleId: 'restricted', requesterId: 'U0ERIN' });
      world.directory.setUsergroup('S0DBAS', []);
      await expectGrantRefused(world, request.id, {
        code: 'requester_not_allowed',
        details: { requesterId: 'U0ERIN', roleId: 'restricted' },
      });
    });

    function gcpWorld(people: Parameters<typeof serviceWorld>[0] = {}) {
      return serviceWorld({
        providers: [
          new InMemoryCloudProvider({ name: 'dryrun' }),
          new InMemoryCloudProvider({ name: 'gcp', identifiesPeopleByEmail: true }),
        ],
        ...people,
      });
    }

    it('email_unconfirmed when the only way to name the person is an email Slack has not confirmed', async () => {
      const world = gcpWorld({ people: { U0ALICE: { email: 'alice@x.io', emailConfirmed: false } } });
      const request = await approved(world, { roleId: 'sql-viewer' });
      await expectGrantRefused(world, request.id, {
        code: 'email_unconfirmed',
        details: { userId: 'U0ALICE', provider: 'gcp', address: 'alice@x.io' },
      });
    });

    it('principals_required when the policy names people only through principals', async () => {
      const world = gcpWorld({ people: { U0ALICE: { email: 'alice@x.io' } } });
      world.setSettings({ identity: 'principals' });
      const request = await approved(world, { roleId: 'sql-viewer' });
      await expectGrantRefused(world, request.id, {
        code: 'principals_required',
        details: { userId: 'U0ALICE', provider: 'gcp' },
      });
    });

    it('a confirmed Slack email names the person when identity is email', async () => {
      const world = gcpWorld({ people: { U0ALICE: { email: 'alice@x.io' } } });
      const request = await approved(world, { roleId: 'sql-viewer' });
      await world.lifecycle.activate(request.id);
      expect(world.cloud('gcp').grants()[0]?.principal).toBe('alice@x.io');
      expect((await world.stored(request.id)).grant?.email).toBe('alice@x.io');
    });
  });
});

describe('GrantLifecycle.finishAccess', () => {
  it('at expiry: revoked in the cloud, stored expired, notice and revocation check scheduled', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const expiresAt = grant.expiresAt ?? 0;
    world.clock.set(expiresAt + 5_000);
    const outcome = await world.lifecycle.finishAccess(grant.id);
    expect(outcome).toMatchObject({
      kind: 'done',
      latenessMs: 5_000,
      request: { state: 'expired', endedAt: expiresAt + 5_000, endedBy: SYSTEM_ACTORS.expiry },
    });
    expect(outcome).not.toHaveProperty('reasserted');
    expect(world.cloud().grants()).toEqual([]);
    expect(world.cloud().calls.at(-1)).toMatchObject({ operation: 'revoke', spec: { requestId: grant.id } });
    expect(pendingJobIds(world)).toContain(`notice-${grant.id}-expired-v${grant.version + 1}`);
    expect(world.scheduler.find(`verify-${grant.id}`)?.runAt).toBe(expiresAt + 5_000 + 2 * MINUTE);
    expect((await transitions(world, grant.id)).at(-1)).toBe('active→expired by system:expiry: expired after 1h');
    expect(await world.lifecycle.finishAccess(grant.id)).toEqual({ kind: 'skipped', why: 'request is expired' });
  });

  it('early revocation: ended as revoked by whoever asked, before the expiry', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    world.clock.advance(10 * MINUTE);
    await world.requests.revoke(grant.id, 'U0LEAD');
    const outcome = await world.lifecycle.finishAccess(grant.id);
    expect(outcome).toMatchObject({ kind: 'done', request: { state: 'revoked', endedBy: 'U0LEAD' } });
    expect(outcome).toHaveProperty('latenessMs', undefined);
    expect(pendingJobIds(world)).toContain(`notice-${grant.id}-revoked-v${grant.version + 2}`);
    expect((await transitions(world, grant.id)).at(-1)).toBe('active→revoked by U0LEAD: ended early');
  });

  it('a failing revoke leaves the request active for the job to retry', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    await world.requests.revoke(grant.id, 'U0ALICE');
    world.cloud().failNext('revoke');
    await expect(world.lifecycle.finishAccess(grant.id)).rejects.toMatchObject({ retryable: true });
    expect(await world.stored(grant.id)).toMatchObject({ state: 'active', version: grant.version + 1 });
    expect(world.scheduler.find(`verify-${grant.id}`)).toBeUndefined();
  });

  it('a later grant of the same role to the same person is granted again when the earlier one ends', async () => {
    const world = serviceWorld();
    const first = await world.activeGrant({ duration: '1h' });
    world.clock.advance(10 * MINUTE);
    const second = await world.activeGrant({ duration: '2h' });
    world.clock.set(first.expiresAt ?? 0);
    const grantsBefore = world.cloud().calls.filter((call) => call.operation === 'grant').length;

    const outcome = await world.lifecycle.finishAccess(first.id);
    expect(outcome).toMatchObject({ kind: 'done', reasserted: [second.id] });
    const grants = world.cloud().calls.filter((call) => call.operation === 'grant');
    expect(grants.length).toBe(grantsBefore + 1);
    expect(grants.at(-1)?.spec).toMatchObject({ requestId: second.id, expiresAt: second.expiresAt });
    expect(
      world
        .cloud()
        .grants()
        .map((artefact) => artefact.requestId),
    ).toEqual([second.id]);
    // Same memo back: nothing to store for the second request.
    expect(await world.stored(second.id)).toEqual(second);
  });

  it('runs end to end from the scheduler: grant job, revoke at expiry, revocation check', async () => {
    const world = serviceWorld();
    const request = await world.file({ roleId: 'staging-deployer', duration: '30m' });
    await world.scheduler.runDue(world.handlers);
    expect(await world.stored(request.id)).toMatchObject({ state: 'active', expiresAt: T0 + 30 * MINUTE });
    await world.scheduler.advance(HOUR, world.handlers);
    expect(await world.stored(request.id)).toMatchObject({ state: 'expired', endedAt: T0 + 30 * MINUTE });
    expect(world.scheduler.find(`verify-${request.id}`)).toMatchObject({ state: 'completed' });
    expect(world.alerter.alerts).toEqual([]);
    expect(world.scheduler.jobs().filter((job) => job.state === 'failed')).toEqual([]);
  });
});

describe('GrantLifecycle.verifyRevoked', () => {
  async function ended(world: ServiceWorld) {
    const grant = await world.activeGrant();
    world.clock.set(grant.expiresAt ?? 0);
    await world.lifecycle.finishAccess(grant.id);
    return grant;
  }

  it('access gone: no alert', async () => {
    const world = serviceWorld();
    const grant = await ended(world);
    expect(await world.lifecycle.verifyRevoked(grant.id)).toEqual({ accessRemains: false });
    expect(world.alerter.alerts).toEqual([]);
  });

  it('access still there: revoked again, audited and alerted', async () => {
    const world = serviceWorld();
    const grant = await ended(world);
    world
      .cloud()
      .plant({ requestId: grant.id, roleId: 'sandbox-admin', principal: 'U0ALICE', target: {}, expiresAt: 0 });
    expect(await world.lifecycle.verifyRevoked(grant.id)).toEqual({ accessRemains: true });
    expect(world.cloud().grants()).toEqual([]);
    expect(world.alerter.alerts).toEqual([
      {
        kind: 'access-remains',
        requestId: grant.id,
        details: { requesterId: 'U0ALICE', roleId: 'sandbox-admin', provider: 'dryrun' },
      },
    ]);
    expect(await world.auditLog.notes({ requestId: grant.id, kind: 'alert' })).toEqual([
      expect.objectContaining({ actor: 'system:verify', reason: expect.stringContaining('still in place in dryrun') }),
    ]);
  });

  it('access the person held before the grant outlives it by design: no alert, nothing revoked', async () => {
    const world = serviceWorld();
    const grant = await ended(world);
    world.cloud().markHeldBefore(grant.id);
    world
      .cloud()
      .plant({ requestId: grant.id, roleId: 'sandbox-admin', principal: 'U0ALICE', target: {}, expiresAt: 0 });
    expect(await world.lifecycle.verifyRevoked(grant.id)).toEqual({ accessRemains: false });
    expect(world.cloud().grants()).toHaveLength(1);
    expect(world.alerter.alerts).toEqual([]);
  });

  it('access covered by another active grant of the same role: no alert', async () => {
    const world = serviceWorld();
    const first = await world.activeGrant({ duration: '1h' });
    await world.activeGrant({ duration: '2h' });
    world.clock.set(first.expiresAt ?? 0);
    await world.lifecycle.finishAccess(first.id);
    world
      .cloud()
      .plant({ requestId: first.id, roleId: 'sandbox-admin', principal: 'U0ALICE', target: {}, expiresAt: 0 });
    expect(await world.lifecycle.verifyRevoked(first.id)).toEqual({ accessRemains: false });
    expect(world.alerter.alerts).toEqual([]);
  });

  it('a request that has not ended is not checked', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const calls = world.cloud().calls.length;
    expect(await world.lifecycle.verifyRevoked(grant.id)).toEqual({ accessRemains: false });
    expect(await world.lifecycle.verifyRevoked('nosuchid')).toEqual({ accessRemains: false });
    expect(world.cloud().calls.length).toBe(calls);
  });
});
