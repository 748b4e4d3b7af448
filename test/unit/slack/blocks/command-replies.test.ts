import {
  auditDeliveryFailedText,
  auditSummaryText,
  helpText,
  listText,
  requestConfirmationText,
  rolesText,
  statusText,
} from '../../../../src/slack/blocks/command-replies';
import { slackTime } from '../../../../src/slack/blocks/format';
import { HOUR, MINUTE, makeRequest, makeRole, T0 } from '../../fixtures';

describe('helpText', () => {
  it('documents every subcommand', () => {
    const text = helpText();
    for (const usage of [
      '`/jit request <role> <duration> <reason>`',
      '`/jit roles`',
      '`/jit list`',
      '`/jit status <id>`',
      '`/jit cancel <id>`',
      '`/jit revoke <id>`',
      '`/jit help`',
    ]) {
      expect(text).toContain(usage);
    }
  });
});

describe('rolesText', () => {
  it('says so when there is nothing to request', () => {
    expect(rolesText([])).toBe('There are no roles you may request. Ask your platform team to add you to a role.');
  });

  it('lists each role with its limits and approval rule, description escaped', () => {
    const text = rolesText([
      makeRole({ description: 'Admin <!channel> & more' }),
      makeRole({ id: 'prod-db-read', approvalsRequired: 2, maxDurationMs: 2 * HOUR, defaultDurationMs: 30 * MINUTE }),
      makeRole({ id: 'staging-deployer', autoApprove: true, maxDurationMs: 8 * HOUR, defaultDurationMs: 2 * HOUR }),
    ]);
    expect(text.split('\n')).toEqual([
      '*Roles you may request* (`/jit request <role> <duration> <reason>`)',
      '• *sandbox-admin* — Admin &lt;!channel&gt; &amp; more (dryrun; up to 4h, default 1h; 1 approval)',
      '• *prod-db-read* — Admin on the sandbox account (dryrun; up to 2h, default 30m; 2 approvals)',
      '• *staging-deployer* — Admin on the sandbox account (dryrun; up to 8h, default 2h; auto-approved)',
    ]);
  });
});

describe('listText', () => {
  const now = T0 + 10 * MINUTE;

  it('says so when nothing is open', () => {
    expect(listText([], now)).toBe('You have no pending or active requests. `/jit roles` shows what you may request.');
  });

  it('names an extension by the grant it lengthens', () => {
    const extension = makeRequest({ id: 'ext00001', extends: 'k7m2xq9d', durationMs: 30 * MINUTE });
    expect(listText([extension], now)).toContain(
      '• `ext00001` extension of `k7m2xq9d` (*sandbox-admin*) — pending approval for 30m',
    );
  });

  it('shows what each open request waits for or how long it has left', () => {
    const text = listText(
      [
        makeRequest({ id: 'aaaaaaaa', state: 'active', expiresAt: now + 45 * MINUTE }),
        makeRequest({ id: 'bbbbbbbb', state: 'active', expiresAt: now + HOUR, revocationRequestedBy: 'U0REQUESTER' }),
        makeRequest({ id: 'cccccccc', state: 'approved' }),
        makeRequest({ id: 'dddddddd', roleId: 'prod-db-read', durationMs: 2 * HOUR }),
      ],
      now,
    );
    expect(text.split('\n')).toEqual([
      '*Your open requests*',
      `• \`aaaaaaaa\` *sandbox-admin* — active, 45m left (until ${slackTime(now + 45 * MINUTE, now)})`,
      `• \`bbbbbbbb\` *sandbox-admin* — active, 1h left (until ${slackTime(now + HOUR, now)}), being revoked`,
      '• `cccccccc` *sandbox-admin* — approved, access being granted',
      `• \`dddddddd\` *prod-db-read* — pending approval for 2h, times out ${slackTime(T0 + 30 * MINUTE, now)}`,
    ]);
    expect(text).toContain('|09:55 UTC>');
  });
});

describe('statusText', () => {
  const now = T0 + 20 * MINUTE;

  it('shows the request, the reason escaped, the state and the time left', () => {
    const request = makeRequest({
      state: 'active',
      reason: 'fix <!here> & <https://x|y>',
      approvals: [{ userId: 'U0LEAD', at: T0 + MINUTE }],
      decidedBy: 'U0LEAD',
      decidedAt: T0 + MINUTE,
      expiresAt: T0 + 62 * MINUTE,
    });
    const text = statusText({ request, role: makeRole(), approvalMessage: undefined }, now);
    expect(text.split('\n')).toEqual([
      `*Request \`k7m2xq9d\`*: <@U0REQUESTER> asked for *sandbox-admin* (Admin on the sandbox account) for 1h at ${slackTime(T0, now)}`,
      '*Reason*: fix &lt;!here&gt; &amp; &lt;https://x|y&gt;',
      `*State*: active — :large_green_circle: Approved by <@U0LEAD> · *active until ${slackTime(T0 + 62 * MINUTE)}*`,
      '*Time left*: 42m',
    ]);
  });

  it('leaves out the description of a removed role and the time left of inactive requests', () => {
    const text = statusText({ request: makeRequest(), role: undefined, approvalMessage: undefined }, now);
    expect(text.split('\n')[0]).toBe(
      `*Request \`k7m2xq9d\`*: <@U0REQUESTER> asked for *sandbox-admin* for 1h at ${slackTime(T0, now)}`,
    );
    expect(text).not.toContain('Time left');
    expect(text).toContain('*State*: pending — :hourglass_flowing_sand: Pending');
  });
});

