import { randomInt } from 'node:crypto';
import type { IdGenerator } from '../domain/ports';
import { NEW_REQUEST_ID_ALPHABET, NEW_REQUEST_ID_LENGTH } from '../domain/request-id';

/**
 * Request IDs such as `k7m2xq9d`, in the format `domain/request-id.ts` defines, drawn with a cryptographic random
 * source (node:crypto, which the domain may not import).
 */
export const randomRequestIds: IdGenerator = {
  newRequestId() {
    let id = '';
    for (let i = 0; i < NEW_REQUEST_ID_LENGTH; i += 1) {
      id += NEW_REQUEST_ID_ALPHABET[randomInt(NEW_REQUEST_ID_ALPHABET.length)];
    }
    return id;
  },
};
