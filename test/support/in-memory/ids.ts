import type { IdGenerator } from '../../../src/domain/ports';
import { NEW_REQUEST_ID_ALPHABET as ALPHABET } from '../../../src/domain/request-id';

// The alphabet of real request IDs, so these pass `isRequestIdShaped`.

/**
 * An `IdGenerator` handing out the given IDs in order, then `reqaaaab`, `reqaaaac`, …: predictable, and shaped like
 * real request IDs (8 characters of the same alphabet).
 */
export class SequentialIds implements IdGenerator {
  private counter = 0;
  private readonly queued: string[];

  constructor(first: readonly string[] = []) {
    this.queued = [...first];
  }

  newRequestId(): string {
    const next = this.queued.shift();
    if (next !== undefined) return next;
    this.counter += 1;
    let n = this.counter;
    let suffix = '';
    for (let i = 0; i < 5; i += 1) {
      suffix = (ALPHABET[n % ALPHABET.length] as string) + suffix;
      n = Math.floor(n / ALPHABET.length);
    }
    return `req${suffix}`;
  }
}
