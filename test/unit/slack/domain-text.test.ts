import { DomainError, type DomainErrorCode } from '../../../src/domain/errors';
import { describeGrantRefusal, type GrantRefusal, type GrantRefusalCode } from '../../../src/domain/grant-refusal';
import type { Alert } from '../../../src/domain/ports';
import { alertText, failureText, grantRefusalText, REFUSAL_TEXT, refusalText } from '../../../src/slack/domain-text';

const H = 3_600_000;

/**
 * Every refusal the domain gives, with the sentence people see. Typed as a record over the codes, so a new code
 * fails to compile here until it has an example and a sentence.
 */
const SENTENCES: Record<DomainErrorCode, [DomainError, string][]> = {
  unknown_role: [
    [
      new DomainError('unknown_role', { roleId: 'nope', requestableRoleIds: ['a', 'b'] }),
      'There is no role "nope". Roles you may request: a, b.',
    ],
    [
      new DomainError('unknown_role', { roleId: 'nope', requestableRoleIds: [] }),
      'There is no role "nope". Roles you may request: none (ask your platform team).',
    ],
  ],
  role_not_requestable: [
    [
      new DomainError('role_not_requestable', {
        roleId: 'prod',
        requestableRoleIds: Array.from({ length: 23 }, (_, n) => `r${n}`),
      }),
      `You may not request "prod". Roles you may request: ${Array.from({ length: 20 }, (_, n) => `r${n}`).join(', ')} and 3 more (\`/jit roles\`).`,
    ],
    [
      new DomainError('role_not_requestable', { roleId: 'prod', requestId: 'k7m2xq9d', action: 'extend' }),
      'The policy no longer lets you request prod, so k7m2xq9d cannot be extended.',
    ],
  ],
  invalid_duration: [
    [
      new DomainError('invalid_duration', { input: '2x', problem: 'syntax' }),
      '"2x" is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d, or a combination such as 1h30m.',
    ],
    [
      new DomainError('invalid_duration', { input: '0m', problem: 'zero' }),
      '"0m" is zero; ask for a positive duration such as 30m.',
    ],
    [
      new DomainError('invalid_duration', { input: '10000d', problem: 'too-long' }),
      '"10000d" is longer than any role allows.',
    ],
    [
      new DomainError('invalid_duration', { input: ' 7days ', problem: 'not-a-point-in-time' }),
      '"7days" is neither a time back from now (30m, 12h, 7d, 1d12h) nor a date (2025-01-31 or 2025-01-31T08:00:00Z).',
    ],
  ],
  duration_too_long: [
    [
      new DomainError('duration_too_long', {
        roleId: 'prod',
        input: '9h',
        limit: '4h',
        durationMs: 9 * H,
        maxMs: 4 * H,
      }),
      '9h is longer than prod allows; ask for at most 4h.',
    ],
    [
      new DomainError('duration_too_long', {
        requestId: 'k7m2xq9d',
        roleId: 'prod',
        limit: '4h',
        usedMs: 4 * H,
        maxMs: 4 * H,
        action: 'extend',
      }),
      'k7m2xq9d already lasts 4h of the 4h prod allows in total; ask anew with `/jit request prod` when it ends.',
    ],
  ],
  duration_too_short: [
    [
      new DomainError('duration_too_short', { roleId: 'prod', limit: '5m', durationMs: 60_000, minMs: 300_000 }),
      '1m is shorter than the minimum; ask for at least 5m.',
    ],
  ],
  missing_reason: [
    [
      new DomainError('missing_reason', { roleId: 'prod', newRequest: { durationMs: 2 * H } }),
      'Say why you need prod: `/jit request prod 2h <reason, e.g. a ticket>`.',
    ],
    [new DomainError('missing_reason', { roleId: 'prod' }), 'Say why you need prod.'],
  ],
  reason_too_long: [
    [
      new DomainError('reason_too_long', { roleId: 'prod', limit: '1000', length: 1200 }),
      'The reason is 1200 characters long; keep it under 1000 and link to details.',
    ],
  ],
  missing_ticket: [
    [
      new DomainError('missing_ticket', { roleId: 'prod', ticketPattern: 'INC-\\d+', newRequest: { durationMs: H } }),
      'prod needs a ticket reference in the reason (matching `INC-\\d+`, e.g. INC-42): `/jit request prod 1h INC-42 <why>`.',
    ],
    [
      new DomainError('missing_ticket', { roleId: 'prod', ticketPattern: 'INC-\\d+' }),
      'prod needs a ticket reference in the reason (matching `INC-\\d+`, e.g. INC-42).',
    ],
  ],
  unknown_request: [
    [
      new DomainError('unknown_request', { requestId: 'zzzz' }),
      'There is no request with ID "zzzz". `/jit list` shows your open requests and their IDs.',
    ],
  ],
  not_allowed: [
    [
      new DomainError('not_allowed', {
        situation: 'not-holder',
        action: 'extend',
        requestId: 'k7m2xq9d',
        requesterId: 'U0ALICE',
      }),
      'Only <@U0ALICE>, who holds this access, can extend it.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-requester',
        action: 'cancel',
        requestId: 'k7m2xq9d',
        requesterId: 'U0ALICE',
      }),
      'Only <@U0ALICE>, who asked for k7m2xq9d, can cancel it.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-requester-or-approver',
        action: 'revoke',
        requestId: 'k7m2xq9d',
        requesterId: 'U0ALICE',
        roleId: 'prod',
      }),
      'Only <@U0ALICE> or an approver of prod can revoke k7m2xq9d.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-requester-or-approver',
        action: 'status',
        requestId: 'k7m2xq9d',
        requesterId: 'U0ALICE',
        roleId: 'prod',
      }),
      'Only <@U0ALICE> and the approvers of prod can see k7m2xq9d.',
    ],
    [
      new DomainError('not_allowed', { situation: 'not-admin', action: 'retry-revocation', requestId: 'k7m2xq9d' }),
      'Only the admins named in the policy (settings.admins) can retry a revocation.',
    ],
    [
      new DomainError('not_allowed', { situation: 'not-admin', action: 'review', requestId: 'k7m2xq9d' }),
      'Only the admins named in the policy (settings.admins) can review break-glass access.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-admin',
        action: 'audit',
        admins: { users: ['U0SEC', 'U0LEAD'], usergroups: ['S0AUDITORS'] },
      }),
      "Only the bot's admins may export the audit trail: <@U0SEC>, <@U0LEAD> and members of <!subteam^S0AUDITORS>. Ask one of them, or ask your platform team to add you to `settings.admins` in the policy.",
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-admin',
        action: 'audit',
        admins: { users: ['U0SEC'], usergroups: [] },
      }),
      "Only the bot's admins may export the audit trail: <@U0SEC>. Ask one of them, or ask your platform team to add you to `settings.admins` in the policy.",
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-admin',
        action: 'audit',
        admins: { users: [], usergroups: [] },
      }),
      'Nobody may export the audit trail in Slack: the policy names no admins (`settings.admins`). Ask your platform team to add you there, or to run `npm run audit` where the bot runs.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'role-removed',
        action: 'approve',
        requestId: 'k7m2xq9d',
        roleId: 'broken',
      }),
      'Role broken is no longer in the policy, so k7m2xq9d can no longer be decided.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-approver',
        action: 'deny',
        requestId: 'k7m2xq9d',
        roleId: 'prod',
      }),
      'You are not an approver of prod, so you cannot deny k7m2xq9d.',
    ],
    [
      new DomainError('not_allowed', {
        situation: 'not-yet-escalated',
        action: 'approve',
        requestId: 'k7m2xq9d',
        roleId: 'prod',
        escalatesAt: Date.UTC(2026, 2, 10, 9, 15),
      }),
      'k7m2xq9d is escalated to you only if nobody decides by <!date^1773134100^{date_short_pretty} {time}|2026-03-10 09:15 UTC>; until then only the approvers of prod can approve it.',
    ],
  ],
  self_approval: [
    [
      new DomainError('self_approval', { requestId: 'k7m2xq9d', roleId: 'prod', action: 'approve' }),
      'You asked for k7m2xq9d, so you cannot approve it; another approver of prod must.',
    ],
    [
      new DomainError('self_approval', { requestId: 'k7m2xq9d', roleId: 'prod', action: 'deny' }),
      'You asked for k7m2xq9d; withdraw it with `/jit cancel k7m2xq9d` instead of denying it.',
    ],
  ],
  already_approved_by_you: [
    [
      new DomainError('already_approved_by_you', { requestId: 'k7m2xq9d', approvalsMissing: 1 }),
      'You already approved k7m2xq9d; it needs approval from 1 more approver(s).',
    ],
  ],
  invalid_state: [
    [
      new DomainError('invalid_state', {
        situation: 'is-extension',
        action: 'extend',
        requestId: 'e1',
        extends: 'k7m2xq9d',
      }),
      'e1 is an extension; extend k7m2xq9d instead.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'nothing-to-extend',
        action: 'extend',
        requestId: 'k7m2xq9d',
        state: 'active',
      }),
      'Access for k7m2xq9d is ending now, so there is nothing to extend.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'nothing-to-extend',
        action: 'extend',
        requestId: 'k7m2xq9d',
        state: 'approved',
      }),
      'Access for k7m2xq9d is being granted, so there is nothing to extend.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'nothing-to-extend',
        action: 'extend',
        requestId: 'k7m2xq9d',
        state: 'expired',
      }),
      'Access for k7m2xq9d is expired, so there is nothing to extend.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'extension-waiting',
        action: 'extend',
        requestId: 'k7m2xq9d',
        extensionId: 'e1',
        extensionState: 'pending',
      }),
      'Extension e1 of k7m2xq9d is already waiting for approval; cancel it first to ask for a different time.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'not-pending',
        action: 'cancel',
        requestId: 'k7m2xq9d',
        state: 'active',
      }),
      'Request k7m2xq9d is already active, so it cannot be cancelled. To end the access, use `/jit revoke k7m2xq9d`.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'not-pending',
        action: 'cancel',
        requestId: 'k7m2xq9d',
        state: 'denied',
      }),
      'Request k7m2xq9d is already denied, so it cannot be cancelled.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'being-granted',
        action: 'revoke',
        requestId: 'k7m2xq9d',
        state: 'approved',
      }),
      'Access for k7m2xq9d is being granted right now; revoke it again in a few seconds.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'still-pending',
        action: 'revoke',
        requestId: 'k7m2xq9d',
        state: 'pending',
        byRequester: true,
      }),
      'Request k7m2xq9d is still pending, so there is no access to revoke. Use `/jit cancel k7m2xq9d` to withdraw it.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'still-pending',
        action: 'revoke',
        requestId: 'k7m2xq9d',
        state: 'pending',
        byRequester: false,
      }),
      'Request k7m2xq9d is still pending, so there is no access to revoke.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'not-active',
        action: 'revoke',
        requestId: 'k7m2xq9d',
        state: 'expired',
      }),
      'Request k7m2xq9d is already expired; there is no access to revoke.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'not-active',
        action: 'retry-revocation',
        requestId: 'k7m2xq9d',
        state: 'revoked',
      }),
      'Request k7m2xq9d is already revoked; nothing to retry.',
    ],
    [
      new DomainError('invalid_state', { situation: 'not-break-glass', action: 'review', requestId: 'k7m2xq9d' }),
      'Request k7m2xq9d was not break-glass access; there is nothing to review.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'already-decided',
        action: 'approve',
        requestId: 'k7m2xq9d',
        state: 'denied',
      }),
      'Request k7m2xq9d is already denied; nothing to approve.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'decision-timed-out',
        action: 'deny',
        requestId: 'k7m2xq9d',
        state: 'timed-out',
      }),
      'Request k7m2xq9d waited too long for a decision and has timed out; the requester can ask again.',
    ],
    [
      new DomainError('invalid_state', {
        situation: 'transition',
        requestId: 'k7m2xq9d',
        state: 'expired',
        to: 'active',
      }),
      'Request k7m2xq9d is expired; it cannot become active.',
    ],
  ],
  concurrent_update: [
    [
      new DomainError('concurrent_update', { requestId: 'k7m2xq9d' }),
      'Request k7m2xq9d kept changing while we tried to update it; please try again.',
    ],
  ],
  stale_click: [
    [
      new DomainError('stale_click', { requestId: 'k7m2xq9d', action: 'approve', channel: 'C0APPROVE' }),
      'That button is not on the approval message of k7m2xq9d; decide on the message in <#C0APPROVE>.',
    ],
    [
      new DomainError('stale_click', { requestId: 'k7m2xq9d', action: 'approve' }),
      'That button is not on the approval message of k7m2xq9d; decide on the message in its approval channel.',
    ],
    [new DomainError('stale_click', { action: 'jit_approve' }), 'That button does not carry a request ID.'],
  ],
  foreign_team: [
    [
      new DomainError('foreign_team', { action: 'approve', origin: 'T0OTHER', allowedCount: 2 }),
      'This bot serves only its own workspaces; you cannot approve from T0OTHER.',
    ],
    [
      new DomainError('foreign_team', { action: 'request access', allowedCount: 1 }),
      'This bot serves only its own workspace; you cannot request access from an unknown workspace.',
    ],
  ],
  inactive_account: [
    [
      new DomainError('inactive_account', { requestId: 'k7m2xq9d', action: 'approve', account: 'guest' }),
      'Your Slack account is a guest account, so it cannot approve access requests.',
    ],
    [
      new DomainError('inactive_account', { requestId: 'k7m2xq9d', action: 'deny', account: 'deactivated' }),
      'Your Slack account is deactivated, so it cannot deny access requests.',
    ],
    [
      new DomainError('inactive_account', { requestId: 'k7m2xq9d', action: 'approve', account: 'unknown' }),
      'Your Slack account is unknown to Slack, so it cannot approve access requests.',
    ],
  ],
  invalid_command: [
    [
      new DomainError('invalid_command', { explanation: '`/jit list` takes nothing after it.' }),
      '`/jit list` takes nothing after it.',
    ],
  ],
  invalid_approval_duration: [
    [
      new DomainError('invalid_approval_duration', {
        requestId: 'k7m2xq9d',
        roleId: 'prod',
        durationMs: 3 * H,
        problem: 'longer-than-requested',
        requestedMs: 2 * H,
        minMs: 60_000,
      }),
      '3h is longer than the 2h asked for in k7m2xq9d; approve for at most 2h.',
    ],
    [
      new DomainError('invalid_approval_duration', {
        requestId: 'k7m2xq9d',
        roleId: 'prod',
        durationMs: 30_000,
        problem: 'below-minimum',
        requestedMs: 2 * H,
        minMs: 60_000,
      }),
      "30s is shorter than the policy's minimum; approve k7m2xq9d for at least 1m.",
    ],
  ],
  too_many_requests: [
    [
      new DomainError('too_many_requests', { limit: '5', open: 5 }),
      'You already have 5 pending or active requests, the most one person may have; cancel or revoke one first (`/jit list`).',
    ],
  ],
  invalid_start: [
    [
      new DomainError('invalid_start', { input: 'tomorrow 22:00', problem: 'syntax' }),
      '"tomorrow 22:00" is not a start time. Write the date and time, read in your Slack time zone, as `at 2026-12-01 22:00`, or with an offset, `at 2026-12-01T22:00+01:00`.',
    ],
    [
      new DomainError('invalid_start', { input: '2026-02-30 22:00', problem: 'no-such-time' }),
      '"2026-02-30 22:00" is no such time (check the date, and any daylight-saving change in your time zone that night).',
    ],
  ],
  start_in_past: [
    [
      new DomainError('start_in_past', { startsAt: Date.UTC(2026, 2, 10, 8), now: Date.UTC(2026, 2, 10, 9) }),
      'The start <!date^1773129600^{date_short_pretty} {time}|08:00 UTC> has already passed; choose a time ahead, or leave the start out to begin as soon as the request is approved.',
    ],
  ],
  start_too_far: [
    [
      new DomainError('start_too_far', {
        roleId: 'prod',
        startsAt: Date.UTC(2026, 2, 20, 9),
        now: Date.UTC(2026, 2, 10, 9),
        limit: '7d',
        maxLeadMs: 7 * 24 * H,
      }),
      'prod can be scheduled at most 7d ahead, and <!date^1773997200^{date_short_pretty} {time}|2026-03-20 09:00 UTC> is further; ask again closer to the time.',
    ],
  ],
  invalid_bundle: [
    [
      new DomainError('invalid_bundle', { problem: 'too-many', roleIds: ['a', 'b', 'c'], limit: 2 }),
      'One request can bundle at most 2 roles, and you asked for 3; split them into several requests.',
    ],
    [
      new DomainError('invalid_bundle', { problem: 'break-glass', roleIds: ['a', 'emergency'], roleId: 'emergency' }),
      'emergency is break-glass access, which is asked for on its own: `/jit request emergency <reason>`, and the other roles in a separate request.',
    ],
  ],
};

