import { SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import { MAX_REASON_LENGTH } from '../../../../src/domain/request-service';
import { WORLD_START } from '../../../support/in-memory';
import { expectRefusal, HOUR, MINUTE, pendingJobIds, serviceWorld, transitions } from './service-world';

const T0 = WORLD_START;
const alice = { requesterId: 'U0ALICE', teamId: 'T0HOME', reason: 'debugging INC-42' } as const;

describe('RequestService.requestAccess: filing a request', () => {
  it('stores it pending with its deadline, schedules its timeout job (which reminds the approvers first) and the notice', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d'] });
    const { request, role } = await world.requests.requestAccess({
      ...alice,
      roleId: ' Sandbox-Admin ',
      duration: '2h',
    });

    expect(role.id).toBe('sandbox-admin');
    expect(request).toEqual({
      id: 'k7m2xq9d',
      roleId: 'sandbox-admin',
      requesterId: 'U0ALICE',
      teamId: 'T0HOME',
      reason: 'debugging INC-42',
      durationMs: 2 * HOUR,
      state: 'pending',
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      approvalDeadline: T0 + 30 * MINUTE,
      approvals: [],
    });
    expect(await world.stored('k7m2xq9d')).toEqual(request);
    expect(world.scheduler.pending().map(({ id, runAt }) => ({ id, runAt }))).toEqual([
      // One job for the reminder and the deadline: it wakes for the reminder first.
      { id: 'approval-timeout-k7m2xq9d', runAt: T0 + 20 * MINUTE },
      { id: 'notice-k7m2xq9d-requested-v1', runAt: T0 },
    ]);
    expect(await transitions(world, 'k7m2xq9d')).toEqual(['none→pending by U0ALICE: debugging INC-42']);
    expect(world.cloud().calls).toEqual([]);
    expect(world.alerter.alerts).toEqual([]);
  });

  it('takes the role’s default duration when none is given, and trims the reason', async () => {
    const world = serviceWorld();
    const request = await world.file({ reason: '  debugging INC-42 \n' });
    expect(request).toMatchObject({ durationMs: HOUR, reason: 'debugging INC-42' });
  });

  it('reminds approvers halfway through a deadline shorter than twice the reminder lead', async () => {
    const world = serviceWorld();
    world.setSettings({ reminderBeforeMs: 20 * MINUTE });
    const request = await world.file();
    expect(world.scheduler.pending('approval-timeout').map((job) => job.runAt)).toEqual([
      request.createdAt + 15 * MINUTE,
    ]);
  });

  describe('refusals, with nothing stored, scheduled or audited', () => {
    it('unknown_role lists what the person may request instead', async () => {
      const world = serviceWorld();
      await expectRefusal(world, () => world.file({ roleId: 'no-such-role' }), 'unknown_role', {
        roleId: 'no-such-role',
        requestableRoleIds: [
          'sandbox-admin',
          'prod-admin',
          'ticketed',
          'staging-deployer',
          'office-hours',
          'emergency',
          'self-extend',
          'broken',
          'sql-viewer',
        ],
      });
    });

    it('role_not_requestable for someone not among the requesters; allowed by user and by user group', async () => {
      const world = serviceWorld();
      const error = await expectRefusal(world, () => world.file({ roleId: 'restricted' }), 'role_not_requestable');
      expect(error.details).toMatchObject({ roleId: 'restricted' });
      expect(error.details).not.toHaveProperty('action');
      expect((error.details as { requestableRoleIds: string[] }).requestableRoleIds).not.toContain('restricted');

      expect(await world.file({ roleId: 'restricted', requesterId: 'U0BOB' })).toMatchObject({ state: 'pending' });
      expect(await world.file({ roleId: 'restricted', requesterId: 'U0ERIN' })).toMatchObject({ state: 'pending' });
      expect((await world.requests.requestableRoles('U0ERIN')).map((role) => role.id)).toContain('restricted');
    });

    it.each([
      ['2 hours', { input: '2 hours', problem: 'syntax' }],
      ['0m', { input: '0m', problem: 'zero' }],
      ['400d', { input: '400d', problem: 'too-long' }],
    ] as const)('invalid_duration for %p', async (duration, details) => {
      const world = serviceWorld();
      await expectRefusal(world, () => world.file({ duration }), 'invalid_duration', details);
    });

    it('duration_too_long past the role’s maximum, duration_too_short under the policy minimum', async () => {
      const world = serviceWorld();
      await expectRefusal(world, () => world.file({ duration: '4h1m' }), 'duration_too_long', {
        roleId: 'sandbox-admin',
        input: '4h1m',
        limit: '4h',
        durationMs: 4 * HOUR + MINUTE,
        maxMs: 4 * HOUR,
      });
      await expectRefusal(world, () => world.file({ duration: '4m' }), 'duration_too_short', {
        roleId: 'sandbox-admin',
        input: '4m',
        limit: '5m',
        durationMs: 4 * MINUTE,
        minMs: 5 * MINUTE,
      });
      // Exactly the bounds is fine.
      expect((await world.file({ duration: '4h' })).durationMs).toBe(4 * HOUR);
      expect((await world.file({ duration: '5m' })).durationMs).toBe(5 * MINUTE);
    });

    it('a high-risk role’s maximum is the policy’s high-risk maximum (1h by default)', async () => {
      const world = serviceWorld();
      await expectRefusal(world, () => world.file({ roleId: 'prod-admin', duration: '2h' }), 'duration_too_long', {
        roleId: 'prod-admin',
        input: '2h',
        limit: '1h',
        durationMs: 2 * HOUR,
        maxMs: HOUR,
      });
    });

    it('missing_reason for a blank reason (with how to ask again), reason_too_long past the limit', async () => {
      const world = serviceWorld();
      await expectRefusal(world, () => world.file({ reason: ' \n ' }), 'missing_reason', {
        roleId: 'sandbox-admin',
        newRequest: { durationMs: HOUR },
      });
      await expectRefusal(world, () => world.file({ reason: 'x'.repeat(MAX_REASON_LENGTH + 1) }), 'reason_too_long', {
        roleId: 'sandbox-admin',
        limit: String(MAX_REASON_LENGTH),
        length: MAX_REASON_LENGTH + 1,
      });
      expect((await world.file({ reason: 'x'.repeat(MAX_REASON_LENGTH) })).reason).toHaveLength(MAX_REASON_LENGTH);
    });

    it('missing_ticket when the role requires one and the reason names none', async () => {
      const world = serviceWorld();
      await expectRefusal(
        world,
        () => world.file({ roleId: 'ticketed', reason: 'just looking', duration: '30m' }),
        'missing_ticket',
        { roleId: 'ticketed', ticketPattern: '[A-Z][A-Z0-9]+-[0-9]+', newRequest: { durationMs: 30 * MINUTE } },
      );
      expect(await world.file({ roleId: 'ticketed', reason: 'see OPS-1234' })).toMatchObject({ state: 'pending' });
    });

    it('too_many_requests at the cap of open requests; extensions and closed requests do not count', async () => {
      const world = serviceWorld();
      const granted = await world.activeGrant();
      // An extension of that grant is open too, but lengthens access already counted.
      const extension = await world.requests.requestExtension({ ...alice, requestId: granted.id, duration: '30m' });
      expect(extension.request.state).toBe('pending');
      const second = await world.file();

      await expectRefusal(world, () => world.file(), 'too_many_requests', { limit: '2', open: 2 });

      await world.requests.cancel(second.id, 'U0ALICE');
      expect(await world.file()).toMatchObject({ state: 'pending' });
    });

    it('too_many_requests applies to break-glass access too', async () => {
      const world = serviceWorld();
      await world.file();
      await world.file();
      await expectRefusal(world, () => world.file({ roleId: 'emergency' }), 'too_many_requests', {
        limit: '2',
        open: 2,
      });
    });

    it('foreign_team for a workspace outside allowedTeams; an allowed organisation lets any of its workspaces in', async () => {
      const world = serviceWorld();
      world.setSettings({ allowedTeams: ['T0HOME', 'E0ORG'] });
      await expectRefusal(world, () => world.file({ teamId: 'T0ELSEWHERE' }), 'foreign_team', {
        action: 'request access',
        origin: 'T0ELSEWHERE',
        allowedCount: 2,
      });
      expect(await world.file({ teamId: 'T0OTHER', enterpriseId: 'E0ORG' })).toMatchObject({ teamId: 'T0OTHER' });
      expect(await world.file()).toMatchObject({ teamId: 'T0HOME' });
    });

    it('checks the origin before anything else (an unknown role from a foreign team is foreign_team)', async () => {
      const world = serviceWorld();
      world.setSettings({ allowedTeams: ['T0HOME'] });
      await expectRefusal(world, () => world.file({ teamId: 'T0X', roleId: 'nope' }), 'foreign_team');
    });
  });

  describe('auto-approval', () => {
    it('an autoApprove role is approved at once: no timeout, a grant job and the notices', async () => {
      const world = serviceWorld();
      const request = await world.file({ roleId: 'staging-deployer' });
      expect(request).toMatchObject({
        state: 'approved',
        version: 2,
        decidedBy: SYSTEM_ACTORS.autoApprove,
        decidedAt: T0,
      });
      expect(pendingJobIds(world)).toEqual([
        `grant-${request.id}`,
        `notice-${request.id}-approved-v2`,
        `notice-${request.id}-requested-v1`,
      ]);
      expect(await transitions(world, request.id)).toEqual([
        'none→pending by U0ALICE: debugging INC-42',
        'pending→approved by system:auto-approve: the role is auto-approved',
      ]);
    });

    it('by rule: the person in the rule, on a weekday, within the hours read in the rule’s time zone', async () => {
      // T0 is Tuesday 09:00 UTC, 05:00 in New York (EDT since 8 March).
      const world = serviceWorld();
      const early = await world.file({ roleId: 'office-hours' });
      expect(early.state).toBe('pending');
      expect(world.scheduler.find(`approval-timeout-${early.id}`)).toBeDefined();

      world.clock.set(T0 + 4 * HOUR); // 09:00 in New York
      const onTime = await world.file({ roleId: 'office-hours' });
      expect(onTime).toMatchObject({ state: 'approved', decidedBy: SYSTEM_ACTORS.autoApprove });
      expect(await transitions(world, onTime.id)).toContain(
        "pending→approved by system:auto-approve: the request matches the role's auto-approve rule",
      );
      expect(world.scheduler.find(`approval-timeout-${onTime.id}`)).toBeUndefined();

      // Bob is not in the rule's group: he waits for an approver even in office hours.
      expect(await world.file({ roleId: 'office-hours', requesterId: 'U0BOB' })).toMatchObject({ state: 'pending' });
    });

    it('by rule: 17:00 is outside the hours (the end is exclusive), and Saturday is outside the days', async () => {
      const world = serviceWorld();
      world.clock.set(T0 + 12 * HOUR); // Tuesday 17:00 in New York
      expect(await world.file({ roleId: 'office-hours' })).toMatchObject({ state: 'pending' });

      const other = serviceWorld();
      other.clock.set(Date.UTC(2026, 2, 14, 15, 0)); // Saturday 11:00 in New York
      expect(await other.file({ roleId: 'office-hours' })).toMatchObject({ state: 'pending' });
      other.clock.set(Date.UTC(2026, 2, 16, 15, 0)); // Monday 11:00
      expect(await other.file({ roleId: 'office-hours' })).toMatchObject({ state: 'approved' });
    });

    it('break-glass: approved at once, audited and alerted for an admin to review, no approver asked', async () => {
      const world = serviceWorld();
      const { request, role } = await world.requests.requestAccess({
        ...alice,
        roleId: 'emergency',
        duration: '30m',
        reason: 'prod is down',
      });
      expect(role.breakGlass).toBe(true);
      expect(request).toMatchObject({ state: 'approved', version: 2, decidedBy: SYSTEM_ACTORS.autoApprove });
      expect(world.alerter.alerts).toEqual([
        {
          kind: 'break-glass',
          requestId: request.id,
          details: { requesterId: 'U0ALICE', roleId: 'emergency', durationMs: 30 * MINUTE, reason: 'prod is down' },
          review: true,
        },
      ]);
      expect(await world.auditLog.notes({ requestId: request.id })).toEqual([
        expect.objectContaining({
          type: 'alert',
          actor: SYSTEM_ACTORS.autoApprove,
          reason: expect.stringContaining('An admin must review it.'),
        }),
      ]);
      expect(await transitions(world, request.id)).toEqual([
        'none→pending by U0ALICE: prod is down',
        'pending→approved by system:auto-approve: break-glass: approved at once, to be reviewed by an admin',
      ]);
      expect(pendingJobIds(world)).toEqual([
        `grant-${request.id}`,
        `notice-${request.id}-approved-v2`,
        `notice-${request.id}-requested-v1`,
      ]);
    });
  });

  it('requestableRoles and requestForm: in policy order, with the policy minimum', async () => {
    const world = serviceWorld();
    const form = await world.requests.requestForm('U0BOB');
    expect(form.minDurationMs).toBe(5 * MINUTE);
    expect(form.roles.map((role) => role.id)).toContain('restricted');
    expect((await world.requests.requestableRoles('U0ALICE')).map((role) => role.id)).not.toContain('restricted');
  });
});
