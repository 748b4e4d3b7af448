import type { KnownBlock } from '@slack/types';
import type { AccessRequest, RequestState } from '../../../../src/domain/access-request';
import { SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import { approvalMessage, stateLine } from '../../../../src/slack/blocks/approval-message';
import { slackTime } from '../../../../src/slack/blocks/format';
import { ACTION_IDS } from '../../../../src/slack/ids';
import { HOUR, MINUTE, makeRequest, makeRole, T0 } from '../../fixtures';

const DECIDED_AT = T0 + 5 * MINUTE;
const ACTIVATED_AT = T0 + 6 * MINUTE;
const EXPIRES_AT = ACTIVATED_AT + HOUR;
const ENDED_AT = T0 + 30 * MINUTE;

const approvedBy = { approvals: [{ userId: 'U0LEAD', at: DECIDED_AT }], decidedBy: 'U0LEAD', decidedAt: DECIDED_AT };

/** A realistic request in each state, as the service would have stored it. */
const IN_STATE: Record<Exclude<RequestState, 'pending'>, AccessRequest> = {
  approved: makeRequest({ state: 'approved', ...approvedBy }),
  active: makeRequest({ state: 'active', ...approvedBy, activatedAt: ACTIVATED_AT, expiresAt: EXPIRES_AT }),
  expired: makeRequest({
    state: 'expired',
    ...approvedBy,
    expiresAt: EXPIRES_AT,
    endedAt: EXPIRES_AT,
    endedBy: SYSTEM_ACTORS.expiry,
  }),
  revoked: makeRequest({ state: 'revoked', ...approvedBy, endedAt: ENDED_AT, endedBy: 'U0REQUESTER' }),
  denied: makeRequest({ state: 'denied', decidedBy: 'U0LEAD', decidedAt: DECIDED_AT }),
  cancelled: makeRequest({ state: 'cancelled', updatedAt: ENDED_AT }),
  'timed-out': makeRequest({
    state: 'timed-out',
    decidedBy: SYSTEM_ACTORS.approvalTimeout,
    decidedAt: ENDED_AT,
    updatedAt: ENDED_AT,
  }),
  failed: makeRequest({ state: 'failed', ...approvedBy, failureReason: 'AccessDenied <!here> & co' }),
  applied: makeRequest({
    state: 'applied',
    ...approvedBy,
    extends: 'a1b2c3d4',
    activatedAt: ACTIVATED_AT,
    expiresAt: EXPIRES_AT,
  }),
};

const EXPECTED_STATE_LINES: Record<Exclude<RequestState, 'pending'>, string> = {
  approved: ':white_check_mark: Approved by <@U0LEAD> — granting access…',
  active: `:large_green_circle: Approved by <@U0LEAD> · *active until ${slackTime(EXPIRES_AT)}*`,
  expired: `:hourglass: Approved by <@U0LEAD> · expired at ${slackTime(EXPIRES_AT)}; access removed`,
  revoked: `:no_entry_sign: Approved by <@U0LEAD> · revoked by <@U0REQUESTER> at ${slackTime(ENDED_AT)}; access removed`,
  denied: `:x: Denied by <@U0LEAD> at ${slackTime(DECIDED_AT)}`,
  cancelled: `:heavy_minus_sign: Cancelled by the requester at ${slackTime(ENDED_AT)}`,
  'timed-out': `:alarm_clock: Timed out at ${slackTime(ENDED_AT)}: nobody decided in time`,
  failed:
    ':warning: Approved by <@U0LEAD>, but granting failed: AccessDenied &lt;!here&gt; &amp; co. Nothing is granted.',
  applied: `:white_check_mark: Approved by <@U0LEAD> · extension applied; access now lasts until ${slackTime(EXPIRES_AT)}`,
};

function blocksOfType<T extends KnownBlock['type']>(blocks: KnownBlock[], type: T): Extract<KnownBlock, { type: T }>[] {
  return blocks.filter((block): block is Extract<KnownBlock, { type: T }> => block.type === type);
}

function lastSectionText(blocks: KnownBlock[]): string | undefined {
  const section = blocksOfType(blocks, 'section').at(-1);
  return section?.text?.text;
}

describe('approvalMessage', () => {
  describe('while pending', () => {
    const request = makeRequest();
    const message = approvalMessage(request, makeRole());

    it('offers Approve and Deny buttons carrying only the request ID', () => {
      const [actions, ...more] = blocksOfType(message.blocks, 'actions');
      expect(more).toEqual([]);
      expect(actions?.block_id).toBe(`decide-${request.id}`);
      expect(actions?.elements).toEqual([
        expect.objectContaining({
          type: 'button',
          action_id: ACTION_IDS.approve,
          value: 'k7m2xq9d',
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
        }),
        expect.objectContaining({
          type: 'button',
          action_id: ACTION_IDS.deny,
          value: 'k7m2xq9d',
          style: 'danger',
          text: { type: 'plain_text', text: 'Deny' },
        }),
      ]);
      expect([ACTION_IDS.approve, ACTION_IDS.deny]).toEqual(['jit_approve', 'jit_deny']);
    });

    it('says who asks for what, for how long, and why', () => {
      expect(message.blocks[0]).toEqual({
        type: 'section',
        text: { type: 'mrkdwn', text: ':key: <@U0REQUESTER> asks for *sandbox-admin* for *1h*' },
      });
      expect(message.blocks[1]).toEqual({
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Role*\n*sandbox-admin* — Admin on the sandbox account (dryrun)' },
          { type: 'mrkdwn', text: '*Duration*\n1h from activation' },
          { type: 'mrkdwn', text: '*Request*\n`k7m2xq9d`' },
          { type: 'mrkdwn', text: `*Requested*\n${slackTime(T0)}` },
        ],
      });
      expect(message.blocks[2]).toEqual({
        type: 'section',
        text: { type: 'mrkdwn', text: '*Reason*\n>debugging INC-42' },
      });
      expect(message.text).toBe('<@U0REQUESTER> asks for sandbox-admin for 1h (k7m2xq9d): waiting for approval');
    });

    it('says one approval is needed and when it times out', () => {
      const [context] = blocksOfType(message.blocks, 'context');
      expect(context?.elements).toEqual([
        {
          type: 'mrkdwn',
          text: `:hourglass_flowing_sand: Pending · Needs 1 approval · times out ${slackTime(T0 + 30 * MINUTE)}`,
        },
      ]);
    });

    it('shows N-of-M progress with who approved so far', () => {
      const role = makeRole({ approvalsRequired: 2, approvers: { users: ['U0A', 'U0B'], usergroups: [] } });
      const none = approvalMessage(makeRequest(), role);
      const one = approvalMessage(makeRequest({ approvals: [{ userId: 'U0A', at: T0 + 1 }] }), role);
      const contextText = (blocks: KnownBlock[]) => JSON.stringify(blocksOfType(blocks, 'context'));
      expect(contextText(none.blocks)).toContain('Pending · 0 of 2 approvals · times out');
      expect(contextText(one.blocks)).toContain('Pending · 1 of 2 approvals (<@U0A>) · times out');
    });

    it('escapes the reason and keeps each of its lines quoted', () => {
      const hostile = approvalMessage(
        makeRequest({ reason: 'please <!channel>\nsee <https://evil.example|docs> & <@U0BOSS>' }),
        makeRole({ description: 'Admin <!here>' }),
      );
      const json = JSON.stringify(hostile.blocks);
      for (const raw of ['<!channel>', '<!here>', '<https://evil', '<@U0BOSS>', ' & ']) expect(json).not.toContain(raw);
      expect(hostile.blocks[2]).toEqual({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*Reason*\n>please &lt;!channel&gt;\n>see &lt;https://evil.example|docs&gt; &amp; &lt;@U0BOSS&gt;',
        },
      });
      expect(JSON.stringify(hostile.blocks[1])).toContain('Admin &lt;!here&gt;');
    });

    it('still renders when the role has left the policy', () => {
      const orphan = approvalMessage(makeRequest(), undefined);
      expect(JSON.stringify(orphan.blocks[1])).toContain('*sandbox-admin* (no longer in the policy)');
      expect(JSON.stringify(blocksOfType(orphan.blocks, 'context'))).toContain('Needs 1 approval');
      expect(blocksOfType(orphan.blocks, 'actions')).toHaveLength(1);
    });
  });

  describe.each(Object.entries(IN_STATE))('when %s', (state, request) => {
    const message = approvalMessage(request, makeRole());

    it('has no buttons and no pending line', () => {
      expect(blocksOfType(message.blocks, 'actions')).toEqual([]);
      expect(blocksOfType(message.blocks, 'context')).toEqual([]);
      expect(message.blocks).toHaveLength(4);
    });

    it('ends with the line saying what happened and who decided', () => {
      expect(lastSectionText(message.blocks)).toBe(EXPECTED_STATE_LINES[state as keyof typeof EXPECTED_STATE_LINES]);
    });

    it('names the state in the plain fallback', () => {
      const asks = request.extends !== undefined ? 'asks to extend sandbox-admin by' : 'asks for sandbox-admin for';
      expect(message.text).toBe(`<@U0REQUESTER> ${asks} 1h (k7m2xq9d): ${state}`);
    });
  });

  describe('for an extension', () => {
    const request = makeRequest({ extends: 'a1b2c3d4', durationMs: 30 * MINUTE });
    const message = approvalMessage(request, makeRole());

    it('says which grant it lengthens and by how much', () => {
      expect(JSON.stringify(message.blocks)).toContain('asks to extend *sandbox-admin* by *30m*');
      expect(JSON.stringify(message.blocks)).toContain('`a1b2c3d4`');
      expect(JSON.stringify(message.blocks)).toContain('+30m');
      expect(message.text).toContain('asks to extend sandbox-admin by 30m');
    });
  });

  it('shows the approver’s reason for a denial, escaped', () => {
    const denied = makeRequest({
      state: 'denied',
      decidedBy: 'U0LEAD',
      decidedAt: DECIDED_AT,
      denialReason: 'no <!here>',
    });
    expect(stateLine(denied)).toBe(`:x: Denied by <@U0LEAD> at ${slackTime(DECIDED_AT)}: no &lt;!here&gt;`);
  });
});

