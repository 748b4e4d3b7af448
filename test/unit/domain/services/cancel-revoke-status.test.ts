import { WORLD_START } from '../../../support/in-memory';
import { expectRefusal, HOUR, MINUTE, pendingJobIds, serviceWorld, transitions } from './service-world';

const T0 = WORLD_START;

describe('RequestService.cancel', () => {
  it('the requester withdraws a pending request: cancelled, timeout cancelled, notice scheduled', async () => {
    const world = serviceWorld();
    const request = await world.file();
    world.clock.advance(MINUTE);
    const cancelled = await world.requests.cancel(request.id, 'U0ALICE');
    expect(cancelled).toMatchObject({ state: 'cancelled', version: 2, updatedAt: T0 + MINUTE });
    expect(world.scheduler.find(`approval-timeout-${request.id}`)).toBeUndefined();
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-cancelled-v2`);
    expect((await transitions(world, request.id))[1]).toBe('pending→cancelled by U0ALICE: cancelled by requester');
  });

  it.each(['U0LEAD', 'U0MALLORY'])(
    'not_allowed not-requester for %s (approvers cannot cancel either)',
    async (actor) => {
      const world = serviceWorld();
      const request = await world.file();
      await expectRefusal(world, () => world.requests.cancel(request.id, actor), 'not_allowed', {
        situation: 'not-requester',
        action: 'cancel',
        requestId: request.id,
        requesterId: 'U0ALICE',
      });
    },
  );

  it('invalid_state not-pending once approved, active or cancelled', async () => {
    const world = serviceWorld();
    const approved = await world.file({ roleId: 'staging-deployer' });
    await expectRefusal(world, () => world.requests.cancel(approved.id, 'U0ALICE'), 'invalid_state', {
      situation: 'not-pending',
      action: 'cancel',
      requestId: approved.id,
      state: 'approved',
    });
    await world.lifecycle.activate(approved.id);
    await expectRefusal(world, () => world.requests.cancel(approved.id, 'U0ALICE'), 'invalid_state', {
      situation: 'not-pending',
      action: 'cancel',
      requestId: approved.id,
      state: 'active',
    });
  });
});

describe('RequestService.revoke: ending access early', () => {
  it('the requester asks: the request stays active, marked, and the revocation job is moved to now', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    // Due first at the expiry reminder, 10 minutes before the expiry.
    expect(world.scheduler.find(`revoke-${grant.id}`)?.runAt).toBe(T0 + 50 * MINUTE);
    world.clock.advance(10 * MINUTE);

    const marked = await world.requests.revoke(grant.id, 'U0ALICE');
    expect(marked).toMatchObject({
      state: 'active',
      version: grant.version + 1,
      revocationRequestedBy: 'U0ALICE',
      revocationRequestedAt: T0 + 10 * MINUTE,
    });
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({ state: 'pending', runAt: T0 + 10 * MINUTE });
    expect((await transitions(world, grant.id)).at(-1)).toBe('active→active by U0ALICE: early revocation requested');
    // The cloud is left to the revoke job.
    expect(
      world
        .cloud()
        .grants()
        .map((artefact) => artefact.requestId),
    ).toEqual([grant.id]);
  });

  it('an approver of the role may revoke; asking twice changes nothing more', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const first = await world.requests.revoke(grant.id, 'U0DAVE');
    expect(first.revocationRequestedBy).toBe('U0DAVE');
    const again = await world.requests.revoke(grant.id, 'U0ALICE');
    expect(again).toEqual(first);
    expect(await world.auditLog.read({ requestId: grant.id })).toHaveLength(4);
  });

  it('not_allowed not-requester-or-approver for a stranger', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    await expectRefusal(world, () => world.requests.revoke(grant.id, 'U0MALLORY'), 'not_allowed', {
      situation: 'not-requester-or-approver',
      action: 'revoke',
      requestId: grant.id,
      requesterId: 'U0ALICE',
      roleId: 'sandbox-admin',
    });
  });

  it('invalid_state: still-pending (saying whether the requester could cancel), being-granted, not-active', async () => {
    const world = serviceWorld();
    const pending = await world.file();
    await expectRefusal(world, () => world.requests.revoke(pending.id, 'U0ALICE'), 'invalid_state', {
      situation: 'still-pending',
      action: 'revoke',
      requestId: pending.id,
      state: 'pending',
      byRequester: true,
    });
    await expectRefusal(world, () => world.requests.revoke(pending.id, 'U0LEAD'), 'invalid_state', {
      situation: 'still-pending',
      action: 'revoke',
      requestId: pending.id,
      state: 'pending',
      byRequester: false,
    });

    const approved = await world.file({ roleId: 'staging-deployer' });
    await expectRefusal(world, () => world.requests.revoke(approved.id, 'U0ALICE'), 'invalid_state', {
      situation: 'being-granted',
      action: 'revoke',
      requestId: approved.id,
      state: 'approved',
    });

    await world.requests.cancel(pending.id, 'U0ALICE');
    await expectRefusal(world, () => world.requests.revoke(pending.id, 'U0ALICE'), 'invalid_state', {
      situation: 'not-active',
      action: 'revoke',
      requestId: pending.id,
      state: 'cancelled',
    });
  });

  it('the requester may still revoke after the role left the policy; its approvers no longer can', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const policy = world.policy.current();
    world.setPolicy({ ...policy, roles: policy.roles.filter((role) => role.id !== 'sandbox-admin') });
    await expectRefusal(world, () => world.requests.revoke(grant.id, 'U0LEAD'), 'not_allowed');
    expect((await world.requests.revoke(grant.id, 'U0ALICE')).revocationRequestedBy).toBe('U0ALICE');
  });
});

describe('RequestService.status and openRequests', () => {
  it('the requester and the role’s approvers see a request with its role and approval message', async () => {
    const world = serviceWorld();
    const request = await world.file();
    const { message } = await world.postApprovalMessage(request.id);
    for (const actor of ['U0ALICE', 'U0LEAD', 'U0CAROL']) {
      const view = await world.requests.status(request.id, actor);
      expect(view.request).toEqual(request);
      expect(view.role?.id).toBe('sandbox-admin');
      expect(view.approvalMessage).toEqual(message);
    }
  });

  it('not_allowed for a stranger; unknown_request for an unknown ID', async () => {
    const world = serviceWorld();
    const request = await world.file();
    await expectRefusal(world, () => world.requests.status(request.id, 'U0MALLORY'), 'not_allowed', {
      situation: 'not-requester-or-approver',
      action: 'status',
      requestId: request.id,
      requesterId: 'U0ALICE',
      roleId: 'sandbox-admin',
    });
    await expectRefusal(world, () => world.requests.status('nosuchid', 'U0ALICE'), 'unknown_request', {
      requestId: 'nosuchid',
    });
  });

  it('openRequests lists the person’s pending, approved and active requests, newest first', async () => {
    const world = serviceWorld();
    const active = await world.activeGrant();
    world.clock.advance(MINUTE);
    const denied = await world.file();
    await world.requests.deny(denied.id, 'U0LEAD', { fromAppHome: true });
    world.clock.advance(MINUTE);
    const pending = await world.file();
    await world.file({ requesterId: 'U0BOB' });
    expect((await world.requests.openRequests('U0ALICE')).map((request) => [request.id, request.state])).toEqual([
      [pending.id, 'pending'],
      [active.id, 'active'],
    ]);
  });
});

describe('admin actions', () => {
  it('retryRevocation by an admin moves the revocation to now; nothing else changes', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    world.clock.advance(5 * MINUTE);
    expect(await world.requests.retryRevocation(grant.id, 'U0ADMIN')).toEqual(grant);
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({ state: 'pending', runAt: T0 + 5 * MINUTE });
    expect(await world.stored(grant.id)).toEqual(grant);
  });

  it('retryRevocation: not_allowed not-admin for anyone else, even the requester or an approver', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    for (const actor of ['U0ALICE', 'U0LEAD']) {
      await expectRefusal(world, () => world.requests.retryRevocation(grant.id, actor), 'not_allowed', {
        situation: 'not-admin',
        action: 'retry-revocation',
        requestId: grant.id,
      });
    }
  });

  it('admin actions tell a non-admin nothing about which request IDs exist', async () => {
    const world = serviceWorld();
    for (const act of [world.requests.retryRevocation, world.requests.reviewBreakGlass]) {
      await expect(act.call(world.requests, 'zzzzzzzz', 'U0ALICE')).rejects.toMatchObject({
        code: 'not_allowed',
        details: { situation: 'not-admin', requestId: 'zzzzzzzz' },
      });
    }
  });

  it('retryRevocation: invalid_state not-active once the access ended', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    world.clock.advance(HOUR);
    await world.lifecycle.finishAccess(grant.id);
    await expectRefusal(world, () => world.requests.retryRevocation(grant.id, 'U0ADMIN'), 'invalid_state', {
      situation: 'not-active',
      action: 'retry-revocation',
      requestId: grant.id,
      state: 'expired',
    });
  });

  it('reviewBreakGlass by an admin writes one review note', async () => {
    const world = serviceWorld();
    const request = await world.file({ roleId: 'emergency' });
    world.clock.advance(MINUTE);
    await world.requests.reviewBreakGlass(request.id, 'U0ADMIN');
    expect(await world.auditLog.notes({ kind: 'review' })).toEqual([
      expect.objectContaining({
        requestId: request.id,
        actor: 'U0ADMIN',
        reason: 'break-glass access of U0ALICE to emergency reviewed',
        at: T0 + MINUTE,
      }),
    ]);
  });

  it('reviewBreakGlass: not_allowed for a non-admin, invalid_state not-break-glass for an ordinary request', async () => {
    const world = serviceWorld();
    const breakGlass = await world.file({ roleId: 'emergency' });
    await expectRefusal(world, () => world.requests.reviewBreakGlass(breakGlass.id, 'U0LEAD'), 'not_allowed', {
      situation: 'not-admin',
      action: 'review',
      requestId: breakGlass.id,
    });
    const ordinary = await world.file();
    await expectRefusal(world, () => world.requests.reviewBreakGlass(ordinary.id, 'U0ADMIN'), 'invalid_state', {
      situation: 'not-break-glass',
      action: 'review',
      requestId: ordinary.id,
    });
  });

  it('admins named through a user group count', async () => {
    const world = serviceWorld({ usergroups: { S0ONCALL: ['U0CAROL'], S0OPS: ['U0OPS'] } });
    world.setSettings({ admins: { users: [], usergroups: ['S0OPS'] } });
    const request = await world.file({ roleId: 'emergency' });
    await world.requests.reviewBreakGlass(request.id, 'U0OPS');
    expect(await world.auditLog.notes({ kind: 'review' })).toHaveLength(1);
  });

  it('AuditService.exportFor: admins read the trail; anyone else is refused and the refusal audited', async () => {
    const world = serviceWorld();
    const request = await world.file();
    await expect(world.audits.exportFor('U0LEAD', 0)).rejects.toMatchObject({
      code: 'not_allowed',
      details: { situation: 'not-admin', action: 'audit', admins: { users: ['U0ADMIN'], usergroups: [] } },
    });
    const exported = await world.audits.exportFor('U0ADMIN', 0, { requestId: request.id });
    expect(exported.truncated).toBe(false);
    expect(exported.entries.map((entry) => entry.type)).toEqual(['transition']);
    expect(await world.auditLog.notes({ kind: 'refusal' })).toEqual([
      expect.objectContaining({ actor: 'U0LEAD', reason: 'audit export refused: not an admin' }),
    ]);
  });

  it('RevocationMonitor: counts the grant irrevocable and alerts from alertAfter failures on, then every 20th', async () => {
    const world = serviceWorld();
    const error = new Error('AccessDenied');
    await world.monitor.failed('reqaaaab', 2, error);
    expect(await world.irrevocable.list()).toEqual([]);
    for (const attempt of [3, 4, 22, 23, 43]) await world.monitor.failed('reqaaaab', attempt, error);
    expect(world.alerter.alerts.map((alert) => alert.kind === 'revocation-failing' && alert.details.attempts)).toEqual([
      3, 23, 43,
    ]);
    expect(world.alerter.alerts[0]).toMatchObject({ retryRevocation: true, error: 'AccessDenied' });
    expect(await world.auditLog.notes({ kind: 'alert' })).toHaveLength(3);
    expect(await world.irrevocable.list()).toEqual(['reqaaaab']);
    await world.monitor.succeeded('reqaaaab');
    expect(await world.irrevocable.list()).toEqual([]);
  });
});
