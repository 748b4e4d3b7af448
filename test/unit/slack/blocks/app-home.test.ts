import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../../../../src/domain/access-request';
import type { OverviewItem, PersonalOverview } from '../../../../src/domain/ports';
import { appHomeView } from '../../../../src/slack/blocks/app-home';
import { ACTION_IDS } from '../../../../src/slack/ids';
import { HOUR, MINUTE, makeRequest, makeRole, T0 } from '../../fixtures';
import { viewLimitProblems } from './view-limits';

const NOW = T0 + 10 * MINUTE;
const role = makeRole();
const item = (request: AccessRequest, extra: Partial<OverviewItem> = {}): OverviewItem => ({ request, role, ...extra });
const active = (id: string, overrides: Partial<AccessRequest> = {}) =>
  makeRequest({ id, state: 'active', activatedAt: T0, expiresAt: T0 + HOUR, ...overrides });

function overview(parts: Partial<PersonalOverview>): PersonalOverview {
  return { userId: 'U0REQUESTER', at: NOW, active: [], pending: [], awaitingDecision: [], ...parts };
}

/** Every button as `action_id:value`. */
function buttons(blocks: KnownBlock[]): string[] {
  return blocks
    .flatMap((block) => (block.type === 'actions' ? block.elements : []))
    .map((element) => `${element.action_id}:${'value' in element ? element.value : ''}`);
}

describe('appHomeView', () => {
  it('shows each active grant with the time left, Extend and I’m done (with a confirmation)', () => {
    const view = appHomeView(overview({ active: [item(active('grant0001'))] }));
    const blocks = view.blocks as KnownBlock[];
    expect(view.type).toBe('home');
    expect(buttons(blocks)).toEqual([
      `${ACTION_IDS.openRequestModal}:home`,
      `${ACTION_IDS.extend}:grant0001`,
      `${ACTION_IDS.done}:grant0001`,
    ]);
    const text = JSON.stringify(blocks);
    expect(text).toContain('50m left');
    expect(text).toContain('<!date^');
    const done = blocks
      .flatMap((block) => (block.type === 'actions' ? block.elements : []))
      .find((element) => element.action_id === ACTION_IDS.done);
    expect(done && 'confirm' in done && done.confirm?.confirm?.text).toBe('End it');
  });

  it('shows a pending extension instead of Extend, and no buttons on a grant that is ending', () => {
    const view = appHomeView(
      overview({
        active: [
          item(active('grant0001'), { pendingExtension: 'ext00001' }),
          item(active('grant0002', { revocationRequestedBy: 'U0REQUESTER' })),
        ],
      }),
    );
    const blocks = view.blocks as KnownBlock[];
    expect(buttons(blocks)).toEqual([`${ACTION_IDS.openRequestModal}:home`, `${ACTION_IDS.done}:grant0001`]);
    expect(JSON.stringify(blocks)).toContain('Extension `ext00001` is waiting for approval');
    expect(JSON.stringify(blocks)).toContain('Ending now');
  });

  it('lists pending requests with Cancel and progress, and extensions as such', () => {
    const view = appHomeView(
      overview({
        pending: [
          item(makeRequest({ id: 'pend0001' })),
          item(makeRequest({ id: 'ext00001', extends: 'grant0001', durationMs: 30 * MINUTE })),
          item(makeRequest({ id: 'appr0001', state: 'approved' })),
        ],
      }),
    );
    const blocks = view.blocks as KnownBlock[];
    expect(buttons(blocks)).toEqual([
      `${ACTION_IDS.openRequestModal}:home`,
      `${ACTION_IDS.cancel}:pend0001`,
      `${ACTION_IDS.cancel}:ext00001`,
    ]);
    const text = JSON.stringify(blocks);
    expect(text).toContain('waiting for approval (0 of 1)');
    expect(text).toContain('Extension of `grant0001` (*sandbox-admin*) by 30m');
    expect(text).toContain('granting access');
  });

  it('shows approvers what waits for them with Approve and Deny, the reason escaped', () => {
    const view = appHomeView(
      overview({
        userId: 'U0LEAD',
        awaitingDecision: [item(makeRequest({ id: 'wait0001', reason: 'please <!channel>' }))],
      }),
    );
    const blocks = view.blocks as KnownBlock[];
    expect(buttons(blocks)).toContain(`${ACTION_IDS.approve}:wait0001`);
    expect(buttons(blocks)).toContain(`${ACTION_IDS.deny}:wait0001`);
    const text = JSON.stringify(blocks);
    expect(text).toContain('Waiting for your decision');
    expect(text).toContain('please &lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
  });

  it('leaves out the decisions section for people with nothing to decide, and says when nothing is active', () => {
    const text = JSON.stringify(appHomeView(overview({})).blocks);
    expect(text).not.toContain('Waiting for your decision');
    expect(text).toContain('No active access');
  });

  it('stays within Slack limits with many grants, requests and decisions, pointing to the rest', () => {
    const many = (prefix: string, count: number, make: (id: string) => AccessRequest) =>
      Array.from({ length: count }, (_, index) => item(make(`${prefix}${String(index).padStart(4, '0')}`)));
    const view = appHomeView(
      overview({
        active: many('act', 50, (id) => active(id)),
        pending: many('pen', 50, (id) => makeRequest({ id, reason: 'r'.repeat(1000) })),
        awaitingDecision: many('dec', 50, (id) => makeRequest({ id, reason: 'r'.repeat(1000) })),
      }),
    );
    expect(viewLimitProblems(view)).toEqual([]);
    expect(JSON.stringify(view.blocks)).toContain('and 40 more');
  });
});

describe('appHomeView with hundreds of items', () => {
  it('stays within 100 blocks and 3000 characters a section with 300 of each, long texts included', () => {
    const longRole = makeRole({ description: '&'.repeat(3000) });
    const many = (prefix: string, make: (id: string) => AccessRequest, extra: Partial<OverviewItem> = {}) =>
      Array.from({ length: 300 }, (_, index) => ({
        request: make(`${prefix}${String(index).padStart(4, '0')}`),
        role: longRole,
        ...extra,
      }));
    const view = appHomeView(
      overview({
        active: many('act', (id) => active(id), { pendingExtension: 'ext00001' }),
        pending: many('pen', (id) => makeRequest({ id, reason: '<'.repeat(1000) })),
        awaitingDecision: many('dec', (id) => makeRequest({ id, reason: '>\n'.repeat(500) })),
      }),
    );
    const blocks = view.blocks as KnownBlock[];
    // docs.slack.dev/reference/views/home-tab-views: at most 100 blocks.
    expect(blocks.length).toBeLessThanOrEqual(100);
    expect(viewLimitProblems(view)).toEqual([]);
    const text = JSON.stringify(blocks);
    expect(text).toContain('…and 290 more: `/jit list`');
    expect(text).toContain('…and 285 more: the approval channels');
  });
});

describe('viewLimitProblems', () => {
  it('finds a view that Slack would refuse', () => {
    const blocks: KnownBlock[] = Array.from({ length: 101 }, () => ({ type: 'divider', block_id: 'same' }));
    expect(viewLimitProblems({ type: 'home', blocks })).toEqual([
      '101 blocks (at most 100)',
      expect.stringContaining('duplicate block_id'),
    ]);
  });
});