describe('stateLine', () => {
  it('names the policy as approver of an auto-approved request', () => {
    const request = makeRequest({ state: 'approved', decidedBy: SYSTEM_ACTORS.autoApprove, decidedAt: DECIDED_AT });
    expect(stateLine(request)).toBe(
      `:white_check_mark: Approved by the policy (auto-approved) at ${slackTime(DECIDED_AT)} — granting access…`,
    );
  });

  it('lists every approver of an N-of-M approval', () => {
    const request = makeRequest({
      ...IN_STATE.active,
      approvals: [
        { userId: 'U0A', at: T0 + 1 },
        { userId: 'U0B', at: T0 + 2 },
      ],
    });
    expect(stateLine(request)).toMatch(/^:large_green_circle: Approved by <@U0A>, <@U0B> · /);
  });

  it('mentions a requested early revocation of active access', () => {
    const request = makeRequest({ ...IN_STATE.active, revocationRequestedBy: 'U0REQUESTER' });
    expect(stateLine(request)).toBe(`${EXPECTED_STATE_LINES.active} · revocation requested by <@U0REQUESTER>`);
  });

  it('says unknown rather than inventing a decider', () => {
    expect(stateLine(makeRequest({ state: 'denied' }))).toBe(':x: Denied by unknown');
    expect(stateLine(makeRequest({ state: 'failed', ...approvedBy }))).toContain('granting failed: unknown error.');
  });

  it('is a short pending line for pending requests', () => {
    expect(stateLine(makeRequest())).toBe(':hourglass_flowing_sand: Pending');
  });
});

