/**
 * Coalesces the edits due on one allow policy into one read-modify-write: per resource, an in-process queue of
 * edits, drained in turns shared by every process, each edit settled with its own outcome.
 */
import type { ResourceTurns } from '../../domain/ports';

/** One edit's change to a policy; `changed` false when the policy already says what the edit wants. */
export type PolicyEditFn<P> = (policy: P) => { policy: P; changed: boolean };

/** An edit waiting for its batch, and its caller's promise. */
interface PendingEdit<P, M> {
  meta: M;
  apply: PolicyEditFn<P>;
  resolve(changed: boolean): void;
  reject(error: unknown): void;
}

type EditOutcome = { changed: boolean } | { error: unknown };

/**
 * The edits one read-modify-write applies. {@link applyTo} may run several times (once per attempt, each on a fresh
 * read); each run first takes in the edits queued since, and the outcome of the last run is each edit's.
 */
export class PolicyEditBatch<P, M> {
  private readonly edits: PendingEdit<P, M>[];
  private readonly outcomes = new Map<PendingEdit<P, M>, EditOutcome>();

  constructor(
    edits: PendingEdit<P, M>[],
    /** Edits queued for the resource since the batch was taken; none for a batch of one edit on its own. */
    private readonly takeQueued: () => PendingEdit<P, M>[] = () => [],
  ) {
    this.edits = [...edits];
  }

  get size(): number {
    return this.edits.length;
  }

  /** What each edit was queued with (for the provider: whose request, grant or revoke), in order. */
  get metas(): M[] {
    return this.edits.map((edit) => edit.meta);
  }

  /**
   * Applies every edit in order to `policy`, each to the result of the ones before. An edit that throws (a limit it
   * would break, say) is left out and will be rejected alone; the others are unaffected.
   */
  applyTo(policy: P): { policy: P; changed: boolean } {
    this.edits.push(...this.takeQueued());
    let working = policy;
    let changed = false;
    for (const edit of this.edits) {
      try {
        const result = edit.apply(working);
        this.outcomes.set(edit, { changed: result.changed });
        if (result.changed) {
          working = result.policy;
          changed = true;
        }
      } catch (error) {
        this.outcomes.set(edit, { error });
      }
    }
    return { policy: working, changed };
  }

  /** Edits the last {@link applyTo} left out, with why: each is rejected alone once the batch is written. */
  refusals(): { meta: M; error: unknown }[] {
    return this.edits.flatMap((edit) => {
      const outcome = this.outcomes.get(edit);
      return outcome && 'error' in outcome ? [{ meta: edit.meta, error: outcome.error }] : [];
    });
  }

  /** The write went through (or nothing needed writing): each edit settles with its own outcome. */
  settle(refusal: (meta: M, error: unknown) => unknown): void {
    for (const edit of this.edits) {
      const outcome = this.outcomes.get(edit);
      if (outcome === undefined) {
        // A write function that returned without applying the batch: a bug, said as one rather than a silent false.
        edit.reject(new Error('the batch was written without applying this edit'));
      } else if ('error' in outcome) edit.reject(refusal(edit.meta, outcome.error));
      else edit.resolve(outcome.changed);
    }
  }

  /** The read or the write failed for good: every edit of the batch fails with it, and each caller retries alone. */
  fail(error: unknown): void {
    for (const edit of this.edits) edit.reject(error);
  }

  /** Each edit as a batch of its own, to find the one a refused write was about. */
  split(): PolicyEditBatch<P, M>[] {
    return this.edits.map((edit) => new PolicyEditBatch([edit]));
  }
}

export interface PolicyEditBatcherDeps<P, M> {
  /** Turns shared by every process that writes these policies, so their read-modify-writes do not race. */
  turns: ResourceTurns;
  /** The turn key of a resource's policy. */
  turnKey(resource: string): string;
  /**
   * One read-modify-write with the caller's retries: read, `batch.applyTo`, write with the etag read when anything
   * changed. Throws what still fails after the retries.
   */
  write(resource: string, batch: PolicyEditBatch<P, M>): Promise<void>;
  /** What the caller of an edit left out of a written batch is rejected with (and a chance to log it). */
  refusal(resource: string, meta: M, error: unknown): unknown;
  /** What every edit of a batch that failed for good is rejected with (and a chance to log it). */
  batchFailure(resource: string, metas: M[], error: unknown): unknown;
  /**
   * Whether a batch's failure may be one edit's fault (the cloud refused the policy written, not the call): the
   * batch's edits are then written one by one, so only the culprit fails.
   */
  mayBeOneEditsFault(error: unknown): boolean;
  /** What the queued edits are rejected with when no turn could be had (the shared store unreachable, say). */
  turnFailure(resource: string, metas: M[], error: unknown): unknown;
}

/**
 * Per resource, edits queue in this process; the first starts a drain that, in the resource's turn, takes every
 * queued edit and writes them as one batch, and again while edits keep coming. N edits due together thus cost
 * about two writes, not N, and no two processes race on one policy's etag.
 */
export class PolicyEditBatcher<P, M> {
  private readonly queues = new Map<string, PendingEdit<P, M>[]>();
  private readonly draining = new Set<string>();

  constructor(private readonly deps: PolicyEditBatcherDeps<P, M>) {}

  /** Queues `apply` for `resource`; resolves with whether it changed the policy once its batch is written. */
  edit(resource: string, meta: M, apply: PolicyEditFn<P>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const queue = this.queues.get(resource) ?? [];
      queue.push({ meta, apply, resolve, reject });
      this.queues.set(resource, queue);
      if (!this.draining.has(resource)) void this.drain(resource);
    });
  }

  private takeQueued(resource: string): PendingEdit<P, M>[] {
    const queue = this.queues.get(resource) ?? [];
    this.queues.delete(resource);
    return queue;
  }

  private async drain(resource: string): Promise<void> {
    this.draining.add(resource);
    try {
      await this.deps.turns.withTurn(this.deps.turnKey(resource), async () => {
        for (let edits = this.takeQueued(resource); edits.length > 0; edits = this.takeQueued(resource)) {
          await this.writeBatch(resource, new PolicyEditBatch(edits, () => this.takeQueued(resource)));
        }
      });
    } catch (error) {
      // Only the turn itself throws here (writeBatch settles every edit it took): nothing of these was written.
      const stranded = this.takeQueued(resource);
      const failure = this.deps.turnFailure(
        resource,
        stranded.map((edit) => edit.meta),
        error,
      );
      for (const edit of stranded) edit.reject(failure);
    } finally {
      this.draining.delete(resource);
      // Queued after the last look but before the drain ended: it saw a drain running and started none.
      if (this.queues.has(resource)) void this.drain(resource);
    }
  }

  private async writeBatch(resource: string, batch: PolicyEditBatch<P, M>): Promise<void> {
    const refusal = (meta: M, error: unknown) => this.deps.refusal(resource, meta, error);
    try {
      await this.deps.write(resource, batch);
      batch.settle(refusal);
    } catch (error) {
      if (batch.size === 1 || !this.deps.mayBeOneEditsFault(error)) {
        batch.fail(this.deps.batchFailure(resource, batch.metas, error));
        return;
      }
      // One edit may have made the cloud refuse the whole policy (an account that does not exist, say): write each
      // alone, so that edit fails with the cloud's reason and the others go through.
      for (const single of batch.split()) await this.writeBatch(resource, single);
    }
  }
}
