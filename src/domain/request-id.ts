/**
 * The one definition of what a request ID looks like. Every layer that reads one (button values, modal metadata,
 * job payloads, `/jit` arguments, the cloud artefacts named `jit-<requestId>`) checks it against this, so the
 * format can change in one place.
 */

/**
 * Lowercase ASCII letters and digits, 1 to 64 of them: no `:` (BullMQ job IDs embed request IDs and forbid it) and
 * no `-` (so `jit-<requestId>` splits one way). Wider than what the bot makes today, so IDs made before, and
 * artefacts naming them, are still read. A fragment without anchors, for patterns that embed an ID.
 */
export const REQUEST_ID_PATTERN = '[a-z0-9]{1,64}';

const REQUEST_ID = new RegExp(`^${REQUEST_ID_PATTERN}$`);

/** True for text the bot accepts as a request ID (see {@link REQUEST_ID_PATTERN}). */
export function isRequestId(text: string): boolean {
  return REQUEST_ID.test(text);
}

/**
 * What new IDs are drawn from: lowercase letters and digits without the look-alikes 0/o, 1/l/i, so IDs read aloud
 * and typed back survive. A subset of {@link REQUEST_ID_PATTERN}.
 */
export const NEW_REQUEST_ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** How long new IDs are: 8 of 31 symbols, about 40 bits. */
export const NEW_REQUEST_ID_LENGTH = 8;

const NEW_REQUEST_ID = new RegExp(`^[${NEW_REQUEST_ID_ALPHABET}]{${NEW_REQUEST_ID_LENGTH}}$`);

/**
 * True for text shaped exactly like the IDs the bot makes now (`k7m2xq9d`); used where a word could be an ID or
 * something else (a duration such as `2d`), to prefer the reading that matches what people are given.
 */
export function isRequestIdShaped(text: string): boolean {
  return NEW_REQUEST_ID.test(text);
}
