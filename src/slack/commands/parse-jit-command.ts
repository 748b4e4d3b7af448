import { looksLikeDuration } from '../../domain/duration';
import { isRequestId, isRequestIdShaped } from '../../domain/request-id';
import { escapeMrkdwn, truncate } from '../blocks/format';
import { SLASH_COMMAND } from '../ids';

/** What a person asked for with `/jit …`, or why it could not be understood. */
export type JitCommand =
  | { kind: 'help' }
  | { kind: 'roles' }
  | { kind: 'list' }
  /** `start`: the `at …` suffix as typed (a date and time), read in the requester's time zone by the handler. */
  | { kind: 'request'; roleId: string; duration?: string; reason: string; start?: string; bundle?: string[] }
  /** Open the request form, prefilled with what was typed: `/jit` alone, or a `/jit request` missing pieces. */
  | { kind: 'form'; roleId?: string; duration?: string }
  | { kind: 'cancel' | 'revoke' | 'status'; requestId: string }
  | AuditCommand
  | { kind: 'invalid'; message: string };

/** `/jit audit [since] [request ID]`, for admins: the audit trail since a time, optionally of one request. */
export interface AuditCommand {
  kind: 'audit';
  /** As typed: a time back from now (`7d`) or an ISO date; the use case checks it. */
  since?: string;
  requestId?: string;
}

const ID_COMMANDS = ['cancel', 'revoke', 'status'] as const;
const SUBCOMMANDS = ['help', 'roles', 'list', 'request', ...ID_COMMANDS] as const;

/** Splits off the first word; the rest keeps its own spacing (reasons are free text). */
function firstWord(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text.trim());
  return match ? [match[1] ?? '', match[2] ?? ''] : ['', ''];
}

/**
 * Parses the text after `/jit`. Never throws: any input yields a command or an `invalid` with a message saying
 * how to write it. Only syntax is checked here; whether the role, duration or ID is acceptable is the domain's call.
 */
export function parseJitCommand(text: string): JitCommand {
  const [verbText, rest] = firstWord(text);
  const verb = verbText.toLowerCase();
  switch (verb) {
    case '':
      return { kind: 'form' };
    case 'help':
      return { kind: 'help' };
    case 'roles':
    case 'list':
      return rest === ''
        ? { kind: verb }
        : { kind: 'invalid', message: `\`${SLASH_COMMAND} ${verb}\` takes nothing after it.` };
    case 'request':
      return parseRequest(rest);
    case 'audit':
      return parseAudit(rest);
    case 'cancel':
    case 'revoke':
    case 'status': {
      const [id, extra] = firstWord(rest);
      if (id === '') {
        return {
          kind: 'invalid',
          message: `Say which request: \`${SLASH_COMMAND} ${verb} <request ID>\`. \`${SLASH_COMMAND} list\` shows your requests and their IDs.`,
        };
      }
      if (extra !== '') {
        return {
          kind: 'invalid',
          message: `\`${SLASH_COMMAND} ${verb}\` takes one request ID, e.g. \`${SLASH_COMMAND} ${verb} k7m2xq9d\`.`,
        };
      }
      const requestId = cleanRequestId(id);
      if (!isRequestId(requestId)) {
        return {
          kind: 'invalid',
          message: `That is not a request ID; IDs look like \`k7m2xq9d\`. \`${SLASH_COMMAND} list\` shows yours.`,
        };
      }
      return { kind: verb, requestId };
    }
    default:
      return {
        kind: 'invalid',
        message: `"${escapeMrkdwn(truncate(verbText, 41))}" is not a ${SLASH_COMMAND} command. Use one of: ${SUBCOMMANDS.join(', ')}. \`${SLASH_COMMAND} help\` explains each.`,
      };
  }
}

/**
 * A trailing `at <date> <time>` (or `at <ISO time>`) is a scheduled start; `at` followed by anything that begins
 * like a date or a clock time is meant as one, and the domain refuses it if it does not read as one. Any other
 * `at` (`restart at night`) stays in the reason.
 */
const START_SUFFIX = /\s+at\s+((?:\d{4}-|\d{1,2}:\d{2})\S*(?:\s+\d{1,2}:\d{2}\S*)?)\s*$/i;

