/** The expiry phase: how late each revoke call of N grants due at once comes, and the same calls from a plain loop. */
import { Redis } from 'ioredis';
import { forEachLimited } from '../../src/domain/for-each-limited';
import {
  type BotRun,
  fileAutoApproved,
  freshPeople,
  moveExpiryToOneInstant,
  usedMemory,
  userId,
  waitForNotices,
  waitForState,
} from '../driver';
import { type FakeCloudOptions, fakeCloudKeys, LatencyCloudProvider } from '../latency-provider';
import { type Summary, type SummaryRatio, sleepUntil, summarize, summaryRatio, waitUntil } from '../stats';

export interface ExpiryOptions {
  grants: number;
  cloud: FakeCloudOptions;
  /** Bot processes running revocations, each with its own share of the cloud's rate limit. */
  botProcesses: number;
  /** Revocations each bot process runs at once (its `JIT_REVOKE_CONCURRENCY`). */
  revokeConcurrency: number;
}

export interface ExpiryRun {
  grants: number;
  /** When the fake cloud received each revoke call, minus the common expiry. */
  lateness: Summary;
  /** The same calls to the same fake cloud from a plain loop at the bot's concurrency, all due at one instant. */
  floor: Summary;
  /** The bot's lateness over the floor's, percentile by percentile. */
  ratio: SummaryRatio;
  redisBytesPerActiveGrant: number;
  /** RSS of the bot (the largest process) once all the grants are active. */
  botRssAtActiveMiB: number;
  /** Every grant revoked exactly once, none left in the fake cloud, every request `expired`. */
  revokedExactlyOnce: boolean;
  grantsLeft: number;
}

/** N active grants, moved to expire at the same instant; measures how late each revoke call is issued. */
export async function expiryPhase(run: BotRun, options: ExpiryOptions): Promise<ExpiryRun> {
  const { redis, prefix, say } = run;
  const { grants } = options;
  const memoryBefore = await usedMemory(redis);
  const first = freshPeople(grants);
  const people = Array.from({ length: grants }, (_, index) => userId(first + index));
  const ids = await fileAutoApproved(run, people, () => 'bench-auto', '1h');
  await waitForState(run, ids, 'active', 600_000);
  const rssAtActive = await run.bot.rssBytes();
  run.noteRss(rssAtActive);
  // The activation notices of the setup are delivered first, so the expiry is measured on its own; the memory is
  // measured then too, as what the grants keep while they last rather than what their notices take on the way.
  await waitForNotices(run);
  const redisBytesPerActiveGrant = Math.round(((await usedMemory(redis)) - memoryBefore) / grants);
  const expiresAt = await moveExpiryToOneInstant(run, ids);
  const keys = fakeCloudKeys(prefix);
  await waitUntil(
    async () => (await redis.hmget(keys.revokeCalls, ...ids)).every((value) => value !== null),
    600_000,
    `${grants} revocations`,
  );
  const calls = await redis.hmget(keys.revokeCalls, ...ids);
  const lateness = summarize(calls.map((value) => Number(value) - expiresAt));
  await waitForState(run, ids, 'expired', 120_000);
  const counts = await redis.hmget(keys.revokeCounts, ...ids);
  const held = await redis.smismember(keys.held, ...ids);
  say(`  floor: the same ${grants} revoke calls from a plain loop`);
  const floor = await revocationFloor(run, ids, options);
  return {
    grants,
    lateness,
    floor,
    ratio: summaryRatio(lateness, floor),
    redisBytesPerActiveGrant,
    botRssAtActiveMiB: toMiB(rssAtActive),
    revokedExactlyOnce: counts.every((count) => count === '1'),
    grantsLeft: held.filter((member) => member === 1).length,
  };
}

/**
 * The least lateness this cloud allows: the same revoke calls to a fake cloud with the same latency and rate
 * limit, from a plain loop per bot process at the bot's revoke concurrency, all due at one whole second. Each call
 * is recorded on arrival exactly as the bot's are (the fake cloud's own record, under a key prefix of its own).
 */
async function revocationFloor(run: BotRun, ids: readonly string[], options: ExpiryOptions): Promise<Summary> {
  const floorPrefix = `${run.prefix}:floor-${ids.length}`;
  // One connection and one rate limit per bot process, as each process of the bot has.
  const connections = Array.from({ length: options.botProcesses }, () => new Redis(run.redis.options));
  try {
    const clouds = connections.map((redis) => new LatencyCloudProvider(redis, floorPrefix, options.cloud));
    const dueAt = Math.ceil((Date.now() + 1_000) / 1000) * 1000;
    await sleepUntil(dueAt);
    await Promise.all(
      clouds.map((cloud, share) =>
        forEachLimited(
          ids.filter((_, index) => index % clouds.length === share),
          options.revokeConcurrency,
          (requestId) =>
            cloud.revoke({
              requestId,
              roleId: 'bench-auto',
              target: {},
              principal: { slackUserId: 'U0FLOOR', identities: {} },
              expiresAt: dueAt,
            }),
        ),
      ),
    );
    const calls = await run.redis.hmget(fakeCloudKeys(floorPrefix).revokeCalls, ...ids);
    return summarize(calls.map((value) => Number(value) - dueAt));
  } finally {
    await Promise.all(connections.map((redis) => redis.quit()));
  }
}

export function toMiB(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
