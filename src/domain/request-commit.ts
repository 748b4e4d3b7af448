import type { AccessRequest } from './access-request';
import { DomainError } from './errors';
import type { RequestStore } from './ports';
import type { TransitionResult } from './request-machine';

/** How many times a change is re-decided on a fresh read when another writer got there first. */
const MAX_ATTEMPTS = 8;

export interface CommittedChange {
  before: AccessRequest;
  after: AccessRequest;
}

/**
 * Reads the request, lets `decide` compute the change from what is stored now, and commits it by
 * compare-and-set; on a lost race it reads again and decides again, so every decision is made on current data.
 * `decide` returns `undefined` for "nothing to do" and throws a DomainError to refuse.
 * @param justRead the request as the caller has just read or written it, decided on first instead of reading it
 *   again (one Redis round trip less on the usual path). A stale copy costs nothing but time: its compare-and-set
 *   fails, and "nothing to do" is only believed from a fresh read. Not for a `decide` that refuses (throws): a
 *   refusal would then rest on what may be stale.
 * @throws DomainError `unknown_request`, whatever `decide` throws, or `concurrent_update` after repeated races.
 */
export async function commitChange(
  store: RequestStore,
  requestId: string,
  decide: (request: AccessRequest) => Promise<TransitionResult | undefined> | TransitionResult | undefined,
  justRead?: AccessRequest,
): Promise<CommittedChange | undefined> {
  let known = justRead;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const before = known ?? (await store.get(requestId));
    const fresh = known === undefined;
    known = undefined;
    if (!before) throw unknownRequest(requestId);
    const change = await decide(before);
    if (!change) {
      if (fresh) return undefined;
      attempt -= 1;
      continue;
    }
    if (await store.update(change.next, before.version, change.audit)) return { before, after: change.next };
  }
  throw new DomainError('concurrent_update', { requestId });
}

export function unknownRequest(requestId: string): DomainError {
  return new DomainError('unknown_request', { requestId });
}