function parseRequest(text: string): JitCommand {
  const suffix = START_SUFFIX.exec(text);
  const start = suffix?.[1];
  const rest = suffix ? text.slice(0, suffix.index) : text;
  const parsed = parseRoleDurationReason(rest);
  if (start === undefined) return parsed;
  if (parsed.kind === 'request') return { ...parsed, start };
  if (parsed.kind === 'form')
    return {
      kind: 'invalid',
      message: `Say why you need it before the start: \`${SLASH_COMMAND} request <role> <duration> <reason> at 2026-12-01 22:00\`.`,
    };
  return parsed;
}

function parseRoleDurationReason(rest: string): JitCommand {
  const [roleWord, afterRole] = firstWord(rest);
  if (roleWord === '') return { kind: 'form' };
  // Several roles at once (a bundle) are joined by commas: `role-a,role-b`.
  const roleIds = roleWord.split(',').filter((each) => each !== '');
  if (roleIds.length === 0 || !roleIds.every((each) => /^[a-z0-9-]{1,64}$/i.test(each))) {
    return {
      kind: 'invalid',
      message: `That is not a role name; role names are lowercase words joined by dashes, e.g. sandbox-admin, and several roles are joined by commas, e.g. sandbox-admin,db-reader. \`${SLASH_COMMAND} roles\` lists yours.`,
    };
  }
  const roleId = roleIds[0] ?? '';
  const bundle = roleIds.length > 1 ? { bundle: roleIds.map((each) => each.toLowerCase()) } : {};
  const [maybeDuration, afterDuration] = firstWord(afterRole);
  if (maybeDuration !== '' && looksLikeDuration(maybeDuration) && !/^[0-9a-z]{1,16}$/i.test(maybeDuration)) {
    return {
      kind: 'invalid',
      message: 'That is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d, or a combination such as 1h30m.',
    };
  }
  // A second word starting with a digit is meant as a duration (and must parse as one); otherwise it starts
  // the reason and the role's default duration applies.
  const role = roleId.toLowerCase();
  if (maybeDuration !== '' && looksLikeDuration(maybeDuration)) {
    const reason = afterDuration.trim();
    return reason === ''
      ? { kind: 'form', roleId: role, duration: maybeDuration }
      : { kind: 'request', roleId: role, duration: maybeDuration, reason, ...bundle };
  }
  const reason = afterRole.trim();
  return reason === '' ? { kind: 'form', roleId: role } : { kind: 'request', roleId: role, reason, ...bundle };
}

const AUDIT_USAGE = `\`${SLASH_COMMAND} audit [since] [request ID]\`, e.g. \`${SLASH_COMMAND} audit 7d\`, \`${SLASH_COMMAND} audit 2025-01-31 k7m2xq9d\``;

/**
 * Up to two words in either order: one that reads as a time (starts with a digit and is no request ID, or is a
 * duration or date even if ID-shaped) and one request ID.
 */
function parseAudit(rest: string): JitCommand {
  const words = rest.split(/\s+/).filter((word) => word !== '');
  if (words.length > 2) {
    return {
      kind: 'invalid',
      message: `\`${SLASH_COMMAND} audit\` takes at most a since and a request ID: ${AUDIT_USAGE}.`,
    };
  }
  const command: AuditCommand = { kind: 'audit' };
  for (const word of words) {
    const slot = readsAsTime(word) ? 'since' : 'requestId';
    if (command[slot] !== undefined) {
      return {
        kind: 'invalid',
        message: `\`${SLASH_COMMAND} audit\` takes one ${slot === 'since' ? 'since' : 'request ID'}: ${AUDIT_USAGE}.`,
      };
    }
    const value = slot === 'since' ? word : cleanRequestId(word);
    if (value === '') return { kind: 'invalid', message: `Say which request, or leave it out: ${AUDIT_USAGE}.` };
    command[slot] = value;
  }
  return command;
}

function readsAsTime(word: string): boolean {
  if (/^\d{4}-\d{2}-\d{2}/.test(word) || /^(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/i.test(word)) return true;
  return looksLikeDuration(word) && !isRequestIdShaped(cleanRequestId(word));
}

/** Lowercased, without the backticks of a pasted code span. */
function cleanRequestId(word: string): string {
  return word.toLowerCase().replace(/^`|`$/g, '');
}
