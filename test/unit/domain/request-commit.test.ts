/** commitChange deciding first on a copy the caller has just read, and what happens when that copy is stale. */
import type { AccessRequest } from '../../../src/domain/access-request';
import { commitChange } from '../../../src/domain/request-commit';
import { transition } from '../../../src/domain/request-machine';
import { InMemoryAuditLog, InMemoryRequestStore, ManualClock } from '../../support/in-memory';
import { makeRequest, T0 } from '../fixtures';

function storeWith(request: AccessRequest) {
  const store = new InMemoryRequestStore(new InMemoryAuditLog(new ManualClock(T0)));
  return {
    store,
    async created() {
      await store.create(request, {
        requestId: request.id,
        from: 'none',
        to: request.state,
        actor: request.requesterId,
        reason: request.reason,
        at: T0,
      });
      return request;
    },
  };
}

const approve = (current: AccessRequest) =>
  current.state === 'pending'
    ? transition(current, { to: 'approved', actor: 'U0LEAD', reason: 'ok', at: T0 })
    : undefined;

describe('commitChange with the request just read', () => {
  it('commits on that copy without reading the request again', async () => {
    const { store, created } = storeWith(makeRequest());
    const request = await created();
    const reads = jest.spyOn(store, 'get');
    const change = await commitChange(store, request.id, approve, request);
    expect(reads).not.toHaveBeenCalled();
    expect(change?.after).toMatchObject({ state: 'approved', version: 2 });
  });

  it('reads again and decides on what is stored when the copy was stale', async () => {
    const { store, created } = storeWith(makeRequest());
    const stale = await created();
    // Someone cancels between the caller's read and this commit.
    await commitChange(store, stale.id, (current) =>
      transition(current, { to: 'cancelled', actor: current.requesterId, reason: 'not needed', at: T0 }),
    );
    const change = await commitChange(store, stale.id, approve, stale);
    expect(change).toBeUndefined();
    expect((await store.get(stale.id))?.state).toBe('cancelled');
  });

  it('believes "nothing to do" only from a fresh read', async () => {
    const { store, created } = storeWith(makeRequest());
    const request = await created();
    // A copy that looks decided already, while the stored request still waits.
    const looksDecided = { ...request, state: 'approved' as const };
    const change = await commitChange(store, request.id, approve, looksDecided);
    expect(change?.after).toMatchObject({ state: 'approved', version: 2 });
  });
});
