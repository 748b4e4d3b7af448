import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import type { RequestView } from '../../domain/request-service';
import { SLASH_COMMAND } from '../ids';
import { stateLine } from './approval-message';
import { BLOCK_KIT_LIMITS } from './block-kit-limits';
import { escapeMrkdwn, escapeMrkdwnWithin, requestIdCode, roleNames, slackTime } from './format';

const c = SLASH_COMMAND;

export function helpText(): string {
  return [
    '*Just-in-time access to cloud roles*',
    `• \`${c}\` alone — a form to pick a role, a duration and a reason (also in the ⚡ shortcuts and the bot's Home tab, where you see your access, extend it or end it)`,
    `• \`${c} request <role> <duration> <reason>\` — ask for a role, e.g. \`${c} request sandbox-admin 2h debugging INC-42\`. Durations: 30s, 15m, 2h, 1d, 1h30m; the clock starts when access is granted.`,
    `• \`${c} request <role> <duration> <reason> at 2026-12-01 22:00\` — the same for a maintenance window: approved ahead, granted at that time (read in your Slack time zone, or give an offset: \`at 2026-12-01T22:00+01:00\`), ended after the duration`,
    `• \`${c} roles\` — the roles you may request, with their longest duration`,
    `• \`${c} list\` — your pending and active requests, with time left`,
    `• \`${c} status <id>\` — one request in detail`,
    `• \`${c} cancel <id>\` — withdraw a request nobody has decided yet, or one whose scheduled start has not come`,
    `• \`${c} revoke <id>\` — end active access early`,
    `• \`${c} audit [since] [id]\` — admins: the audit trail as a CSV file in your DM, e.g. \`${c} audit 7d\` (the default) or \`${c} audit 2025-01-31 k7m2xq9d\``,
    `• \`${c} help\` — this message`,
  ].join('\n');
}

/** The immediate answer to `/jit audit`: what was found and where it goes. */
export function auditSummaryText(
  exported: { sinceMs: number; entries: readonly { at: number }[]; truncated: boolean },
  requestId: string | undefined,
  now: number,
): string {
  const scope = `since ${slackTime(exported.sinceMs, now)}${requestId !== undefined ? ` about ${requestIdCode(requestId)}` : ''}`;
  const count = exported.entries.length;
  if (count === 0) return `:ledger: There are no audit entries ${scope}; there is nothing to send.`;
  const head = `:ledger: ${count} audit entr${count === 1 ? 'y' : 'ies'} ${scope}: the CSV is on its way to your DM.`;
  const last = exported.entries.at(-1);
  if (!exported.truncated || last === undefined) return head;
  return `${head} That is as many as one export carries, up to ${slackTime(last.at, now)}; for the rest, run \`${c} audit ${new Date(last.at).toISOString()}\` or \`npm run audit\` where the bot runs.`;
}

/** Why the export file could not be delivered, after the summary said it was on its way. */
export function auditDeliveryFailedText(why: string): string {
  return `:warning: Your audit export could not be delivered to your DM: ${why}. Nothing was shared anywhere else.`;
}

/** Longest role description quoted in a list; the request form shows each role's description too. */
const MAX_LISTED_DESCRIPTION = 150;

/**
 * The roles this person may request, one line each, in as many lines as fit Slack's advised message length; the
 * rest are counted, and the request form finds any of them by name.
 */
export function rolesText(roles: readonly Role[]): string {
  if (roles.length === 0) return 'There are no roles you may request. Ask your platform team to add you to a role.';
  const lines = roles.map((role) => {
    const approval = role.autoApprove
      ? 'auto-approved'
      : `${role.approvalsRequired} approval${role.approvalsRequired > 1 ? 's' : ''}`;
    return `• *${role.id}* — ${escapeMrkdwnWithin(role.description, MAX_LISTED_DESCRIPTION)} (${role.provider}; up to ${formatDuration(role.maxDurationMs)}, default ${formatDuration(role.defaultDurationMs)}; ${approval})`;
  });
  const head = `*Roles you may request* (\`${c} request <role> <duration> <reason>\`)`;
  const tail = (hidden: number) =>
    `…and ${hidden} more: type part of a name or description in the form (\`${c}\`) to find one.`;
  return withinLength(head, lines, tail, BLOCK_KIT_LIMITS.messageText);
}

