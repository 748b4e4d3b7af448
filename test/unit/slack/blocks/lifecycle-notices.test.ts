import { SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import { NOTICE_KINDS, type NoticeKind } from '../../../../src/domain/ports';
import { slackTime } from '../../../../src/slack/blocks/format';
import { auditLine, requesterMessage, threadReply } from '../../../../src/slack/blocks/lifecycle-notices';
import { HOUR, MINUTE, makeRequest, T0 } from '../../fixtures';

const EXPIRES_AT = T0 + 6 * MINUTE + HOUR;
const ENDED_AT = T0 + 20 * MINUTE;

const request = makeRequest({
  approvals: [{ userId: 'U0LEAD', at: T0 + MINUTE }],
  decidedBy: 'U0LEAD',
  decidedAt: T0 + MINUTE,
  expiresAt: EXPIRES_AT,
  endedAt: ENDED_AT,
  endedBy: 'U0SECOPS',
  failureReason: 'AccessDenied for <!channel> & friends',
});

describe('threadReply', () => {
  it.each<[NoticeKind, string]>([
    ['approval-recorded', ':ballot_box_with_check: <@U0LEAD> approved; more approvals needed.'],
    ['approved', ':white_check_mark: Approved by <@U0LEAD>; granting access.'],
    ['activated', `:large_green_circle: Access is active until ${slackTime(EXPIRES_AT)}.`],
    ['denied', ':x: Denied by <@U0LEAD>.'],
    ['cancelled', ':heavy_minus_sign: Cancelled by the requester.'],
    ['timed-out', ':alarm_clock: Nobody decided in time; the request timed out.'],
    ['failed', ':warning: Granting failed: AccessDenied for &lt;!channel&gt; &amp; friends. Nothing is granted.'],
    [
      'expired',
      `:hourglass: Access of <@U0REQUESTER> to *sandbox-admin* expired at ${slackTime(ENDED_AT)} and was removed.`,
    ],
    ['revoked', ':no_entry_sign: Access of <@U0REQUESTER> to *sandbox-admin* was revoked by <@U0SECOPS> and removed.'],
  ])('%s → %j', (kind, expected) => {
    expect(threadReply(kind, request)).toBe(expected);
  });

  it.each<NoticeKind>(['requested', 'refresh'])('adds nothing to the thread for %s', (kind) => {
    expect(threadReply(kind, request)).toBeUndefined();
  });

  it('adds nothing for approval-recorded without an approval', () => {
    expect(threadReply('approval-recorded', makeRequest())).toBeUndefined();
  });

  it('names the latest approver', () => {
    const twice = makeRequest({
      approvals: [
        { userId: 'U0A', at: T0 + 1 },
        { userId: 'U0B', at: T0 + 2 },
      ],
    });
    expect(threadReply('approval-recorded', twice)).toBe(
      ':ballot_box_with_check: <@U0B> approved; more approvals needed.',
    );
  });

  it('names system actors in words', () => {
    expect(threadReply('approved', makeRequest({ decidedBy: SYSTEM_ACTORS.autoApprove }))).toBe(
      ':white_check_mark: Approved by the policy (auto-approved); granting access.',
    );
    expect(threadReply('revoked', makeRequest({ endedBy: SYSTEM_ACTORS.expiry }))).toContain('revoked by expiry');
  });
});

describe('an approval both shortened and scheduled', () => {
  const both = makeRequest({
    approvals: [{ userId: 'U0LEAD', at: T0 + MINUTE, durationMs: 30 * MINUTE }],
    decidedBy: 'U0LEAD',
    durationMs: 30 * MINUTE,
    requestedDurationMs: 2 * HOUR,
    startsAt: T0 + HOUR,
  });

  it('says both: for how long instead of what was asked, and when access starts', () => {
    for (const text of [threadReply('approved', both), requesterMessage('approved', both)]) {
      expect(text).toContain('for 30m instead of 2h by <@U0LEAD>');
      expect(text).toContain(`access starts ${slackTime(T0 + HOUR)}`);
    }
  });
});

describe('requesterMessage', () => {
  it('tells the requester when access is active until, in UTC as a fallback, and how to end it', () => {
    const message = requesterMessage('activated', request);
    expect(message).toBe(
      `:large_green_circle: Your access to *sandbox-admin* is active until ${slackTime(EXPIRES_AT)} (1h). Request \`k7m2xq9d\`; extend it or end it early (*I'm done*) in the bot's Home tab, or with \`/jit revoke k7m2xq9d\`.`,
    );
    expect(message).toContain('active until');
    expect(message).toContain('UTC');
    expect(message).toContain('2026-03-10 10:06 UTC');
  });

  it("adds the provider's instructions for using the access, on their own line", () => {
    const instructions = 'Assume it with `aws sts assume-role --role-arn arn:aws:iam::111122223333:role/Deployer`';
    const message = requesterMessage(
      'activated',
      makeRequest({
        ...request,
        grant: { provider: 'aws', target: {}, identities: {}, instructions },
      }),
    );
    expect(message?.split('\n')).toEqual([expect.stringContaining('is active until'), instructions]);
  });

  it.each<[NoticeKind, string]>([
    ['denied', ':x: Your request `k7m2xq9d` for *sandbox-admin* was denied by <@U0LEAD>.'],
    [
      'timed-out',
      ':alarm_clock: Your request `k7m2xq9d` for *sandbox-admin* timed out: no approver decided in time. Ask again with `/jit request sandbox-admin 1h <reason>`.',
    ],
    [
      'failed',
      ':warning: Your request `k7m2xq9d` for *sandbox-admin* was approved, but granting failed: AccessDenied for &lt;!channel&gt; &amp; friends. Nothing is granted; the approvers were told.',
    ],
    ['expired', ':hourglass: Your access to *sandbox-admin* has expired and was removed (request `k7m2xq9d`).'],
    [
      'revoked',
      ':no_entry_sign: Your access to *sandbox-admin* was revoked by <@U0SECOPS> and removed (request `k7m2xq9d`).',
    ],
  ])('%s → %j', (kind, expected) => {
    expect(requesterMessage(kind, request)).toBe(expected);
  });

  it('says "you ended" when the requester revoked their own access', () => {
    expect(requesterMessage('revoked', makeRequest({ endedBy: 'U0REQUESTER' }))).toBe(
      ':no_entry_sign: You ended your access to *sandbox-admin*; it was removed (request `k7m2xq9d`).',
    );
  });

  it.each<NoticeKind>(['requested', 'refresh', 'approval-recorded', 'approved', 'cancelled'])(
    'stays quiet for %s',
    (kind) => {
      expect(requesterMessage(kind, request)).toBeUndefined();
    },
  );
});

describe('auditLine', () => {
  const REMINDERS_AND_REDRAWS = ['refresh', 'approval-reminder', 'expiry-reminder'];
  it.each(NOTICE_KINDS.filter((kind) => !REMINDERS_AND_REDRAWS.includes(kind)))(
    'records %s with who and which role',
    (kind) => {
      // The line names the event only: by the time a deferred notice is sent the request may have moved on.
      expect(auditLine(kind, makeRequest({ state: 'active' }))).toBe(
        `\`k7m2xq9d\` <@U0REQUESTER> · *sandbox-admin* · ${kind}`,
      );
    },
  );

  it('records nothing for a refresh', () => {
    expect(auditLine('refresh', request)).toBeUndefined();
  });
});
