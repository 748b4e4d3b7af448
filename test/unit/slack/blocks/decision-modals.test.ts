import type { InputBlock, KnownBlock, StaticSelect } from '@slack/types';
import { denyModal, extendModal } from '../../../../src/slack/blocks/decision-modals';
import { approvalReminder, expiryReminder } from '../../../../src/slack/blocks/reminders';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../../../../src/slack/ids';
import { HOUR, MINUTE, makeRequest, makeRole, T0 } from '../../fixtures';
import { viewLimitProblems } from './view-limits';

const input = (blocks: KnownBlock[], blockId: string) =>
  blocks.find((block): block is InputBlock => block.type === 'input' && block.block_id === blockId);

describe('denyModal', () => {
  it('asks for an optional reason and carries the metadata it was given', () => {
    const view = denyModal(makeRequest({ reason: 'fix <!here>' }), '{"requestId":"k7m2xq9d"}');
    expect(view.callback_id).toBe(VIEW_IDS.deny);
    expect(view.private_metadata).toBe('{"requestId":"k7m2xq9d"}');
    const reason = input(view.blocks as KnownBlock[], INPUT_IDS.reason);
    expect(reason?.optional).toBe(true);
    expect(reason?.hint?.text).toBe('The requester sees it.');
    expect(JSON.stringify(view.blocks)).toContain('fix &lt;!here&gt;');
    expect(viewLimitProblems(view)).toEqual([]);
  });
});

describe('extendModal', () => {
  const request = makeRequest({ state: 'active', activatedAt: T0, expiresAt: T0 + HOUR });
  const base = { request, maxExtraMs: 3 * HOUR, minDurationMs: MINUTE, privateMetadata: '{}' };

  it('with approval: offers extra time up to what is left of the maximum and asks why', () => {
    const view = extendModal({ ...base, role: makeRole(), needsApproval: true });
    expect(view.callback_id).toBe(VIEW_IDS.extend);
    expect(view.submit?.text).toBe('Ask approvers');
    const menu = input(view.blocks as KnownBlock[], INPUT_IDS.duration)?.element as StaticSelect;
    expect(menu.options?.map((option) => option.value)).toEqual(['15m', '30m', '1h', '2h', '3h']);
    expect(menu.initial_option?.value).toBe('1h');
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.reason)?.optional).toBe(true);
    expect(JSON.stringify(view.blocks)).toContain('must approve the extension');
  });

  it('without approval: no reason field, and says the new expiry applies at once', () => {
    const view = extendModal({
      ...base,
      role: makeRole({ selfExtend: true }),
      needsApproval: false,
      maxExtraMs: 20 * MINUTE,
    });
    expect(view.submit?.text).toBe('Extend');
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.reason)).toBeUndefined();
    const menu = input(view.blocks as KnownBlock[], INPUT_IDS.duration)?.element as StaticSelect;
    expect(menu.options?.map((option) => option.value)).toEqual(['15m', '20m']);
    expect(menu.initial_option?.value).toBe('20m');
    expect(JSON.stringify(view.blocks)).toContain('applies at once');
  });
});

describe('reminders', () => {
  it('the expiry reminder says how long is left, with Extend and I’m done', () => {
    const request = makeRequest({ state: 'active', activatedAt: T0, expiresAt: T0 + HOUR });
    const message = expiryReminder(request, makeRole(), T0 + 50 * MINUTE);
    expect(message.text).toBe(':hourglass_flowing_sand: Your access to sandbox-admin ends in 10m (request k7m2xq9d).');
    const actions = message.blocks.flatMap((block) => (block.type === 'actions' ? block.elements : []));
    expect(actions.map((element) => `${element.action_id}:${'value' in element ? element.value : ''}`)).toEqual([
      `${ACTION_IDS.extend}:k7m2xq9d`,
      `${ACTION_IDS.done}:k7m2xq9d`,
    ]);
    expect(JSON.stringify(message.blocks)).toContain('needs an approver');
    expect(JSON.stringify(expiryReminder(request, makeRole({ selfExtend: true }), T0).blocks)).toContain(
      'extend it yourself',
    );
  });

  it('the approval reminder names the approvers who have not acted, and the groups', () => {
    const role = makeRole({
      approvers: { users: ['U0LEAD', 'U0SEC', 'U0REQUESTER'], usergroups: ['S0ONCALL'] },
      approvalsRequired: 2,
    });
    const request = makeRequest({ approvals: [{ userId: 'U0LEAD', at: T0 + MINUTE }] });
    const text = approvalReminder(request, role);
    expect(text).toMatch(/^:bell: <@U0SEC> <!subteam\^S0ONCALL>: request `k7m2xq9d` from <@U0REQUESTER>/);
    expect(text).toContain('still needs 1 approval;');
    expect(text).not.toContain('<@U0LEAD>');
  });
});
