/** A limit on operations under way at once within this one process, for a cloud that counts them. */

/**
 * Slots for operations that the cloud counts while they run: `use` waits for a free slot and holds it until its
 * work settles, whatever the outcome. Waiters are served in the order they came. Only this process's operations
 * are counted.
 */
export class OperationSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`operation slots: size must be ≥ 1, not ${size}`);
  }

  /** Operations holding a slot now. */
  get underWay(): number {
    return this.running;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running += 1;
    // The slot is handed over by the one that frees it, so `running` already counts this waiter.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
