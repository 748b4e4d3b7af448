import { OverviewService } from '../../../../src/domain/overview';
import { WORLD_START } from '../../../support/in-memory';
import {
  APPROVAL_MESSAGE,
  expectRefusal,
  HOUR,
  MINUTE,
  POLICY,
  pendingJobIds,
  serviceWorld,
  transitions,
} from './service-world';

const T0 = WORLD_START;

/** The shared policy plus a role that escalates to U0SEC and the DBAs group (U0ERIN) after 10 minutes. */
const ESCALATING_POLICY = `${POLICY}
  - id: escalating
    description: Escalates after ten minutes
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvalTimeout: 30m
    escalateAfter: 10m
    escalateTo:
      users: [U0SEC]
      usergroups: [S0DBAS]
    approvers:
      users: [U0LEAD]
`;

const world = () => serviceWorld({ policy: ESCALATING_POLICY });
const click = { message: APPROVAL_MESSAGE };

describe('approving for less time than asked', () => {
  it('grants the shorter duration, keeps what was asked, and audits both', async () => {
    const w = world();
    const request = await w.file({ duration: '2h' });
    await w.postApprovalMessage(request.id);
    const { request: approved } = await w.requests.approve(request.id, 'U0LEAD', click, 30 * MINUTE);
    expect(approved).toMatchObject({
      state: 'approved',
      durationMs: 30 * MINUTE,
      requestedDurationMs: 2 * HOUR,
      approvals: [{ userId: 'U0LEAD', at: T0, durationMs: 30 * MINUTE }],
    });
    expect((await transitions(w, request.id))[1]).toBe(
      'pending→approved by U0LEAD: approved (1 of 1) for 30m instead of 2h',
    );
    const active = await w.lifecycle.activate(request.id);
    expect(active.kind === 'done' && active.request.expiresAt).toBe(T0 + 30 * MINUTE);
  });

  it('with several approvals the shortest choice wins, whoever chose it', async () => {
    const w = world();
    const request = await w.file({ roleId: 'prod-admin', duration: '1h' });
    await w.postApprovalMessage(request.id);
    const first = await w.requests.approve(request.id, 'U0LEAD', click, 20 * MINUTE);
    expect(first.request).toMatchObject({ state: 'pending', durationMs: HOUR });
    expect((await transitions(w, request.id))[1]).toBe('pending→pending by U0LEAD: approval 1 of 2 for 20m');
    const second = await w.requests.approve(request.id, 'U0SEC', click, 45 * MINUTE);
    expect(second.request).toMatchObject({ state: 'approved', durationMs: 20 * MINUTE, requestedDurationMs: HOUR });
  });

  it('a plain approval alongside a shorter one still grants the shorter', async () => {
    const w = world();
    const request = await w.file({ roleId: 'prod-admin', duration: '1h' });
    await w.postApprovalMessage(request.id);
    await w.requests.approve(request.id, 'U0LEAD', click);
    const { request: approved } = await w.requests.approve(request.id, 'U0SEC', click, 15 * MINUTE);
    expect(approved).toMatchObject({ durationMs: 15 * MINUTE, requestedDurationMs: HOUR });
  });

  it('choosing the duration asked for is a plain approval', async () => {
    const w = world();
    const request = await w.file({ duration: '1h' });
    await w.postApprovalMessage(request.id);
    const { request: approved } = await w.requests.approve(request.id, 'U0LEAD', click, HOUR);
    expect(approved.durationMs).toBe(HOUR);
    expect(approved.requestedDurationMs).toBeUndefined();
    expect(approved.approvals).toEqual([{ userId: 'U0LEAD', at: T0 }]);
  });

  it('refuses a duration longer than asked for, or below the minimum, changing nothing', async () => {
    const w = world();
    const request = await w.file({ duration: '1h' });
    await w.postApprovalMessage(request.id);
    await expectRefusal(
      w,
      () => w.requests.approve(request.id, 'U0LEAD', click, 2 * HOUR),
      'invalid_approval_duration',
      {
        requestId: request.id,
        roleId: 'sandbox-admin',
        durationMs: 2 * HOUR,
        problem: 'longer-than-requested',
        requestedMs: HOUR,
        minMs: 5 * MINUTE,
      },
    );
    await expectRefusal(w, () => w.requests.approve(request.id, 'U0LEAD', click, MINUTE), 'invalid_approval_duration', {
      requestId: request.id,
      roleId: 'sandbox-admin',
      durationMs: MINUTE,
      problem: 'below-minimum',
      requestedMs: HOUR,
      minMs: 5 * MINUTE,
    });
  });
});

