import type { HomeView, KnownBlock } from '@slack/types';
import { approvalsMissing } from '../../domain/approvals';
import { formatDuration } from '../../domain/duration';
import type { OverviewItem, PersonalOverview } from '../../domain/ports';
import { ACTION_IDS } from '../ids';
import { escapeMrkdwnWithin, requestIdCode, roleNames, slackTime } from './format';
import { approveButton, cancelButton, denyButton, doneButton, extendButton, timeLeftMs } from './grant-buttons';

/**
 * Items shown per list, so the view stays within Slack's 100 blocks (at most 3 per active grant, 2 per request,
 * 13 besides: 92 in all); the rest is one line away in `/jit list` or the approval channels.
 */
const SHOWN = { active: 10, pending: 10, awaiting: 15 } as const;
/** Longest quoted reason and role description, after escaping; both are far under Slack's 3000 per section. */
const MAX_QUOTED_REASON = 600;
const MAX_DESCRIPTION = 300;

const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

function more(hidden: number, where: string): KnownBlock[] {
  return hidden > 0 ? [context(`…and ${hidden} more: ${where}`)] : [];
}

function activeBlocks(item: OverviewItem, now: number): KnownBlock[] {
  const { request, role } = item;
  const description = role ? ` — ${escapeMrkdwnWithin(role.description, MAX_DESCRIPTION)}` : '';
  const head = `*${roleNames(request)}*${description}\nEnds ${slackTime(request.expiresAt ?? now, now)} · ${formatDuration(timeLeftMs(request, now))} left · request ${requestIdCode(request.id)}`;
  if (request.revocationRequestedBy !== undefined) return [section(head), context(':no_entry_sign: Ending now…')];
  const blocks: KnownBlock[] = [section(head)];
  if (item.pendingExtension !== undefined) {
    blocks.push(
      context(`:hourglass_flowing_sand: Extension ${requestIdCode(item.pendingExtension)} is waiting for approval.`),
    );
    blocks.push({ type: 'actions', block_id: `active-${request.id}`, elements: [doneButton(request)] });
  } else {
    blocks.push({
      type: 'actions',
      block_id: `active-${request.id}`,
      elements: [extendButton(request), doneButton(request)],
    });
  }
  return blocks;
}

function pendingBlocks(item: OverviewItem, now: number): KnownBlock[] {
  const { request, role } = item;
  const what =
    request.extends !== undefined
      ? `Extension of ${requestIdCode(request.extends)} (*${roleNames(request)}*) by ${formatDuration(request.durationMs)}`
      : `*${roleNames(request)}* for ${formatDuration(request.durationMs)}${request.startsAt !== undefined ? ` starting ${slackTime(request.startsAt, now)}` : ''}`;
  if (request.state !== 'pending' && request.startsAt !== undefined && request.startsAt > now)
    return [
      section(`${what} · approved, starts ${slackTime(request.startsAt, now)} · ${requestIdCode(request.id)}`),
      { type: 'actions', block_id: `pending-${request.id}`, elements: [cancelButton(request)] },
    ];
  if (request.state !== 'pending')
    return [section(`${what} · approved, granting access… · ${requestIdCode(request.id)}`)];
  const required = role?.approvalsRequired ?? 1;
  const given = role ? required - approvalsMissing(request, role) : 0;
  // A bundle waits for each role's own approvers; its approval message shows what each still needs.
  const progress =
    request.bundle !== undefined && request.bundle.length > 1 ? "each role's approvers" : `${given} of ${required}`;
  return [
    section(
      `${what} · waiting for approval (${progress}), times out ${slackTime(request.approvalDeadline)} · ${requestIdCode(request.id)}`,
    ),
    { type: 'actions', block_id: `pending-${request.id}`, elements: [cancelButton(request)] },
  ];
}

function awaitingBlocks(item: OverviewItem): KnownBlock[] {
  const { request } = item;
  const what =
    request.extends !== undefined
      ? `asks to extend *${roleNames(request)}* by ${formatDuration(request.durationMs)}`
      : `asks for *${roleNames(request)}* for ${formatDuration(request.durationMs)}${request.startsAt !== undefined ? ` starting ${slackTime(request.startsAt)}` : ''}`;
  const reason = escapeMrkdwnWithin(request.reason, MAX_QUOTED_REASON, { quote: true });
  return [
    section(
      `<@${request.requesterId}> ${what} · request ${requestIdCode(request.id)}\n>${reason}\nTimes out ${slackTime(request.approvalDeadline)}`,
    ),
    { type: 'actions', block_id: `decide-${request.id}`, elements: [approveButton(request), denyButton(request)] },
  ];
}

/** One person's Home tab: their access with time left, their requests, and what waits for their decision. */
export function appHomeView(overview: PersonalOverview): HomeView {
  const now = overview.at;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'Just-in-time access' } },
    {
      type: 'actions',
      block_id: 'home-request',
      elements: [
        {
          type: 'button',
          action_id: ACTION_IDS.openRequestModal,
          text: { type: 'plain_text', text: 'Request access' },
          style: 'primary',
          value: 'home',
        },
      ],
    },
    { type: 'divider' },
    section('*Your active access*'),
  ];
  if (overview.active.length === 0) blocks.push(context('No active access. Use *Request access* or `/jit request`.'));
  for (const item of overview.active.slice(0, SHOWN.active)) blocks.push(...activeBlocks(item, now));
  blocks.push(...more(overview.active.length - SHOWN.active, '`/jit list`'));

  blocks.push({ type: 'divider' }, section('*Your requests*'));
  if (overview.pending.length === 0) blocks.push(context('Nothing waiting.'));
  for (const item of overview.pending.slice(0, SHOWN.pending)) blocks.push(...pendingBlocks(item, now));
  blocks.push(...more(overview.pending.length - SHOWN.pending, '`/jit list`'));

  if (overview.awaitingDecision.length > 0) {
    blocks.push({ type: 'divider' }, section('*Waiting for your decision*'));
    for (const item of overview.awaitingDecision.slice(0, SHOWN.awaiting)) blocks.push(...awaitingBlocks(item));
    blocks.push(...more(overview.awaitingDecision.length - SHOWN.awaiting, 'the approval channels'));
  }
  blocks.push(context(`Updated ${slackTime(now, now)}`));
  return { type: 'home', blocks };
}
