/** The GUIDs that name the bot's Azure artefacts, derived from the request ID so grant and revoke are idempotent. */
import { createHash } from 'node:crypto';

/**
 * The bot's own UUID namespace. Names derived under it are the bot's alone, so an artefact with such a name was
 * made by the bot; changing this value would orphan every assignment made before.
 */
const JIT_NAMESPACE = 'b3b001f9-2026-45c7-8319-1dbbb09e55ec';

/**
 * The GUID Azure artefacts of one request are named by: a name-based UUID (RFC 9562 version 5) over the request
 * ID and, where one request makes several artefacts (PIM schedule requests), what the artefact is for. The same
 * input always gives the same name, which is what makes grant and revoke idempotent.
 */
export function assignmentName(requestId: string, purpose?: string): string {
  return uuidV5(purpose === undefined ? `jit/${requestId}` : `jit/${requestId}/${purpose}`, JIT_NAMESPACE);
}

/** A name-based UUID, version 5 (SHA-1), as RFC 9562 defines it. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