describe('escalation', () => {
  async function escalatingRequest() {
    const w = world();
    const request = await w.file({ roleId: 'escalating' });
    await w.postApprovalMessage(request.id);
    return { w, request };
  }

  it('is scheduled at escalateAfter; roles without it schedule none', async () => {
    const { w, request } = await escalatingRequest();
    expect(w.scheduler.find(`escalation-${request.id}`)?.runAt).toBe(T0 + 10 * MINUTE);
    const plain = await w.file({ requesterId: 'U0BOB' });
    expect(w.scheduler.find(`escalation-${plain.id}`)).toBeUndefined();
  });

  it('refuses an escalation approver before the escalation, saying when it comes', async () => {
    const { w, request } = await escalatingRequest();
    await expectRefusal(w, () => w.requests.approve(request.id, 'U0SEC', click), 'not_allowed', {
      situation: 'not-yet-escalated',
      action: 'approve',
      requestId: request.id,
      roleId: 'escalating',
      escalatesAt: T0 + 10 * MINUTE,
    });
    await expectRefusal(w, () => w.requests.deny(request.id, 'U0ERIN', click), 'not_allowed');
  });

  it('escalates an undecided request, audited, notified; then escalation approvers decide, even from their DM', async () => {
    const { w, request } = await escalatingRequest();
    await w.scheduler.advance(10 * MINUTE, w.handlers);
    const escalated = await w.stored(request.id);
    expect(escalated).toMatchObject({ state: 'pending', escalatedAt: T0 + 10 * MINUTE, version: 2 });
    expect((await transitions(w, request.id))[1]).toBe(
      'pending→pending by system:escalation: escalated to users U0SEC; user groups S0DBAS: no decision within 10m',
    );
    expect(pendingJobIds(w)).toContain(`notice-${request.id}-escalated-v2`);

    const overview = new OverviewService(w.deps);
    expect(await overview.escalationApprovers(escalated, w.policy.current().roles.at(-1) ?? fail())).toEqual([
      'U0SEC',
      'U0ERIN',
    ]);
    expect((await overview.forPerson('U0ERIN')).awaitingDecision.map((item) => item.request.id)).toEqual([request.id]);

    const dm = { message: { channel: 'D0ERIN', ts: '1700000001.000100' }, fromDirectMessage: true };
    const { request: approved } = await w.requests.approve(request.id, 'U0ERIN', dm);
    expect(approved).toMatchObject({ state: 'approved', decidedBy: 'U0ERIN' });
  });

  it('never lets an escalation approver decide their own request', async () => {
    const w = world();
    const request = await w.file({ roleId: 'escalating', requesterId: 'U0SEC' });
    await w.postApprovalMessage(request.id);
    await w.scheduler.advance(10 * MINUTE, w.handlers);
    await expectRefusal(w, () => w.requests.approve(request.id, 'U0SEC', click), 'self_approval');
    const overview = new OverviewService(w.deps);
    expect((await overview.forPerson('U0SEC')).awaitingDecision).toEqual([]);
  });

  it('does not escalate a request decided before escalateAfter', async () => {
    const { w, request } = await escalatingRequest();
    w.clock.advance(5 * MINUTE);
    await w.requests.approve(request.id, 'U0LEAD', click);
    const ran = await w.scheduler.advance(10 * MINUTE, { escalation: w.handlers.escalation });
    expect(ran.map((job) => job.id)).toEqual([`escalation-${request.id}`]);
    const stored = await w.stored(request.id);
    expect(stored.escalatedAt).toBeUndefined();
    expect(pendingJobIds(w).some((id) => id.includes('escalated'))).toBe(false);
    expect((await new OverviewService(w.deps).forPerson('U0SEC')).awaitingDecision).toEqual([]);
  });

  it('a DM click is refused on a request not escalated (no DM carries its buttons)', async () => {
    const { w, request } = await escalatingRequest();
    const dm = { message: { channel: 'D0LEAD', ts: '1700000001.000100' }, fromDirectMessage: true };
    await expectRefusal(w, () => w.requests.approve(request.id, 'U0LEAD', dm), 'stale_click');
  });
});
