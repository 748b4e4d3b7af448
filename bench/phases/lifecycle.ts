/** The throughput phase: complete lifecycles run at once, from the first request to the last revoke call. */
import { type BotRun, fileAutoApproved, freshPeople, userId, waitForState } from '../driver';
import { fakeCloudKeys } from '../latency-provider';
import { waitUntil } from '../stats';

export interface LifecycleResult {
  count: number;
  seconds: number;
  perSecond: number;
  allRevoked: boolean;
}

/** Complete lifecycles run concurrently: request, auto-approval, grant, 1 s of access, revocation. */
export async function lifecyclePhase(run: BotRun, count: number): Promise<LifecycleResult> {
  const { redis, prefix } = run;
  const started = Date.now();
  const first = freshPeople(count);
  const people = Array.from({ length: count }, (_, index) => userId(first + index));
  const ids = await fileAutoApproved(run, people, () => 'bench-auto', '1s');
  const keys = fakeCloudKeys(prefix);
  await waitUntil(
    async () => (await redis.hmget(keys.revokeCalls, ...ids)).every((value) => value !== null),
    600_000,
    `${count} lifecycles`,
  );
  const seconds = (Date.now() - started) / 1000;
  await waitForState(run, ids, 'expired', 120_000);
  const held = await redis.smismember(keys.held, ...ids);
  return {
    count,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round((count / seconds) * 10) / 10,
    allRevoked: held.every((member) => member === 0),
  };
}