describe('refusalText', () => {
  it('has a sentence for every code', () => {
    expect(Object.keys(REFUSAL_TEXT).sort()).toEqual(Object.keys(SENTENCES).sort());
  });

  it.each(
    Object.values(SENTENCES)
      .flat()
      .map(([error, sentence]) => [`${error.code} ${JSON.stringify(error.details)}`, error, sentence] as const),
  )('%s', (_, error, sentence) => {
    expect(refusalText(error)).toBe(sentence);
  });

  it('keeps the domain message technical: the code and details, no sentence', () => {
    const error = new DomainError('not_allowed', {
      situation: 'not-requester',
      action: 'cancel',
      requestId: 'k7m2xq9d',
      requesterId: 'U0ALICE',
    });
    expect(error.message).toBe(
      'not_allowed: situation=not-requester action=cancel requestId=k7m2xq9d requesterId=U0ALICE',
    );
    expect(error.requestId).toBe('k7m2xq9d');
  });
});

/** Every coded grant refusal with the sentence people see after "granting failed: ". */
const GRANT_REFUSALS: Record<GrantRefusalCode, [GrantRefusal, string]> = {
  role_removed: [{ code: 'role_removed', details: { roleId: 'broken' } }, 'role broken is no longer in the policy'],
  requester_not_allowed: [
    { code: 'requester_not_allowed', details: { requesterId: 'U0BOB', roleId: 'restricted' } },
    'the policy no longer lets <@U0BOB> request restricted',
  ],
  extended_access_ended: [
    { code: 'extended_access_ended', details: { extendedId: 'k7m2xq9d' } },
    'the access it extends (request k7m2xq9d) has already ended',
  ],
  extension_over_max: [
    { code: 'extension_over_max', details: { roleId: 'prod', totalMs: 5 * H, maxMs: 4 * H } },
    '5h in total is more than prod now allows (4h)',
  ],
  extended_request_changed: [
    { code: 'extended_request_changed', details: { extendedId: 'k7m2xq9d' } },
    'request k7m2xq9d changed while it was being extended',
  ],
  email_unconfirmed: [
    { code: 'email_unconfirmed', details: { userId: 'U0ALICE', provider: 'gcp', address: 'alice@example.com' } },
    "Slack has not confirmed the email on <@U0ALICE>'s profile (alice@example.com), so the bot will not use it to name them in gcp: confirm it in Slack, or an admin can add `gcp: …` or `email: …` under principals.U0ALICE in the policy file.",
  ],
  principals_required: [
    { code: 'principals_required', details: { userId: 'U0ALICE', provider: 'aws' } },
    '<@U0ALICE> has no entry under `principals` in the policy file, and this policy names people in clouds only through it (settings.identity: principals), never by their Slack email: an admin must add `aws: …` or `email: …` under principals.U0ALICE.',
  ],
};

