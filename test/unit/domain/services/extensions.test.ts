import { SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import { REVOKE_JOB_BACKSTOP_MS } from '../../../../src/domain/expiry-reminder';
import { WORLD_START } from '../../../support/in-memory';
import {
  expectRefusal,
  HOUR,
  MINUTE,
  noticesQueued,
  pendingJobIds,
  type ServiceWorld,
  serviceWorld,
  transitions,
} from './service-world';

const T0 = WORLD_START;
const alice = { requesterId: 'U0ALICE', teamId: 'T0HOME' } as const;

function extend(world: ServiceWorld, requestId: string, duration: string, reason?: string) {
  return world.requests.requestExtension({ ...alice, requestId, duration, ...(reason !== undefined && { reason }) });
}

describe('RequestService.extensionOptions', () => {
  it('offers the time left under the role’s maximum; approval needed unless the role self-extends', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ duration: '1h' });
    const options = await world.requests.extensionOptions(grant.id, 'U0ALICE');
    expect(options).toMatchObject({ maxExtraMs: 3 * HOUR, minDurationMs: 5 * MINUTE, needsApproval: true });
    expect(options.role.id).toBe('sandbox-admin');

    const own = await world.activeGrant({ roleId: 'self-extend', duration: '30m' });
    expect(await world.requests.extensionOptions(own.id, 'U0ALICE')).toMatchObject({
      maxExtraMs: 90 * MINUTE,
      needsApproval: false,
    });
  });

  it('not_allowed not-holder for anyone but the holder, approvers included', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    await expectRefusal(world, () => world.requests.extensionOptions(grant.id, 'U0LEAD'), 'not_allowed', {
      situation: 'not-holder',
      action: 'extend',
      requestId: grant.id,
      requesterId: 'U0ALICE',
    });
  });

  it('invalid_state nothing-to-extend: pending, early revocation asked, past expiry, ended', async () => {
    const world = serviceWorld();
    const pending = await world.file();
    await expectRefusal(world, () => world.requests.extensionOptions(pending.id, 'U0ALICE'), 'invalid_state', {
      situation: 'nothing-to-extend',
      action: 'extend',
      requestId: pending.id,
      state: 'pending',
    });
    await world.requests.cancel(pending.id, 'U0ALICE');

    const revoking = await world.activeGrant();
    await world.requests.revoke(revoking.id, 'U0ALICE');
    await expectRefusal(world, () => extend(world, revoking.id, '30m'), 'invalid_state', {
      situation: 'nothing-to-extend',
      action: 'extend',
      requestId: revoking.id,
      state: 'active',
    });

    const overdue = await world.activeGrant();
    world.clock.set(overdue.expiresAt ?? 0);
    await expectRefusal(world, () => extend(world, overdue.id, '30m'), 'invalid_state', {
      situation: 'nothing-to-extend',
      action: 'extend',
      requestId: overdue.id,
      state: 'active',
    });
  });

  it('duration_too_long (extend) when the grant already lasts the role’s maximum minus less than the minimum', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ duration: '3h56m' });
    await expectRefusal(world, () => world.requests.extensionOptions(grant.id, 'U0ALICE'), 'duration_too_long', {
      requestId: grant.id,
      roleId: 'sandbox-admin',
      limit: '4h',
      usedMs: 3 * HOUR + 56 * MINUTE,
      maxMs: 4 * HOUR,
      action: 'extend',
    });
  });

  it('role_not_requestable (extend) when the policy no longer lets the holder request the role', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'restricted', requesterId: 'U0ERIN' });
    world.directory.setUsergroup('S0DBAS', []);
    await expectRefusal(
      world,
      () => world.requests.requestExtension({ ...alice, requesterId: 'U0ERIN', requestId: grant.id, duration: '30m' }),
      'role_not_requestable',
      { requestId: grant.id, roleId: 'restricted', action: 'extend' },
    );
  });
});