describe('requestConfirmationText', () => {
  it('says where a pending request waits and how to withdraw it', () => {
    expect(requestConfirmationText(makeRequest(), makeRole())).toBe(
      ':inbox_tray: Request `k7m2xq9d` for *sandbox-admin* (1h) is filed. It waits for an approver in <#C0APPROVALS>; you will get a DM when it is decided. Withdraw it with `/jit cancel k7m2xq9d`.',
    );
  });

  it('counts approvers for an N-of-M role', () => {
    expect(requestConfirmationText(makeRequest(), makeRole({ approvalsRequired: 3 }))).toContain(
      'It waits for 3 approvers in <#C0APPROVALS>',
    );
  });

  it('says an auto-approved request needs nobody', () => {
    expect(requestConfirmationText(makeRequest({ state: 'approved' }), makeRole({ autoApprove: true }))).toBe(
      ':inbox_tray: Request `k7m2xq9d` for *sandbox-admin* (1h) is filed. The role is auto-approved; you will get a DM as soon as access is active.',
    );
  });
});

describe('audit replies', () => {
  const since = T0 - 7 * 24 * HOUR;

  it('help mentions /jit audit as an admin command', () => {
    expect(helpText()).toContain('`/jit audit [since] [id]` — admins:');
  });

  it('counts the entries and says where the file goes', () => {
    expect(
      auditSummaryText({ sinceMs: since, entries: [{ at: T0 }, { at: T0 }], truncated: false }, undefined, T0),
    ).toBe(`:ledger: 2 audit entries since ${slackTime(since, T0)}: the CSV is on its way to your DM.`);
    expect(auditSummaryText({ sinceMs: since, entries: [{ at: T0 }], truncated: false }, 'k7m2xq9d', T0)).toBe(
      `:ledger: 1 audit entry since ${slackTime(since, T0)} about \`k7m2xq9d\`: the CSV is on its way to your DM.`,
    );
  });

  it('says when there is nothing to send', () => {
    expect(auditSummaryText({ sinceMs: since, entries: [], truncated: false }, undefined, T0)).toBe(
      `:ledger: There are no audit entries since ${slackTime(since, T0)}; there is nothing to send.`,
    );
  });

  it('says how to get the rest of a truncated export', () => {
    const text = auditSummaryText({ sinceMs: since, entries: [{ at: T0 - HOUR }], truncated: true }, undefined, T0);
    expect(text).toContain(`as many as one export carries, up to ${slackTime(T0 - HOUR, T0)}`);
    expect(text).toContain(`\`/jit audit ${new Date(T0 - HOUR).toISOString()}\` or \`npm run audit\``);
  });

  it('says why a delivery failed', () => {
    expect(auditDeliveryFailedText('Slack refused it (`not_in_channel`)')).toBe(
      ':warning: Your audit export could not be delivered to your DM: Slack refused it (`not_in_channel`). Nothing was shared anywhere else.',
    );
  });
});

describe('replies with hundreds of items', () => {
  it('rolesText lists as many roles as fit 4,000 characters and counts the rest', () => {
    const roles = Array.from({ length: 300 }, (_, index) =>
      makeRole({ id: `role-${index}`, description: `${'&'.repeat(400)} ${index}` }),
    );
    const text = rolesText(roles);
    // docs.slack.dev/reference/methods/chat.postMessage: keep text within 4,000 characters.
    expect(text.length).toBeLessThanOrEqual(4000);
    const listed = text.split('\n').filter((line) => line.startsWith('• ')).length;
    expect(listed).toBeGreaterThan(0);
    expect(text.split('\n').at(-1)).toBe(
      `…and ${300 - listed} more: type part of a name or description in the form (\`/jit\`) to find one.`,
    );
  });

  it('rolesText lists every role when they fit, without a count', () => {
    const text = rolesText([makeRole({ id: 'a' }), makeRole({ id: 'b' })]);
    expect(text).not.toContain('more');
    expect(text.split('\n')).toHaveLength(3);
  });

  it('listText stays within 4,000 characters and points to the Home tab for the rest', () => {
    const now = T0 + MINUTE;
    const requests = Array.from({ length: 200 }, (_, index) =>
      makeRequest({ id: `req${String(index).padStart(5, '0')}` }),
    );
    const text = listText(requests, now);
    expect(text.length).toBeLessThanOrEqual(4000);
    const listed = text.split('\n').filter((line) => line.startsWith('• ')).length;
    expect(text).toContain(`…and ${200 - listed} more: the bot's Home tab lists them with buttons.`);
  });
});