/** `head` and as many `lines` as fit in `max` characters, then `tail(hidden)` when some did not fit. */
function withinLength(head: string, lines: readonly string[], tail: (hidden: number) => string, max: number): string {
  const shown = [head];
  let length = head.length;
  for (const [index, line] of lines.entries()) {
    const hidden = lines.length - index - 1;
    // Room for the tail stays free unless this is the last line.
    const reserve = hidden > 0 ? tail(hidden).length + 1 : 0;
    if (length + 1 + line.length + reserve > max) {
      shown.push(tail(lines.length - index));
      return shown.join('\n');
    }
    shown.push(line);
    length += 1 + line.length;
  }
  return shown.join('\n');
}

/** One line per open request with what it waits for or how long it has left. */
export function listText(requests: readonly AccessRequest[], now: number): string {
  if (requests.length === 0)
    return `You have no pending or active requests. \`${c} roles\` shows what you may request.`;
  const lines = requests.map((request) => {
    const head =
      request.extends !== undefined
        ? `• ${requestIdCode(request.id)} extension of ${requestIdCode(request.extends)} (*${roleNames(request)}*)`
        : `• ${requestIdCode(request.id)} *${roleNames(request)}*`;
    switch (request.state) {
      case 'active':
        return `${head} — active, ${formatDuration((request.expiresAt ?? now) - now)} left (until ${slackTime(request.expiresAt ?? now, now)})${request.revocationRequestedBy !== undefined ? ', being revoked' : ''}`;
      case 'approved':
        return request.startsAt !== undefined && request.startsAt > now
          ? `${head} — approved, starts at ${slackTime(request.startsAt, now)} for ${formatDuration(request.durationMs)}`
          : `${head} — approved, access being granted`;
      default:
        return `${head} — pending approval for ${formatDuration(request.durationMs)}${startsAtText(request, now)}, times out ${slackTime(request.approvalDeadline, now)}`;
    }
  });
  const tail = (hidden: number) => `…and ${hidden} more: the bot's Home tab lists them with buttons.`;
  return withinLength('*Your open requests*', lines, tail, BLOCK_KIT_LIMITS.messageText);
}

export function statusText({ request, role }: RequestView, now: number): string {
  const lines = [
    `*Request ${requestIdCode(request.id)}*: <@${request.requesterId}> asked ${request.extends !== undefined ? `to extend ${requestIdCode(request.extends)}, ` : 'for '}*${roleNames(request)}*${role ? ` (${escapeMrkdwn(role.description)})` : ''} ${request.extends !== undefined ? 'by' : 'for'} ${formatDuration(request.durationMs)} at ${slackTime(request.createdAt, now)}`,
    `*Reason*: ${escapeMrkdwn(request.reason)}`,
    `*State*: ${request.state} — ${stateLine(request)}`,
  ];
  if (request.startsAt !== undefined) {
    lines.push(
      `*Scheduled start*: ${slackTime(request.startsAt, now)}, until ${slackTime(request.startsAt + request.durationMs, now)}`,
    );
  }
  if (request.state === 'active' && request.expiresAt !== undefined) {
    lines.push(`*Time left*: ${formatDuration(request.expiresAt - now)}`);
  }
  return lines.join('\n');
}

/** ` starting at <time>` for a request with a scheduled start, else nothing. */
export function startsAtText(request: AccessRequest, now?: number): string {
  return request.startsAt !== undefined ? ` starting at ${slackTime(request.startsAt, now)}` : '';
}

/** The immediate answer to a request: its ID and what happens next. */
export function requestConfirmationText(request: AccessRequest, role: Role, now?: number): string {
  const head = `:inbox_tray: Request ${requestIdCode(request.id)} for *${roleNames(request)}* (${formatDuration(request.durationMs)}${startsAtText(request, now)}) is filed.`;
  if (request.state !== 'pending')
    return request.startsAt !== undefined
      ? `${head} The role is auto-approved; access is granted at the start, and you will get a DM then. Call it off before then with \`${c} cancel ${request.id}\`.`
      : `${head} The role is auto-approved; you will get a DM as soon as access is active.`;
  if (request.bundle !== undefined && request.bundle.length > 1)
    return `${head} The roles are granted together or not at all, once each role's own approvers have approved; the request is in <#${role.approvalChannel ?? ''}>. You will get a DM when it is decided. Withdraw it with \`${c} cancel ${request.id}\`.`;
  const needed = role.approvalsRequired > 1 ? `${role.approvalsRequired} approvers` : 'an approver';
  return `${head} It waits for ${needed} in <#${role.approvalChannel ?? ''}>; you will get a DM when it is decided. Withdraw it with \`${c} cancel ${request.id}\`.`;
}
