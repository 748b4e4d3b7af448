/** A fake cloud with a fixed latency and an optional rate limit, recording in Redis when each call arrived. */
import type { Redis } from 'ioredis';
import type { CloudProvider, GrantOutcome, GrantSpec } from '../src/domain/ports';

/** How the fake cloud behaves: a fixed latency per call and, optionally, a rate limit shared by all its calls. */
export interface FakeCloudOptions {
  /** Added to every grant, revoke and verify call. */
  latencyMs: number;
  /** Calls per second the cloud accepts in this process; 0 means no limit. Calls beyond it wait their turn. */
  callsPerSecond: number;
}

/** Redis keys where the fake cloud records what it was asked, so several bot processes share one record. */
export function fakeCloudKeys(prefix: string) {
  return {
    /** request ID → epoch ms of the first grant call. */
    grantCalls: `${prefix}:bench:grant-calls`,
    /** request ID → number of revoke calls. */
    revokeCounts: `${prefix}:bench:revoke-counts`,
    /** request ID → epoch ms of the first revoke call. */
    revokeCalls: `${prefix}:bench:revoke-calls`,
    /** request IDs the fake cloud holds a grant for. */
    held: `${prefix}:bench:held`,
  };
}

/**
 * A cloud provider standing in for AWS, Azure or GCP in the benchmark: it answers after a configurable latency,
 * honours a rate limit, and records when each grant and revoke call was issued. It takes the place of the
 * `dryrun` provider, so the bench policy's roles use it.
 */
export class LatencyCloudProvider implements CloudProvider {
  readonly name = 'dryrun';
  readonly identifiesPeopleByEmail = false;
  private nextSlotAt = 0;
  private readonly keys: ReturnType<typeof fakeCloudKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly options: FakeCloudOptions,
  ) {
    this.keys = fakeCloudKeys(prefix);
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    await this.redis.hsetnx(this.keys.grantCalls, spec.requestId, String(Date.now()));
    await this.call();
    await this.redis.sadd(this.keys.held, spec.requestId);
    return { memo: { fake: 'yes' } };
  }

  async revoke(spec: GrantSpec): Promise<void> {
    const issuedAt = Date.now();
    await this.redis
      .multi()
      .hsetnx(this.keys.revokeCalls, spec.requestId, String(issuedAt))
      .hincrby(this.keys.revokeCounts, spec.requestId, 1)
      .exec();
    await this.call();
    await this.redis.srem(this.keys.held, spec.requestId);
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    await this.call();
    return (await this.redis.sismember(this.keys.held, spec.requestId)) === 1;
  }

  /** Waits for a slot under the rate limit, then for the latency. */
  private async call(): Promise<void> {
    const { latencyMs, callsPerSecond } = this.options;
    let waitMs = latencyMs;
    if (callsPerSecond > 0) {
      const now = Date.now();
      const slot = Math.max(now, this.nextSlotAt);
      this.nextSlotAt = slot + 1000 / callsPerSecond;
      waitMs += slot - now;
    }
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