describe('RequestService.requestExtension', () => {
  it('asks approvers like a new request; the deadline is capped at the grant’s expiry; reason defaults', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ duration: '20m' });
    const { request } = await extend(world, grant.id, '30m', '  ');
    expect(request).toMatchObject({
      state: 'pending',
      extends: grant.id,
      durationMs: 30 * MINUTE,
      reason: 'debugging INC-42',
      approvalDeadline: T0 + 20 * MINUTE,
    });
    // It wakes first for the approvers' reminder, halfway to a deadline shorter than twice the reminder lead.
    expect(world.scheduler.find(`approval-timeout-${request.id}`)?.runAt).toBe(T0 + 10 * MINUTE);
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-requested-v1`);
    expect(await transitions(world, request.id)).toEqual([
      `none→pending by U0ALICE: extend ${grant.id} by 30m: debugging INC-42`,
    ]);
  });

  it('a selfExtend role is approved at once by the system, and the grant job applies it', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'self-extend', duration: '30m' });
    world.clock.advance(10 * MINUTE);
    const { request } = await extend(world, grant.id, '1h', 'need more time');
    expect(request).toMatchObject({ state: 'approved', decidedBy: SYSTEM_ACTORS.selfExtend });
    expect(world.scheduler.find(`approval-timeout-${request.id}`)).toBeUndefined();

    const outcome = await world.lifecycle.activate(request.id);
    expect(outcome).toMatchObject({ kind: 'done', request: { state: 'applied', expiresAt: T0 + 90 * MINUTE } });
    expect(await world.stored(grant.id)).toMatchObject({
      state: 'active',
      expiresAt: T0 + 90 * MINUTE,
      extensionsApplied: [request.id],
    });
    expect(world.cloud().grants()).toEqual([
      expect.objectContaining({ requestId: grant.id, expiresAt: T0 + 90 * MINUTE }),
    ]);
    // The revoke job moved to the new expiry's reminder; no separate reminder job.
    expect(world.scheduler.find(`revoke-${grant.id}`)?.runAt).toBe(T0 + 80 * MINUTE);
    expect(pendingJobIds(world)).toEqual(
      expect.arrayContaining([`notice-${grant.id}-extended-v4`, `notice-${request.id}-applied-v3`]),
    );
    expect(world.scheduler.pending('reminder').filter((job) => job.noticeKind === 'expiry-reminder')).toEqual([]);
    expect((await transitions(world, grant.id)).at(-1)).toBe(
      `active→active by system:self-extend: extended by 1h (request ${request.id})`,
    );
  });

  it('an extension after the reminder moves the revoke job to the new expiry’s reminder, which is sent too', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'self-extend', duration: '1h' });
    await world.scheduler.advanceTo(T0 + 50 * MINUTE, world.handlers);
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([`expiry-reminder v${grant.version}`]);
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({
      state: 'pending',
      runAt: T0 + HOUR + REVOKE_JOB_BACKSTOP_MS,
    });

    world.clock.set(T0 + 55 * MINUTE);
    const { request } = await extend(world, grant.id, '30m');
    await world.lifecycle.activate(request.id);
    const extended = await world.stored(grant.id);
    expect(extended).toMatchObject({ state: 'active', expiresAt: T0 + 90 * MINUTE });
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({ state: 'pending', runAt: T0 + 80 * MINUTE });

    // Nothing at the old expiry; the new reminder at its time, for the extended version.
    await world.scheduler.advanceTo(T0 + 80 * MINUTE, world.handlers);
    expect(await world.stored(grant.id)).toMatchObject({ state: 'active' });
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([
      `expiry-reminder v${grant.version}`,
      `expiry-reminder v${extended.version}`,
    ]);
    await world.scheduler.advanceTo(T0 + 90 * MINUTE, world.handlers);
    expect(await world.stored(grant.id)).toMatchObject({ state: 'expired', endedAt: T0 + 90 * MINUTE });
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toHaveLength(2);
  });

  it('an extension that leaves less than the reminder lead sends no new reminder (as before): revoked at its expiry', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'self-extend', duration: '1h' });
    await world.scheduler.advanceTo(T0 + 58 * MINUTE, world.handlers);
    const { request } = await extend(world, grant.id, '5m');
    await world.lifecycle.activate(request.id);
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({
      runAt: T0 + 65 * MINUTE + REVOKE_JOB_BACKSTOP_MS,
    });
    await world.scheduler.advanceTo(T0 + 65 * MINUTE, world.handlers);
    expect(await world.stored(grant.id)).toMatchObject({ state: 'expired' });
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([`expiry-reminder v${grant.version}`]);
  });

  it('duration_too_long when the extra time would take the grant past the role’s maximum in total', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ duration: '3h' });
    await expectRefusal(world, () => extend(world, grant.id, '1h1m'), 'duration_too_long', {
      roleId: 'sandbox-admin',
      input: '1h1m',
      limit: '1h',
      durationMs: HOUR + MINUTE,
      maxMs: HOUR,
    });
    expect((await extend(world, grant.id, '1h')).request.state).toBe('pending');
  });

  it('duration_too_short, invalid_duration and missing_ticket apply to extensions too', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'ticketed', reason: 'OPS-1' });
    await expectRefusal(world, () => extend(world, grant.id, '1m'), 'duration_too_short');
    await expectRefusal(world, () => extend(world, grant.id, 'soon'), 'invalid_duration');
    await expectRefusal(world, () => extend(world, grant.id, '30m', 'more'), 'missing_ticket', {
      roleId: 'ticketed',
      ticketPattern: '[A-Z][A-Z0-9]+-[0-9]+',
    });
  });

  it('invalid_state extension-waiting: one open extension per grant, pending or approved', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const { request: first } = await extend(world, grant.id, '30m');
    await expectRefusal(world, () => extend(world, grant.id, '30m'), 'invalid_state', {
      situation: 'extension-waiting',
      action: 'extend',
      requestId: grant.id,
      extensionId: first.id,
      extensionState: 'pending',
    });
    await world.requests.approve(first.id, 'U0LEAD', { fromAppHome: true });
    await expectRefusal(world, () => extend(world, grant.id, '30m'), 'invalid_state', {
      situation: 'extension-waiting',
      action: 'extend',
      requestId: grant.id,
      extensionId: first.id,
      extensionState: 'approved',
    });
    await world.lifecycle.activate(first.id);
    expect((await extend(world, grant.id, '30m')).request.state).toBe('pending');
  });

  it('invalid_state is-extension: an extension cannot itself be extended', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'self-extend', duration: '30m' });
    const { request } = await extend(world, grant.id, '30m');
    await world.lifecycle.activate(request.id);
    await expectRefusal(world, () => extend(world, request.id, '10m'), 'invalid_state', {
      situation: 'is-extension',
      action: 'extend',
      requestId: request.id,
      extends: grant.id,
    });
  });

  it('foreign_team on an extension from a workspace the policy does not serve', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    world.setSettings({ allowedTeams: ['T0HOME'] });
    await expectRefusal(
      world,
      () => world.requests.requestExtension({ ...alice, teamId: 'T0ELSE', requestId: grant.id, duration: '30m' }),
      'foreign_team',
      { action: 'extend access', origin: 'T0ELSE', allowedCount: 1 },
    );
  });

  // Suspected bug: extensionOptions says a break-glass grant's extension needs no approval, but requestExtension
  // sends it to approvers (approveAtOnceOrAsk knows only autoApprove and autoApproveWhen), and a break-glass role
  // need have none: the extension can only time out. Remove `.failing` once requestExtension agrees.
  it('an extension of break-glass access is approved at once, as extensionOptions promises, and paged for review', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant({ roleId: 'emergency', duration: '30m' });
    expect((await world.requests.extensionOptions(grant.id, 'U0ALICE')).needsApproval).toBe(false);
    const { request } = await extend(world, grant.id, '30m');
    expect(request.state).toBe('approved');
    expect(world.alerter.alerts.at(-1)).toMatchObject({ kind: 'break-glass', requestId: request.id, review: true });
  });
});

describe('GrantLifecycle applying an approved extension', () => {
  async function approvedExtension(duration = '1h', extra = '30m') {
    const world = serviceWorld();
    const grant = await world.activeGrant({ duration });
    const { request } = await extend(world, grant.id, extra);
    await world.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
    return { world, grant, extension: await world.stored(request.id) };
  }

  it('moves the same artefact’s expiry, the stored expiry and the revocation; the approver is the actor', async () => {
    const { world, grant, extension } = await approvedExtension();
    const outcome = await world.lifecycle.activate(extension.id);
    expect(outcome).toMatchObject({ kind: 'done', request: { state: 'applied', activatedAt: T0 } });
    expect(world.cloud().grants()).toEqual([
      expect.objectContaining({ requestId: grant.id, expiresAt: T0 + 90 * MINUTE }),
    ]);
    expect((await transitions(world, grant.id)).at(-1)).toBe(
      `active→active by U0LEAD: extended by 30m (request ${extension.id})`,
    );
    expect((await transitions(world, extension.id)).at(-1)).toBe(
      `approved→applied by system:grant: added 30m to request ${grant.id}`,
    );
    // Run again (a retried job): nothing is added twice.
    expect(await world.lifecycle.activate(extension.id)).toEqual({ kind: 'skipped', why: 'request is applied' });
    expect((await world.stored(grant.id)).expiresAt).toBe(T0 + 90 * MINUTE);
  });

  it('GrantRefused extended_access_ended when the grant ended or is being revoked; failGrant keeps the grant', async () => {
    const { world, grant, extension } = await approvedExtension();
    await world.requests.revoke(grant.id, 'U0ALICE');
    const callsBefore = world.cloud().calls.length;
    await expect(world.lifecycle.activate(extension.id)).rejects.toMatchObject({
      name: 'GrantRefused',
      retryable: false,
      refusal: { code: 'extended_access_ended', details: { extendedId: grant.id } },
    });
    expect(world.cloud().calls.length).toBe(callsBefore);

    const refusal = { code: 'extended_access_ended', details: { extendedId: grant.id } } as const;
    await world.lifecycle.failGrant(extension.id, 'the access it extends has ended', refusal);
    expect(await world.stored(extension.id)).toMatchObject({ state: 'failed', grantRefusal: refusal });
    // A failed extension granted nothing of its own: no cleanup touches the grant it extends.
    expect(world.cloud().calls.length).toBe(callsBefore);
    expect((await world.stored(grant.id)).expiresAt).toBe(T0 + HOUR);
  });

  it('GrantRefused extension_over_max when the policy lowered the maximum since the approval', async () => {
    const { world, extension } = await approvedExtension('1h', '2h');
    const policy = world.policy.current();
    world.setPolicy({
      ...policy,
      roles: policy.roles.map((role) => (role.id === 'sandbox-admin' ? { ...role, maxDurationMs: 2 * HOUR } : role)),
    });
    await expect(world.lifecycle.activate(extension.id)).rejects.toMatchObject({
      refusal: {
        code: 'extension_over_max',
        details: { roleId: 'sandbox-admin', totalMs: 3 * HOUR, maxMs: 2 * HOUR },
      },
    });
    expect(await world.stored(extension.id)).toMatchObject({ state: 'approved', version: 2 });
  });

  it('GrantRefused extended_request_changed (retryable) when another extension moved the expiry meanwhile', async () => {
    const { world, grant, extension } = await approvedExtension();
    world.store.interleave(async (id) => {
      const current = await world.stored(id);
      await world.store.update(
        { ...current, version: current.version + 1, expiresAt: (current.expiresAt ?? 0) + MINUTE },
        current.version,
        { requestId: id, from: 'active', to: 'active', actor: 'system:grant', reason: 'rival', at: T0 },
      );
    });
    await expect(world.lifecycle.activate(extension.id)).rejects.toMatchObject({
      retryable: true,
      refusal: { code: 'extended_request_changed', details: { extendedId: grant.id } },
    });
    expect(await world.stored(extension.id)).toMatchObject({ state: 'approved' });
  });
});
