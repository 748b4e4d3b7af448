import { randomInt } from 'node:crypto';
import type { IdGenerator } from '../domain/ports';

/** Lowercase letters and digits without the look-alikes 0/o, 1/l/i, so IDs read aloud and typed back survive. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const LENGTH = 8;

/** Request IDs such as `k7m2xq9d`: typeable, free of `:` (BullMQ job IDs embed them), about 40 bits random. */
export const randomRequestIds: IdGenerator = {
  newRequestId() {
    let id = '';
    for (let i = 0; i < LENGTH; i += 1) id += ALPHABET[randomInt(ALPHABET.length)];
    return id;
  },
};

/** True for text that could be a request ID; used to give a precise error before touching the store. */
export function isRequestIdShaped(text: string): boolean {
  return new RegExp(`^[${ALPHABET}]{${LENGTH}}$`).test(text);
}
