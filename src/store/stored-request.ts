import { z } from 'zod';
import { type AccessRequest, REQUEST_STATES } from '../domain/access-request';
import type { GrantRefusal } from '../domain/grant-refusal';

/** A grant the policy refused, stored with the failed request; records stored before codes existed lack it. */
const grantRefusalSchema = z.discriminatedUnion('code', [
  z.object({ code: z.literal('role_removed'), details: z.object({ roleId: z.string() }) }),
  z.object({
    code: z.literal('requester_not_allowed'),
    details: z.object({ requesterId: z.string(), roleId: z.string() }),
  }),
  z.object({ code: z.literal('extended_access_ended'), details: z.object({ extendedId: z.string() }) }),
  z.object({
    code: z.literal('extension_over_max'),
    details: z.object({ roleId: z.string(), totalMs: z.number(), maxMs: z.number() }),
  }),
  z.object({ code: z.literal('extended_request_changed'), details: z.object({ extendedId: z.string() }) }),
  z.object({
    code: z.literal('email_unconfirmed'),
    details: z.object({ userId: z.string(), provider: z.string(), address: z.string() }),
  }),
  z.object({
    code: z.literal('principals_required'),
    details: z.object({ userId: z.string(), provider: z.string() }),
  }),
]) satisfies z.ZodType<GrantRefusal>;

const grantRecordSchema = z.object({
  provider: z.string(),
  target: z.record(z.string(), z.unknown()),
  identities: z.record(z.string(), z.string()),
  email: z.string().optional(),
  memo: z.record(z.string(), z.string()).optional(),
  instructions: z.string().optional(),
});

const storedRequestSchema = z.object({
  id: z.string(),
  roleId: z.string(),
  bundle: z.array(z.string()).optional(),
  requesterId: z.string(),
  teamId: z.string(),
  reason: z.string(),
  durationMs: z.number().int().positive(),
  state: z.enum(REQUEST_STATES),
  version: z.number().int().positive(),
  createdAt: z.number(),
  updatedAt: z.number(),
  approvalDeadline: z.number(),
  startsAt: z.number().optional(),
  approvals: z.array(
    z.object({
      userId: z.string(),
      at: z.number(),
      durationMs: z.number().int().positive().optional(),
      roles: z.array(z.string()).optional(),
    }),
  ),
  requestedDurationMs: z.number().int().positive().optional(),
  escalatedAt: z.number().optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.number().optional(),
  activatedAt: z.number().optional(),
  grant: grantRecordSchema.optional(),
  bundleGrants: z.record(z.string(), grantRecordSchema).optional(),
  expiresAt: z.number().optional(),
  revocationRequestedBy: z.string().optional(),
  revocationRequestedAt: z.number().optional(),
  endedAt: z.number().optional(),
  endedBy: z.string().optional(),
  failureReason: z.string().optional(),
  grantRefusal: grantRefusalSchema.optional(),
  denialReason: z.string().optional(),
  extends: z.string().optional(),
  extensionsApplied: z.array(z.string()).optional(),
});

/**
 * Reads a stored request back, refusing anything that does not have the shape the domain relies on (a
 * hand-edited key, a record from an incompatible version) rather than acting on it.
 */
export function parseStoredRequest(json: string): AccessRequest {
  return storedRequestSchema.parse(JSON.parse(json));
}