describe('grantRefusalText and failureText', () => {
  it.each(Object.entries(GRANT_REFUSALS))('%s', (_, [refusal, sentence]) => {
    expect(grantRefusalText(refusal)).toBe(sentence);
    // What the audit trail keeps says the same with plain IDs.
    expect(describeGrantRefusal(refusal)).not.toMatch(/<@|<#|<!|\/jit/);
  });

  it('renders a coded refusal, and falls back to the stored reason for provider failures and old records', () => {
    const [refusal, sentence] = GRANT_REFUSALS.requester_not_allowed;
    expect(failureText({ failureReason: describeGrantRefusal(refusal), grantRefusal: refusal })).toBe(sentence);
    expect(failureText({ failureReason: 'the sandbox account is closed' })).toBe('the sandbox account is closed');
    expect(failureText({})).toBe('unknown error');
  });
});

describe('alertText', () => {
  it.each<[Alert, string]>([
    [
      { kind: 'revocation-failing', requestId: 'k7m2xq9d', details: { attempts: 5 }, retryRevocation: true },
      'Revoking access for request k7m2xq9d has failed 5 times; the bot keeps retrying with backoff. The access stays in place until it succeeds.',
    ],
    [
      {
        kind: 'access-remains',
        requestId: 'k7m2xq9d',
        details: { requesterId: 'U0ALICE', roleId: 'sql-viewer', provider: 'gcp' },
      },
      'Access of <@U0ALICE> to sql-viewer (request k7m2xq9d) was still in place in gcp after its revocation had time to propagate; the bot revoked it again. Check the cloud.',
    ],
    [
      {
        kind: 'break-glass',
        requestId: 'k7m2xq9d',
        details: { requesterId: 'U0ALICE', roleId: 'break-glass', durationMs: 30 * 60_000, reason: 'prod is down' },
        review: true,
      },
      '<@U0ALICE> used break-glass access to break-glass for 30m (request k7m2xq9d). Reason: prod is down. An admin must review it.',
    ],
    [
      {
        kind: 'drift',
        requestId: 'k7m2xq9d',
        details: { situation: 'missing-in-cloud', provider: 'aws', roleId: 'prod', requesterId: 'U0ALICE' },
      },
      'Request k7m2xq9d (prod for <@U0ALICE>) is active in the store, but aws holds no artefact for it: it may have been removed by hand.',
    ],
    [
      {
        kind: 'drift',
        requestId: 'k7m2xq9d',
        details: {
          situation: 'unknown-to-store',
          provider: 'aws',
          description: 'inline policy jit-k7m2xq9d on IAM user alice',
          endsAt: Date.UTC(2026, 2, 9, 10),
        },
      },
      'aws holds inline policy jit-k7m2xq9d on IAM user alice, made by the bot for request k7m2xq9d, which the store does not know (was Redis emptied?). It ends by itself at 2026-03-09T10:00:00.000Z and will be revoked then.',
    ],
    [
      {
        kind: 'drift',
        requestId: 'k7m2xq9d',
        details: { situation: 'unknown-to-store', provider: 'aws', description: 'inline policy jit-k7m2xq9d' },
      },
      'aws holds inline policy jit-k7m2xq9d, made by the bot for request k7m2xq9d, which the store does not know (was Redis emptied?). It is past its expiry and is being revoked.',
    ],
    [
      {
        kind: 'drift',
        requestId: 'k7m2xq9d',
        details: { situation: 'left-behind', provider: 'gcp', description: 'a binding', state: 'expired' },
      },
      'gcp still holds a binding although request k7m2xq9d is expired; revoking it.',
    ],
  ])('%j', (alert, sentence) => {
    expect(alertText(alert)).toBe(sentence);
  });
});
