/** The marks that identify the bot's Azure artefacts: descriptions, PIM justifications and derived request names. */
import type { RoleAssignmentScheduleRequest } from '@azure/arm-authorization';
import type { GrantSpec } from '../../domain/ports';
import { REQUEST_ID_PATTERN } from '../../domain/request-id';
import { assignmentName } from './assignment-name';
import type { AzurePimTarget } from './azure-target';

export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The role assignment description: the request and the expiry, so a sweep can find and judge it. */
export function description(spec: GrantSpec): string {
  return `jit ${spec.requestId} until ${isoTime(spec.expiresAt)}`;
}

/** A PIM schedule request's justification: the role's prefix, if any, then the same mark as a description. */
export function justification(spec: GrantSpec, target: AzurePimTarget): string {
  const own = `jit ${spec.requestId} until ${isoTime(spec.expiresAt)}`;
  return target.justificationPrefix === undefined ? own : `${target.justificationPrefix} ${own}`;
}

/**
 * The name of a PIM schedule request the bot sends: derived from the request ID, the request type and, for
 * requests that make access, the expiry asked for (`until`, as {@link isoTime} writes it), so a replay reuses it.
 */
export function pimRequestName(requestId: string, requestType: string, until?: string): string {
  return assignmentName(requestId, until === undefined ? `pim/${requestType}` : `pim/${requestType}/${until}`);
}

/** The bot's mark: `jit <requestId> until <ISO expiry>`, a whole description or the end of a justification. */
const MARK = new RegExp(`^jit (${REQUEST_ID_PATTERN}) until (\\S+)$`);
const MARK_AT_END = new RegExp(`(?:^|\\s)jit (${REQUEST_ID_PATTERN}) until (\\S+)$`);

/**
 * The request ID and expiry a description (`whole`) or justification (`jit ...` at its end, after any prefix)
 * names, or undefined when it names none. The expiry counts only when it is exactly the ISO form the bot writes,
 * so nothing is guessed from an edited text; the name check that proves the artefact is the bot's is the caller's.
 */
export function parseMark(
  text: string | undefined,
  whole: boolean,
): { requestId: string; until: string; expiresAt?: number } | undefined {
  const match = text === undefined ? null : (whole ? MARK : MARK_AT_END).exec(text);
  const requestId = match?.[1];
  const until = match?.[2];
  if (requestId === undefined || until === undefined) return undefined;
  const ms = Date.parse(until);
  const exact = Number.isFinite(ms) && isoTime(ms) === until;
  return exact ? { requestId, until, expiresAt: ms } : { requestId, until };
}

/**
 * The request and expiry of a PIM schedule request the bot made: its justification ends in the bot's mark AND
 * its name is the one the bot derives from that request ID, request type and expiry (see `grantPim`), so a
 * request someone made by hand with a copied justification is never taken for the bot's.
 */
export function botRequest(
  request: RoleAssignmentScheduleRequest,
): { requestId: string; expiresAt?: number } | undefined {
  const mark = parseMark(request.justification, false);
  if (mark === undefined || request.requestType === undefined) return undefined;
  const expected = pimRequestName(mark.requestId, request.requestType, mark.until);
  if (request.name?.toLowerCase() !== expected) return undefined;
  return mark.expiresAt === undefined
    ? { requestId: mark.requestId }
    : { requestId: mark.requestId, expiresAt: mark.expiresAt };
}
