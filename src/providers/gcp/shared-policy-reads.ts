/** Single-flight reads of an allow policy: concurrent read-backs of one resource in this process share one call. */

/**
 * Shares an in-flight read of a resource with every reader that asks while it runs, unless this process wrote the
 * resource since that read started: a caller checking its own grant must see a read that began after the write.
 */
export class SharedPolicyReads<P> {
  private readonly inFlight = new Map<string, { generation: number; read: Promise<P> }>();
  /** Per resource, how many writes of this process have ended (landed or not: a timed-out write may still land). */
  private readonly generations = new Map<string, number>();

  /** The read in flight for `resource`, if it started after the last write ended; else `read()`, shared from now. */
  read(resource: string, read: () => Promise<P>): Promise<P> {
    const generation = this.generations.get(resource) ?? 0;
    const shared = this.inFlight.get(resource);
    if (shared && shared.generation === generation) return shared.read;
    const started = read().finally(() => {
      if (this.inFlight.get(resource)?.read === started) this.inFlight.delete(resource);
    });
    this.inFlight.set(resource, { generation, read: started });
    return started;
  }

  /** Call when a write of `resource` has ended, however: reads already in flight are no longer shared. */
  wrote(resource: string): void {
    this.generations.set(resource, (this.generations.get(resource) ?? 0) + 1);
  }
}
