import type { ExternalSelect, InputBlock, KnownBlock, StaticSelect } from '@slack/types';
import { durationChoices } from '../../../../src/slack/blocks/duration-choices';
import { requestModal, requestSentView } from '../../../../src/slack/blocks/request-modal';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../../../../src/slack/ids';
import { HOUR, MINUTE, makeRequest, makeRole } from '../../fixtures';
import { viewLimitProblems } from './view-limits';

const ROLES = [
  makeRole({ id: 'sandbox-admin', provider: 'aws', maxDurationMs: 4 * HOUR, defaultDurationMs: HOUR }),
  makeRole({ id: 'prod-read', provider: 'gcp', maxDurationMs: 2 * HOUR, defaultDurationMs: 30 * MINUTE }),
  makeRole({ id: 'rehearsal', provider: 'dryrun', maxDurationMs: 8 * HOUR, defaultDurationMs: HOUR }),
  makeRole({ id: 'ticketed', provider: 'aws', ticketPattern: 'INC-[0-9]+' }),
];

/** `count` roles alternating between Azure and AWS, with descriptions far past Slack's 75 per option. */
const manyRoles = (count: number) =>
  Array.from({ length: count }, (_, index) =>
    makeRole({
      id: `role-${index}`,
      description: 'x'.repeat(300),
      provider: index % 2 ? 'aws' : 'azure',
      maxDurationMs: HOUR,
    }),
  );

function input(blocks: KnownBlock[], blockId: string): InputBlock {
  const block = blocks.find((candidate) => candidate.block_id === blockId);
  if (block?.type !== 'input') throw new Error(`no input block ${blockId}`);
  return block;
}
const select = (blocks: KnownBlock[], blockId: string) => input(blocks, blockId).element as StaticSelect;
const values = (menu: StaticSelect) => (menu.options ?? []).map((option) => option.value);

describe('durationChoices', () => {
  it('offers the usual durations within the bounds, the maximum itself, and preselects the preferred one', () => {
    expect(durationChoices(90 * MINUTE, MINUTE, HOUR)).toEqual({
      options: [15 * MINUTE, 30 * MINUTE, HOUR, 90 * MINUTE],
      initialMs: HOUR,
    });
  });

  it('adds a preferred duration that is not on the ladder, and falls back to the nearest shorter one', () => {
    expect(durationChoices(4 * HOUR, MINUTE, 45 * MINUTE).options).toContain(45 * MINUTE);
    expect(durationChoices(4 * HOUR, MINUTE, 45 * MINUTE).initialMs).toBe(45 * MINUTE);
    expect(durationChoices(2 * HOUR, MINUTE, 5 * HOUR).initialMs).toBe(2 * HOUR);
    expect(durationChoices(2 * HOUR, 20 * MINUTE, 10 * MINUTE).initialMs).toBe(30 * MINUTE);
  });

  it('offers only the maximum when it is below the ladder', () => {
    expect(durationChoices(5 * MINUTE, MINUTE, 5 * MINUTE)).toEqual({ options: [5 * MINUTE], initialMs: 5 * MINUTE });
  });
});