describe('approvalMessage within Slack limits', () => {
  it('fits a reason that escaping makes five times longer, and long policy and cloud texts, in their sections', () => {
    const role = makeRole({ description: 'd'.repeat(5000) });
    const request = makeRequest({ reason: '&'.repeat(1000) });
    const sections = (blocks: KnownBlock[]) =>
      blocks.flatMap((block) =>
        block.type === 'section' ? [block.text?.text ?? '', ...(block.fields ?? []).map((field) => field.text)] : [],
      );
    const pending = approvalMessage(request, role).blocks;
    // docs.slack.dev/reference/block-kit/blocks/section-block: text ≤ 3000, each field ≤ 2000.
    for (const text of sections(pending)) expect(text.length).toBeLessThanOrEqual(3000);
    const fields = pending.flatMap((block) => (block.type === 'section' ? (block.fields ?? []) : []));
    for (const field of fields) expect(field.text.length).toBeLessThanOrEqual(2000);
    expect(JSON.stringify(pending)).toContain('&amp;&amp;');
    const failed = approvalMessage(
      makeRequest({ state: 'failed', failureReason: '<'.repeat(5000), reason: '>'.repeat(1000) }),
      role,
    ).blocks;
    for (const text of sections(failed)) expect(text.length).toBeLessThanOrEqual(3000);
  });
});
