import { MAX_DENIAL_REASON_LENGTH } from '../../../../src/domain/request-service';
import { WORLD_START } from '../../../support/in-memory';
import {
  APPROVAL_MESSAGE,
  expectRefusal,
  MINUTE,
  observable,
  pendingJobIds,
  serviceWorld,
  transitions,
} from './service-world';

const T0 = WORLD_START;

async function pendingRequest(roleId = 'sandbox-admin') {
  const world = serviceWorld();
  const request = await world.file({ roleId });
  const click = await world.postApprovalMessage(request.id);
  return { world, request, click };
}

describe('RequestService.approve and deny: deciding a pending request', () => {
  it('one approval by an approver approves: timeout cancelled, grant and notice scheduled, audited', async () => {
    const { world, request, click } = await pendingRequest();
    world.clock.advance(MINUTE);
    const outcome = await world.requests.approve(request.id, 'U0LEAD', click);

    expect(outcome.approvalsMissing).toBe(0);
    expect(outcome.request).toMatchObject({
      state: 'approved',
      version: 2,
      approvals: [{ userId: 'U0LEAD', at: T0 + MINUTE }],
      decidedBy: 'U0LEAD',
      decidedAt: T0 + MINUTE,
    });
    expect(await world.stored(request.id)).toEqual(outcome.request);
    expect(world.scheduler.find(`approval-timeout-${request.id}`)).toBeUndefined();
    expect(pendingJobIds(world)).toEqual([
      `grant-${request.id}`,
      `notice-${request.id}-approved-v2`,
      `notice-${request.id}-requested-v1`,
    ]);
    expect((await transitions(world, request.id))[1]).toBe('pending→approved by U0LEAD: approved (1 of 1)');
  });

  it('an approver through a user group may approve', async () => {
    const { world, request, click } = await pendingRequest();
    expect((await world.requests.approve(request.id, 'U0CAROL', click)).request.state).toBe('approved');
  });

  it('a high-risk role needs two distinct approvals; the first is recorded and notified, not granted', async () => {
    const { world, request, click } = await pendingRequest('prod-admin');
    const first = await world.requests.approve(request.id, 'U0LEAD', click);
    expect(first).toMatchObject({ approvalsMissing: 1, request: { state: 'pending', version: 2 } });
    expect(first.request.decidedBy).toBeUndefined();
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-approval-recorded-v2`);
    expect(pendingJobIds(world)).not.toContain(`grant-${request.id}`);
    expect(world.scheduler.find(`approval-timeout-${request.id}`)).toBeDefined();

    await expectRefusal(world, () => world.requests.approve(request.id, 'U0LEAD', click), 'already_approved_by_you', {
      requestId: request.id,
      approvalsMissing: 1,
    });

    const second = await world.requests.approve(request.id, 'U0CAROL', click);
    expect(second).toMatchObject({ approvalsMissing: 0, request: { state: 'approved', decidedBy: 'U0CAROL' } });
    expect(second.request.approvals.map((approval) => approval.userId)).toEqual(['U0LEAD', 'U0CAROL']);
    expect(pendingJobIds(world)).toContain(`grant-${request.id}`);
    expect((await transitions(world, request.id)).slice(1)).toEqual([
      'pending→pending by U0LEAD: approval 1 of 2',
      'pending→approved by U0CAROL: approved (2 of 2)',
    ]);
  });

  it('deny by an approver ends the request with the reason told to the requester', async () => {
    const { world, request, click } = await pendingRequest();
    const denied = await world.requests.deny(request.id, 'U0LEAD', click, '  use the read-only role  ');
    expect(denied).toMatchObject({
      state: 'denied',
      decidedBy: 'U0LEAD',
      decidedAt: T0,
      denialReason: 'use the read-only role',
    });
    expect(world.scheduler.find(`approval-timeout-${request.id}`)).toBeUndefined();
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-denied-v2`);
    expect(pendingJobIds(world)).not.toContain(`grant-${request.id}`);
    expect((await transitions(world, request.id))[1]).toBe('pending→denied by U0LEAD: use the read-only role');
  });

  it('deny without a reason stores none; a long one is cut to the limit', async () => {
    const { world, request, click } = await pendingRequest();
    const denied = await world.requests.deny(request.id, 'U0LEAD', click);
    expect(denied.denialReason).toBeUndefined();
    expect((await transitions(world, request.id))[1]).toBe('pending→denied by U0LEAD: denied');

    const other = await world.file();
    const otherClick = await world.postApprovalMessage(other.id);
    const long = await world.requests.deny(other.id, 'U0LEAD', otherClick, 'y'.repeat(MAX_DENIAL_REASON_LENGTH + 50));
    expect(long.denialReason).toHaveLength(MAX_DENIAL_REASON_LENGTH);
  });

  describe('refusals leave the request, its jobs and the trail untouched', () => {
    it.each(['approve', 'deny'] as const)(
      'self_approval: the requester cannot %s their own request',
      async (action) => {
        const world = serviceWorld();
        // Carol approves sandbox-admin through on-call, and asks for it herself.
        const request = await world.file({ requesterId: 'U0CAROL' });
        const click = await world.postApprovalMessage(request.id);
        await expectRefusal(world, () => world.requests[action](request.id, 'U0CAROL', click), 'self_approval', {
          requestId: request.id,
          roleId: 'sandbox-admin',
          action,
        });
      },
    );

    it.each(['approve', 'deny'] as const)('not_allowed not-approver on %s', async (action) => {
      const { world, request, click } = await pendingRequest();
      await expectRefusal(world, () => world.requests[action](request.id, 'U0MALLORY', click), 'not_allowed', {
        situation: 'not-approver',
        action,
        requestId: request.id,
        roleId: 'sandbox-admin',
      });
    });

    it('not_allowed role-removed when the role left the policy since the request', async () => {
      const { world, request, click } = await pendingRequest();
      const policy = world.policy.current();
      world.setPolicy({ ...policy, roles: policy.roles.filter((role) => role.id !== 'sandbox-admin') });
      await expectRefusal(world, () => world.requests.approve(request.id, 'U0LEAD', click), 'not_allowed', {
        situation: 'role-removed',
        action: 'approve',
        requestId: request.id,
        roleId: 'sandbox-admin',
      });
    });

    it('invalid_state already-decided after the request left pending (approved, denied, cancelled)', async () => {
      const { world, request, click } = await pendingRequest();
      await world.requests.approve(request.id, 'U0LEAD', click);
      await expectRefusal(world, () => world.requests.approve(request.id, 'U0CAROL', click), 'invalid_state', {
        situation: 'already-decided',
        action: 'approve',
        requestId: request.id,
        state: 'approved',
      });
      await expectRefusal(world, () => world.requests.deny(request.id, 'U0CAROL', click), 'invalid_state', {
        situation: 'already-decided',
        action: 'deny',
        requestId: request.id,
        state: 'approved',
      });

      const cancelled = await world.file();
      const cancelledClick = await world.postApprovalMessage(cancelled.id);
      await world.requests.cancel(cancelled.id, 'U0ALICE');
      await expectRefusal(
        world,
        () => world.requests.approve(cancelled.id, 'U0LEAD', cancelledClick),
        'invalid_state',
        { situation: 'already-decided', action: 'approve', requestId: cancelled.id, state: 'cancelled' },
      );
    });

    it('invalid_state decision-timed-out from the deadline on, even before the timeout job ran', async () => {
      const { world, request, click } = await pendingRequest();
      world.clock.set(request.approvalDeadline);
      await expectRefusal(world, () => world.requests.approve(request.id, 'U0LEAD', click), 'invalid_state', {
        situation: 'decision-timed-out',
        action: 'approve',
        requestId: request.id,
        state: 'timed-out',
      });
      // A millisecond earlier it would have counted.
      const other = await world.file();
      const otherClick = await world.postApprovalMessage(other.id);
      world.clock.set(other.approvalDeadline - 1);
      expect((await world.requests.approve(other.id, 'U0LEAD', otherClick)).request.state).toBe('approved');
    });

    it('stale_click on another message, on no message, and before any message was posted', async () => {
      const { world, request } = await pendingRequest();
      const elsewhere = { message: { channel: 'C0APPROVALS', ts: '1700000000.999999' } };
      await expectRefusal(world, () => world.requests.approve(request.id, 'U0LEAD', elsewhere), 'stale_click', {
        requestId: request.id,
        action: 'approve',
        channel: 'C0APPROVALS',
      });
      const otherChannel = { message: { channel: 'C0ELSEWHERE', ts: APPROVAL_MESSAGE.ts } };
      await expectRefusal(world, () => world.requests.deny(request.id, 'U0LEAD', otherChannel), 'stale_click');
      await expectRefusal(world, () => world.requests.approve(request.id, 'U0LEAD'), 'stale_click');

      const unposted = await world.file();
      await expectRefusal(
        world,
        () => world.requests.approve(unposted.id, 'U0LEAD', { message: APPROVAL_MESSAGE }),
        'stale_click',
        { requestId: unposted.id, action: 'approve' },
      );
    });

    it('a stale click is refused before the state is looked at (an old copy of a decided request)', async () => {
      const { world, request, click } = await pendingRequest();
      await world.requests.deny(request.id, 'U0LEAD', click);
      await expectRefusal(
        world,
        () => world.requests.approve(request.id, 'U0CAROL', { message: { channel: 'C0APPROVALS', ts: '1.2' } }),
        'stale_click',
      );
    });

    it('a click from the decider’s App Home needs no message, but every other check still applies', async () => {
      const world = serviceWorld();
      const request = await world.file();
      await expectRefusal(
        world,
        () => world.requests.approve(request.id, 'U0MALLORY', { fromAppHome: true }),
        'not_allowed',
      );
      const outcome = await world.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
      expect(outcome.request.state).toBe('approved');
    });

    it.each([
      ['deactivated', { deactivated: true }],
      ['guest', { guest: true }],
    ] as const)('inactive_account: a %s approver cannot decide', async (account, person) => {
      const world = serviceWorld({ people: { U0LEAD: person } });
      const request = await world.file();
      const click = await world.postApprovalMessage(request.id);
      await expectRefusal(world, () => world.requests.approve(request.id, 'U0LEAD', click), 'inactive_account', {
        requestId: request.id,
        action: 'approve',
        account,
      });
    });

    it('inactive_account unknown when Slack no longer knows the approver', async () => {
      const { world, request, click } = await pendingRequest();
      world.directory.setPerson('U0LEAD', null);
      await expectRefusal(world, () => world.requests.deny(request.id, 'U0LEAD', click), 'inactive_account', {
        requestId: request.id,
        action: 'deny',
        account: 'unknown',
      });
    });

    it('foreign_team on a click from a workspace the policy does not serve', async () => {
      const { world, request, click } = await pendingRequest();
      world.setSettings({ allowedTeams: ['T0HOME'] });
      await expectRefusal(
        world,
        () => world.requests.approve(request.id, 'U0LEAD', { ...click, teamId: 'T0ELSEWHERE' }),
        'foreign_team',
        { action: 'approve', origin: 'T0ELSEWHERE', allowedCount: 1 },
      );
      expect((await world.requests.approve(request.id, 'U0LEAD', { ...click, teamId: 'T0HOME' })).request.state).toBe(
        'approved',
      );
    });

    it('unknown_request for an ID that was never stored', async () => {
      const world = serviceWorld();
      await expectRefusal(world, () => world.requests.approve('nosuchid', 'U0LEAD', {}), 'unknown_request', {
        requestId: 'nosuchid',
      });
    });

    it('checkMayDecide refuses as a decision would, and changes nothing when allowed', async () => {
      const { world, request, click } = await pendingRequest();
      await expectRefusal(
        world,
        () => world.requests.checkMayDecide(request.id, 'U0ALICE', 'deny', click),
        'self_approval',
      );
      const before = await observable(world);
      expect(await world.requests.checkMayDecide(request.id, 'U0LEAD', 'deny', click)).toEqual(request);
      expect(await observable(world)).toEqual(before);
    });

    it('recordRefusal writes one refusal note with the code and details', async () => {
      const { world, request, click } = await pendingRequest();
      const error = await expectRefusal(
        world,
        () => world.requests.approve(request.id, 'U0ALICE', click),
        'self_approval',
      );
      await world.requests.recordRefusal('U0ALICE', 'approve', error);
      expect(await world.auditLog.notes({ kind: 'refusal' })).toEqual([
        expect.objectContaining({
          type: 'refusal',
          requestId: request.id,
          actor: 'U0ALICE',
          reason: `approve refused (self_approval): requestId=${request.id} roleId=sandbox-admin action=approve`,
          at: T0,
        }),
      ]);
    });
  });

  describe('racing writers: each decision is made on what is stored at commit time', () => {
    it('two approvers clicking at once on a two-approval role both count, and the grant is scheduled once', async () => {
      const { world, request, click } = await pendingRequest('prod-admin');
      const [a, b] = await Promise.all([
        world.requests.approve(request.id, 'U0LEAD', click),
        world.requests.approve(request.id, 'U0SEC', click),
      ]);
      expect([a.approvalsMissing, b.approvalsMissing].sort()).toEqual([0, 1]);
      const stored = await world.stored(request.id);
      expect(stored).toMatchObject({ state: 'approved', version: 3 });
      expect(stored.approvals.map((approval) => approval.userId).sort()).toEqual(['U0LEAD', 'U0SEC']);
      expect(world.scheduler.pending('grant')).toHaveLength(1);
    });

    it('a cancel landing between an approver’s read and write turns the approval into a refusal', async () => {
      const { world, request, click } = await pendingRequest();
      world.store.interleave(async () => {
        await world.requests.cancel(request.id, 'U0ALICE');
      });
      await expect(world.requests.approve(request.id, 'U0LEAD', click)).rejects.toMatchObject({
        code: 'invalid_state',
        details: { situation: 'already-decided', state: 'cancelled' },
      });
      expect(await world.stored(request.id)).toMatchObject({ state: 'cancelled', version: 2 });
      expect(world.scheduler.pending('grant')).toEqual([]);
      expect((await transitions(world, request.id)).slice(1)).toEqual([
        'pending→cancelled by U0ALICE: cancelled by requester',
      ]);
    });

    it('concurrent_update after losing every race (8 attempts), with nothing of its own written', async () => {
      const { world, request, click } = await pendingRequest('prod-admin');
      const rivals = ['U0SEC', 'U0CAROL', 'U0DAVE'];
      // Another writer rewrites the request before each of the approver's compare-and-sets: the version moves on.
      for (let i = 0; i < 8; i += 1) {
        world.store.interleave(async (id) => {
          const current = await world.stored(id);
          await world.store.update(
            { ...current, version: current.version + 1, updatedAt: world.clock.now() },
            current.version,
            {
              requestId: id,
              from: 'pending',
              to: 'pending',
              actor: rivals[i % rivals.length] ?? 'U0SEC',
              reason: 'rival write',
              at: world.clock.now(),
            },
          );
        });
      }
      await expect(world.requests.approve(request.id, 'U0LEAD', click)).rejects.toMatchObject({
        code: 'concurrent_update',
        details: { requestId: request.id },
      });
      const stored = await world.stored(request.id);
      expect(stored).toMatchObject({ state: 'pending', version: 9, approvals: [] });
      expect(pendingJobIds(world).filter((id) => id.includes('approval-recorded'))).toEqual([]);
    });
  });
});
