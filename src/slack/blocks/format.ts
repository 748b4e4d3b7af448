import type { AccessRequest } from '../../domain/access-request';
import { isSystemActor, SYSTEM_ACTORS } from '../../domain/access-request';
import { bundleRoleIds } from '../../domain/bundle';

/**
 * Escapes text for Slack mrkdwn: `&`, `<` and `>` are control characters there, so a reason such as
 * `<!channel>` or `<https://evil|click>` shows as typed instead of pinging or linking.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `17:05 UTC` on the day it happens, `2026-11-24 17:05 UTC` otherwise: the plain fallback of `slackTime`. */
export function utcTime(ms: number, referenceMs?: number): string {
  const iso = new Date(ms).toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  if (referenceMs !== undefined && new Date(referenceMs).toISOString().slice(0, 10) === iso.slice(0, 10)) return time;
  return `${iso.slice(0, 10)} ${time}`;
}

/** A time each reader sees in their own time zone; previews and old clients show the UTC fallback. */
export function slackTime(ms: number, referenceMs?: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${utcTime(ms, referenceMs)}>`;
}

const SYSTEM_ACTOR_NAMES: Record<string, string> = {
  [SYSTEM_ACTORS.autoApprove]: 'the policy (auto-approved)',
  [SYSTEM_ACTORS.approvalTimeout]: 'the approval timeout',
  [SYSTEM_ACTORS.grantJob]: 'the bot',
  [SYSTEM_ACTORS.expiry]: 'expiry',
};

/** A person as a mention, a system actor by name. */
export function actorName(actor: string): string {
  if (isSystemActor(actor)) return SYSTEM_ACTOR_NAMES[actor] ?? actor;
  return `<@${actor}>`;
}

/** A request ID as code, so it can be copied into the next command. */
export function requestIdCode(id: string): string {
  return `\`${id}\``;
}

/** Cuts text to a length limit (Slack's, or a readable one), marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const MRKDWN_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * {@link escapeMrkdwn} within `max` characters of output, cut with `…` between escapes (never inside `&amp;`),
 * since escaping can make a text five times longer than the limit it was checked against. With `quote`, each
 * new line continues a `>` quote.
 */
export function escapeMrkdwnWithin(text: string, max: number, options: { quote?: boolean } = {}): string {
  const pieces: string[] = [];
  let length = 0;
  const characters = [...text];
  for (const [index, character] of characters.entries()) {
    const piece = character === '\n' && options.quote ? '\n>' : (MRKDWN_ESCAPES[character] ?? character);
    const last = index === characters.length - 1;
    // Room is kept for the `…` unless this is the last piece.
    if (length + piece.length > (last ? max : max - 1)) {
      pieces.push('…');
      break;
    }
    pieces.push(piece);
    length += piece.length;
  }
  return pieces.join('');
}

/** The role a request is for, or every role of a bundle joined by commas (as `/jit request` takes them). */
export function roleNames(request: Pick<AccessRequest, 'roleId' | 'bundle'>): string {
  return bundleRoleIds(request).join(',');
}
