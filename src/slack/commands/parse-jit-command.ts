import { looksLikeDuration } from '../../domain/duration';
import { escapeMrkdwn } from '../blocks/format';
import { SLASH_COMMAND } from '../ids';

/** What a person asked for with `/jit …`, or why it could not be understood. */
export type JitCommand =
  | { kind: 'help' }
  | { kind: 'roles' }
  | { kind: 'list' }
  | { kind: 'request'; roleId: string; duration?: string; reason: string }
  | { kind: 'cancel' | 'revoke' | 'status'; requestId: string }
  | { kind: 'invalid'; message: string };

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
    case 'help':
      return { kind: 'help' };
    case 'roles':
    case 'list':
      return rest === ''
        ? { kind: verb }
        : { kind: 'invalid', message: `\`${SLASH_COMMAND} ${verb}\` takes nothing after it.` };
    case 'request':
      return parseRequest(rest);
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
      return { kind: verb, requestId: id.toLowerCase().replace(/^`|`$/g, '') };
    }
    default:
      return {
        kind: 'invalid',
        message: `"${escapeMrkdwn(truncate(verbText, 40))}" is not a ${SLASH_COMMAND} command. Use one of: ${SUBCOMMANDS.join(', ')}. \`${SLASH_COMMAND} help\` explains each.`,
      };
  }
}

function parseRequest(rest: string): JitCommand {
  const [roleId, afterRole] = firstWord(rest);
  if (roleId === '') {
    return {
      kind: 'invalid',
      message: `Say which role, for how long and why: \`${SLASH_COMMAND} request <role> <duration> <reason>\`, e.g. \`${SLASH_COMMAND} request sandbox-admin 2h debugging INC-42\`. \`${SLASH_COMMAND} roles\` lists the roles you may request.`,
    };
  }
  const [maybeDuration, afterDuration] = firstWord(afterRole);
  // A second word starting with a digit is meant as a duration (and must parse as one); otherwise it starts
  // the reason and the role's default duration applies.
  if (maybeDuration !== '' && looksLikeDuration(maybeDuration)) {
    return { kind: 'request', roleId: roleId.toLowerCase(), duration: maybeDuration, reason: afterDuration.trim() };
  }
  return { kind: 'request', roleId: roleId.toLowerCase(), reason: afterRole.trim() };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
