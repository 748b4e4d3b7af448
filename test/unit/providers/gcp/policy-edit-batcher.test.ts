import type { ResourceTurns } from '../../../../src/domain/ports';
import {
  type PolicyEditBatch,
  PolicyEditBatcher,
  type PolicyEditFn,
} from '../../../../src/providers/gcp/policy-edit-batcher';
import { InProcessTurns } from '../../../../src/providers/in-process-turns';

/** A policy small enough to read in a failure message: the members, in order. */
interface Doc {
  members: string[];
}

const add =
  (member: string): PolicyEditFn<Doc> =>
  (doc) =>
    doc.members.includes(member)
      ? { policy: doc, changed: false }
      : { policy: { members: [...doc.members, member] }, changed: true };

const remove =
  (member: string): PolicyEditFn<Doc> =>
  (doc) =>
    doc.members.includes(member)
      ? { policy: { members: doc.members.filter((m) => m !== member) }, changed: true }
      : { policy: doc, changed: false };

class Refused extends Error {}

/** A one-document store written by read-modify-write, with what each write carried and hooks to interfere. */
class Store {
  doc: Doc = { members: [] };
  reads = 0;
  writes: Doc[] = [];
  /** Thrown by the next writes, one per write. */
  failWrites: Error[] = [];
  /** Runs after the next read, before the batch is applied (e.g. queue more edits). */
  afterRead: (() => void) | undefined;
  /** Runs after the next batch is applied, before it is written. */
  beforeWrite: (() => void) | undefined;
  /** The cloud's refusal of a policy it will not store, as Google refuses an account that does not exist. */
  refuse: (doc: Doc) => Error | undefined = () => undefined;

  /** One read-modify-write, retried up to `attempts` times on a write failure, as the provider's retries do. */
  async write(batch: PolicyEditBatch<Doc, string>, attempts = 1): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      this.reads += 1;
      const read = { members: [...this.doc.members] };
      await Promise.resolve();
      const hook = this.afterRead;
      this.afterRead = undefined;
      hook?.();
      const next = batch.applyTo(read);
      if (!next.changed) return;
      const beforeWrite = this.beforeWrite;
      this.beforeWrite = undefined;
      beforeWrite?.();
      await Promise.resolve();
      const refusal = this.refuse(next.policy);
      if (refusal) throw refusal;
      const failure = this.failWrites.shift();
      if (failure === undefined) {
        this.writes.push(next.policy);
        this.doc = next.policy;
        return;
      }
      if (attempt >= attempts) throw failure;
    }
  }
}

function batcherOver(store: Store, options: { attempts?: number; turns?: ResourceTurns } = {}) {
  const refusals: string[] = [];
  const batches: string[][] = [];
  const failedBatches: string[][] = [];
  const batcher = new PolicyEditBatcher<Doc, string>({
    turns: options.turns ?? new InProcessTurns(),
    turnKey: (resource) => `test:${resource}`,
    write: async (_resource, batch) => {
      await store.write(batch, options.attempts);
      batches.push(batch.metas);
    },
    refusal: (_resource, meta, error) => {
      refusals.push(meta);
      return error;
    },
    batchFailure: (_resource, metas, error) => {
      failedBatches.push(metas);
      return error;
    },
    mayBeOneEditsFault: (error) => error instanceof Refused,
    turnFailure: (resource, metas, error) => new Error(`no turn on ${resource} for ${metas.join(',')}: ${error}`),
  });
  return { batcher, refusals, batches, failedBatches };
}

async function outcomeOf(promise: Promise<boolean>): Promise<boolean | string> {
  return promise.then(
    (changed) => changed,
    (error: unknown) => `rejected: ${(error as Error).message}`,
  );
}