describe('requestModal', () => {
  it('groups the roles by cloud in policy order, with their descriptions', () => {
    const view = requestModal({ roles: ROLES, minDurationMs: MINUTE });
    expect(view.callback_id).toBe(VIEW_IDS.request);
    const menu = select(view.blocks as KnownBlock[], INPUT_IDS.role);
    expect(menu.action_id).toBe(ACTION_IDS.pickRole);
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.role).dispatch_action).toBe(true);
    expect(menu.option_groups?.map((group) => group.label.text)).toEqual(['AWS', 'Google Cloud', 'Dry run (no cloud)']);
    expect(menu.option_groups?.[0]?.options.map((option) => option.value)).toEqual(['sandbox-admin', 'ticketed']);
    expect(menu.option_groups?.[0]?.options[0]?.description?.text).toBe('Admin on the sandbox account');
    expect(menu.initial_option).toBeUndefined();
  });

  it('bounds the duration menu by the chosen role and preselects its default', () => {
    const view = requestModal({ roles: ROLES, minDurationMs: MINUTE, selectedRoleId: 'prod-read' });
    const durations = select(view.blocks as KnownBlock[], INPUT_IDS.duration);
    expect(values(durations)).toEqual(['15m', '30m', '1h', '2h']);
    expect(durations.initial_option?.value).toBe('30m');
    expect(select(view.blocks as KnownBlock[], INPUT_IDS.role).initial_option?.value).toBe('prod-read');
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.duration).hint?.text).toBe('At most 2h for prod-read.');
  });

  it('before a role is chosen offers up to the longest maximum and asks to choose a role first', () => {
    const view = requestModal({ roles: ROLES, minDurationMs: MINUTE });
    const durations = select(view.blocks as KnownBlock[], INPUT_IDS.duration);
    expect(values(durations).at(-1)).toBe('8h');
    expect(durations.initial_option).toBeUndefined();
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.duration).hint?.text).toContain('Choose a role first');
  });

  it('prefills what was typed: the duration when it fits the role, and the reason', () => {
    const view = requestModal({
      roles: ROLES,
      minDurationMs: MINUTE,
      selectedRoleId: 'sandbox-admin',
      duration: '90m',
      reason: 'fix <!channel>',
      note: 'Say why you need it.',
    });
    const blocks = view.blocks as KnownBlock[];
    expect(select(blocks, INPUT_IDS.duration).initial_option?.value).toBe('1h30m');
    const reason = input(blocks, INPUT_IDS.reason).element as { initial_value?: string; max_length?: number };
    expect(reason.initial_value).toBe('fix <!channel>');
    expect(reason.max_length).toBe(1000);
    expect(JSON.stringify(blocks[0])).toContain('Say why you need it.');
    // A typed duration above the role's maximum is not preselected: the default is.
    const tooLong = requestModal({ roles: ROLES, minDurationMs: MINUTE, selectedRoleId: 'prod-read', duration: '5h' });
    expect(select(tooLong.blocks as KnownBlock[], INPUT_IDS.duration).initial_option?.value).toBe('30m');
  });

  it('names the ticket format when the chosen role needs one', () => {
    const view = requestModal({ roles: ROLES, minDurationMs: MINUTE, selectedRoleId: 'ticketed' });
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.reason).hint?.text).toContain('INC-[0-9]+');
    const plain = requestModal({ roles: ROLES, minDurationMs: MINUTE, selectedRoleId: 'sandbox-admin' });
    expect(input(plain.blocks as KnownBlock[], INPUT_IDS.reason).hint).toBeUndefined();
  });

  it('keeps a static menu of every role, grouped, while they fit in one (100 options across groups)', () => {
    const hundred = manyRoles(100);
    const view = requestModal({ roles: hundred, minDurationMs: MINUTE, selectedRoleId: 'role-99' });
    expect(viewLimitProblems(view)).toEqual([]);
    const menu = select(view.blocks as KnownBlock[], INPUT_IDS.role);
    expect(menu.type).toBe('static_select');
    expect(menu.option_groups?.map((group) => group.label.text)).toEqual(['Azure', 'AWS']);
    expect(menu.option_groups?.flatMap((group) => group.options.map((option) => option.value))).toHaveLength(100);
    expect(menu.initial_option?.value).toBe('role-99');
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.role).hint).toBeUndefined();
  });

  it('past 100 roles asks Slack to load them as the person types, and keeps the picked one and its limits', () => {
    const many = manyRoles(101);
    const view = requestModal({ roles: many, minDurationMs: MINUTE, selectedRoleId: 'role-100' });
    expect(viewLimitProblems(view)).toEqual([]);
    const block = input(view.blocks as KnownBlock[], INPUT_IDS.role);
    const menu = block.element as ExternalSelect;
    expect(menu).toMatchObject({ type: 'external_select', action_id: ACTION_IDS.pickRole, min_query_length: 0 });
    expect(menu).not.toHaveProperty('options');
    expect(menu).not.toHaveProperty('option_groups');
    expect(menu.initial_option?.value).toBe('role-100');
    expect(menu.initial_option?.text.text.length).toBeLessThanOrEqual(75);
    expect(menu.initial_option?.description?.text.length).toBeLessThanOrEqual(75);
    expect(block.dispatch_action).toBe(true);
    expect(block.hint?.text).toContain('101 roles: type part of');
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.duration).hint?.text).toBe('At most 1h for role-100.');
  });

  it('stays within Slack limits with long policy texts and a long note', () => {
    const long = [makeRole({ id: 'ticketed', ticketPattern: `INC-${'[0-9]'.repeat(800)}` })];
    const view = requestModal({
      roles: long,
      minDurationMs: MINUTE,
      selectedRoleId: 'ticketed',
      note: '&'.repeat(3000),
    });
    expect(viewLimitProblems(view)).toEqual([]);
    expect(input(view.blocks as KnownBlock[], INPUT_IDS.reason).hint?.text.length).toBeLessThanOrEqual(2000);
    const note = JSON.stringify(view.blocks[0]);
    expect(note).toContain('&amp;');
    expect(note.length).toBeLessThan(2200);
  });

  it('says plainly when there is no role to request, with nothing to submit', () => {
    const view = requestModal({ roles: [], minDurationMs: MINUTE });
    expect(view.submit).toBeUndefined();
    expect(JSON.stringify(view.blocks)).toContain('no roles you may request');
  });
});

describe('requestSentView', () => {
  it('names the request, where approvers decide, and how to follow it', () => {
    const view = requestSentView(makeRequest(), makeRole());
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('`k7m2xq9d`');
    expect(text).toContain('<#C0APPROVALS>');
    expect(text).toContain('/jit status k7m2xq9d');
    expect(view.submit).toBeUndefined();
  });

  it('says an auto-approved request is being granted', () => {
    const view = requestSentView(makeRequest({ state: 'approved' }), makeRole({ autoApprove: true }));
    expect(JSON.stringify(view.blocks)).toContain('approved at once');
  });
});
