/** Turns on a key within this one process: what a provider uses when no shared `ResourceTurns` is given to it. */
import type { ResourceTurns } from '../domain/ports';

/**
 * One promise chain per key: each `work` starts when the previous one on its key has settled, whatever its outcome.
 * Only right for a single process (a test, the CLI); the running bot injects the Redis implementation, which every
 * process shares.
 */
export class InProcessTurns implements ResourceTurns {
  /** The end of each key's chain; removed when the last queued work settles, so idle keys cost nothing. */
  private readonly tails = new Map<string, Promise<void>>();

  async withTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = (): void => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