describe('PolicyEditBatcher', () => {
  it('applies edits queued together in one write, in order, each resolving with whether it changed the policy', async () => {
    const store = new Store();
    store.doc = { members: ['bob'] };
    const { batcher } = batcherOver(store);

    const outcomes = await Promise.all([
      batcher.edit('p', 'a', add('alice')),
      batcher.edit('p', 'b', add('bob')),
      batcher.edit('p', 'c', remove('bob')),
      batcher.edit('p', 'd', add('carol')),
    ]);

    expect(outcomes).toEqual([true, false, true, true]);
    expect(store.writes).toEqual([{ members: ['alice', 'carol'] }]);
    expect(store.reads).toBe(1);
  });

  it('writes nothing and resolves every edit with false when no edit changes the policy', async () => {
    const store = new Store();
    store.doc = { members: ['alice'] };
    const { batcher } = batcherOver(store);

    const outcomes = await Promise.all([batcher.edit('p', 'a', add('alice')), batcher.edit('p', 'b', remove('bob'))]);

    expect(outcomes).toEqual([false, false]);
    expect(store.writes).toEqual([]);
  });

  it('rejects only the edit that throws, with its own error, and writes the others', async () => {
    const store = new Store();
    const { batcher, refusals } = batcherOver(store);
    const refuse: PolicyEditFn<Doc> = () => {
      throw new Error('the limit of ten members');
    };

    const outcomes = await Promise.all([
      outcomeOf(batcher.edit('p', 'a', add('alice'))),
      outcomeOf(batcher.edit('p', 'b', refuse)),
      outcomeOf(batcher.edit('p', 'c', add('carol'))),
    ]);

    expect(outcomes).toEqual([true, 'rejected: the limit of ten members', true]);
    expect(refusals).toEqual(['b']);
    expect(store.writes).toEqual([{ members: ['alice', 'carol'] }]);
  });

  it('takes edits queued while the batch was being read into it: one write for all of them', async () => {
    const store = new Store();
    const { batcher, batches } = batcherOver(store);
    const later: Promise<boolean>[] = [];
    store.afterRead = () => {
      later.push(batcher.edit('p', 'b', add('bob')), batcher.edit('p', 'c', add('carol')));
    };

    const first = batcher.edit('p', 'a', add('alice'));
    // Edits queued while the first batch was being read join it when it is applied (here: after its read).
    await expect(first).resolves.toBe(true);
    await expect(Promise.all(later)).resolves.toEqual([true, true]);

    expect(batches).toEqual([['a', 'b', 'c']]);
    expect(store.writes).toEqual([{ members: ['alice', 'bob', 'carol'] }]);
  });

  it('takes edits queued while a batch is written into the next batch, one write for all of them', async () => {
    const store = new Store();
    const { batcher, batches } = batcherOver(store);
    const later: Promise<boolean>[] = [];
    store.beforeWrite = () => {
      later.push(batcher.edit('p', 'b', add('bob')), batcher.edit('p', 'c', add('carol')));
    };

    await expect(batcher.edit('p', 'a', add('alice'))).resolves.toBe(true);
    await expect(Promise.all(later)).resolves.toEqual([true, true]);

    expect(batches).toEqual([['a'], ['b', 'c']]);
    expect(store.writes).toEqual([{ members: ['alice'] }, { members: ['alice', 'bob', 'carol'] }]);
  });

  it('re-applies the whole batch on a fresh read when a write is retried, with edits queued meanwhile', async () => {
    const store = new Store();
    store.failWrites = [new Error('etag moved on')];
    const { batcher } = batcherOver(store, { attempts: 3 });
    const queuedDuringRetry: Promise<boolean>[] = [];
    const first = batcher.edit('p', 'a', add('alice'));
    store.afterRead = () => {
      // Someone else wrote between our read and our write; then another edit of ours arrives.
      store.doc = { members: ['zed'] };
      store.afterRead = () => queuedDuringRetry.push(batcher.edit('p', 'b', add('bob')));
    };

    await expect(first).resolves.toBe(true);
    await expect(Promise.all(queuedDuringRetry)).resolves.toEqual([true]);

    expect(store.writes).toEqual([{ members: ['zed', 'alice', 'bob'] }]);
  });

  it('rejects every edit of a batch whose write fails for good, and goes on with edits queued after it', async () => {
    const store = new Store();
    store.failWrites = [new Error('unavailable')];
    const { batcher, failedBatches } = batcherOver(store);

    const outcomes = await Promise.all([
      outcomeOf(batcher.edit('p', 'a', add('alice'))),
      outcomeOf(batcher.edit('p', 'b', add('bob'))),
    ]);
    const afterwards = await batcher.edit('p', 'c', add('carol'));

    expect(outcomes).toEqual(['rejected: unavailable', 'rejected: unavailable']);
    expect(failedBatches).toEqual([['a', 'b']]);
    expect(afterwards).toBe(true);
    expect(store.doc).toEqual({ members: ['carol'] });
  });

  it('writes each edit alone when the cloud refused the batch’s policy, so only the culprit fails', async () => {
    const store = new Store();
    const { batcher, failedBatches } = batcherOver(store);
    store.refuse = (doc) => (doc.members.includes('ghost') ? new Refused('User ghost does not exist.') : undefined);

    const outcomes = await Promise.all([
      outcomeOf(batcher.edit('p', 'a', add('alice'))),
      outcomeOf(batcher.edit('p', 'g', add('ghost'))),
      outcomeOf(batcher.edit('p', 'c', add('carol'))),
    ]);

    expect(outcomes).toEqual([true, 'rejected: User ghost does not exist.', true]);
    expect(store.doc).toEqual({ members: ['alice', 'carol'] });
    // The batch was not failed as a whole: only the culprit's own write was.
    expect(failedBatches).toEqual([['g']]);
  });

  it('does not split a batch whose failure cannot be one edit’s fault', async () => {
    const store = new Store();
    store.failWrites = [new Error('permission denied')];
    const { batcher } = batcherOver(store);

    const outcomes = await Promise.all([
      outcomeOf(batcher.edit('p', 'a', add('alice'))),
      outcomeOf(batcher.edit('p', 'b', add('bob'))),
    ]);

    expect(outcomes).toEqual(['rejected: permission denied', 'rejected: permission denied']);
    expect(store.reads).toBe(1);
  });

  it('keeps resources apart: a batch per resource, each written once', async () => {
    const stores = new Map([
      ['p1', new Store()],
      ['p2', new Store()],
    ]);
    const batcher = new PolicyEditBatcher<Doc, string>({
      turns: new InProcessTurns(),
      turnKey: (resource) => resource,
      write: (resource, batch) => (stores.get(resource) as Store).write(batch),
      refusal: (_resource, _meta, error) => error,
      batchFailure: (_resource, _metas, error) => error,
      mayBeOneEditsFault: () => false,
      turnFailure: (_resource, _metas, error) => error,
    });

    await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.edit(i % 2 === 0 ? 'p1' : 'p2', `r${i}`, add(`m${i}`))),
    );

    expect(stores.get('p1')?.writes).toEqual([{ members: ['m0', 'm2', 'm4', 'm6', 'm8'] }]);
    expect(stores.get('p2')?.writes).toEqual([{ members: ['m1', 'm3', 'm5', 'm7', 'm9'] }]);
  });

  it('rejects the waiting edits, naming them, when no turn can be had, and drains again once it can', async () => {
    const store = new Store();
    let refuseTurns = true;
    const inProcess = new InProcessTurns();
    const turns: ResourceTurns = {
      withTurn: (key, work) =>
        refuseTurns ? Promise.reject(new Error('the store is unreachable')) : inProcess.withTurn(key, work),
    };
    const { batcher } = batcherOver(store, { turns });

    const outcomes = await Promise.all([
      outcomeOf(batcher.edit('p', 'a', add('alice'))),
      outcomeOf(batcher.edit('p', 'b', add('bob'))),
    ]);
    refuseTurns = false;

    expect(outcomes).toEqual([
      'rejected: no turn on p for a,b: Error: the store is unreachable',
      'rejected: no turn on p for a,b: Error: the store is unreachable',
    ]);
    expect(store.reads).toBe(0);
    await expect(batcher.edit('p', 'c', add('carol'))).resolves.toBe(true);
  });
});
