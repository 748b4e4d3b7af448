/** A limit on operations under way at once within this one process, for a cloud that counts them. */
import type { OperationSlotPool } from '../domain/ports';

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

/** {@link OperationSlotPool} within this one process: one {@link OperationSlots} per key (for a bot without Redis). */
export class InProcessOperationSlotPool implements OperationSlotPool {
  private readonly byKey = new Map<string, OperationSlots>();

  async use<T>(key: string, size: number, work: () => Promise<T>): Promise<T> {
    let slots = this.byKey.get(key);
    if (slots === undefined) {
      slots = new OperationSlots(size);
      this.byKey.set(key, slots);
    }
    return slots.use(work);
  }
}
