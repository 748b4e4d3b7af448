import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { paceTiming } from '../../src/domain/call-pace';
import type { CallRate } from '../../src/domain/ports';
import { InProcessCallPacer } from '../../src/providers/in-process-pacer';
import { RedisCallPacer } from '../../src/store/call-pacer';
import { RedisKeys } from '../../src/store/keys';

/** Two processes' worth of pacers: separate connections, one Redis, one key prefix per test. */
let connections: Redis[] = [];
let keys: RedisKeys;

beforeEach(() => {
  keys = new RedisKeys(`jit-pace-${randomUUID().slice(0, 8)}`);
});

afterEach(async () => {
  await Promise.all(connections.map((connection) => connection.quit()));
  connections = [];
});

function pacer(): RedisCallPacer {
  const url = process.env.JIT_TEST_REDIS_URL;
  if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
  const connection = new Redis(url);
  connections.push(connection);
  return new RedisCallPacer(connection, keys);
}

/** The gaps between consecutive slots, in microseconds, in the order the slots were reserved. */
function gaps(slots: readonly number[]): number[] {
  return slots.slice(1).map((slot, index) => slot - (slots[index] ?? slot));
}

const TEN_A_SECOND: CallRate = { perSecond: 10, burst: 5 };
const INTERVAL_US = 100_000;

describe('RedisCallPacer', () => {
  it('lets burst − 1 calls go at once, then spaces every later slot one interval apart across processes', async () => {
    const [first, second] = [pacer(), pacer()];
    const slots: number[] = [];
    // Alternating between two instances (two processes), strictly one after the other so the order is known.
    for (let call = 0; call < 12; call += 1) {
      const { slotUs } = await (call % 2 === 0 ? first : second).reserve('azure-arm:sub:writes', TEN_A_SECOND);
      slots.push(slotUs);
    }
    const between = gaps(slots);
    // Burst 5 keeps one of the cloud's tokens: four go at once (their slots are "now", a few µs apart at most).
    expect(between.slice(0, 3).every((gap) => gap < INTERVAL_US)).toBe(true);
    // From the fifth on, each slot is exactly one interval after the one before, whichever process asked.
    expect(between.slice(4)).toEqual(Array(7).fill(INTERVAL_US));
    expect((slots[4] ?? 0) - (slots[0] ?? 0)).toBeGreaterThanOrEqual(INTERVAL_US);
  });

  it('hands out distinct, ordered slots to callers racing from two processes', async () => {
    const [first, second] = [pacer(), pacer()];
    const reserved = await Promise.all(
      Array.from({ length: 20 }, (_, call) =>
        (call % 2 === 0 ? first : second).reserve('aws-iam', { perSecond: 20, burst: 1 }),
      ),
    );
    const slots = reserved.map((slot) => slot.slotUs).sort((a, b) => a - b);
    // burst 1: one at a time, every slot 50 ms after the previous one, none shared.
    expect(gaps(slots).every((gap) => gap >= 50_000)).toBe(true);
    expect(new Set(slots).size).toBe(20);
  });

  it('pushes every later slot past a hold-off, with no burst right after it', async () => {
    const [first, second] = [pacer(), pacer()];
    const before = await first.reserve('azure-arm:sub:deletes', TEN_A_SECOND);
    await second.holdOff('azure-arm:sub:deletes', 2_000);
    const after = [];
    for (let call = 0; call < 4; call += 1) after.push(await first.reserve('azure-arm:sub:deletes', TEN_A_SECOND));
    const holdEnd = before.slotUs + 2_000_000;
    expect(after.every((slot) => slot.slotUs >= holdEnd)).toBe(true);
    expect(after.every((slot) => slot.waitMs > 1_500)).toBe(true);
    // The cloud's bucket is empty after a throttle: one interval apart from the first, not a burst.
    expect(gaps(after.map((slot) => slot.slotUs))).toEqual([INTERVAL_US, INTERVAL_US, INTERVAL_US]);
  });

  it('never shortens a hold-off with a shorter one', async () => {
    const one = pacer();
    await one.holdOff('gcp-resource-manager', 3_000);
    await one.holdOff('gcp-resource-manager', 10);
    expect((await one.reserve('gcp-resource-manager', TEN_A_SECOND)).waitMs).toBeGreaterThan(2_500);
  });

  it('keeps keys apart: a busy or held key does not slow another', async () => {
    const one = pacer();
    await one.holdOff('aws-iam', 5_000);
    for (let call = 0; call < 10; call += 1) await one.reserve('azure-arm:sub:writes', TEN_A_SECOND);
    const other = await one.reserve('aws-identity-center', TEN_A_SECOND);
    expect(other.waitMs).toBeLessThanOrEqual(0);
  });

  it('reads the rate at each reservation, so a new rate applies to the next call', async () => {
    const one = pacer();
    const slow = { perSecond: 1, burst: 1 };
    const first = await one.reserve('aws-iam', slow);
    const second = await one.reserve('aws-iam', slow);
    expect(second.slotUs - first.slotUs).toBe(1_000_000);
    const faster = { perSecond: 100, burst: 1 };
    const third = await one.reserve('aws-iam', faster);
    const fourth = await one.reserve('aws-iam', faster);
    expect(fourth.slotUs - third.slotUs).toBe(10_000);
  });

  it('takes: resolves once its slot has come, the next caller after the one before', async () => {
    const one = pacer();
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2].map((call) => one.take('aws-iam', { perSecond: 50, burst: 1 }).then(() => order.push(call))),
    );
    expect(order).toEqual([0, 1, 2]);
  });

  it('leaves no key behind once its pace means nothing more', async () => {
    const one = pacer();
    await one.reserve('aws-iam', { perSecond: 10, burst: 1 });
    const ttl = await (connections[0] as Redis).pttl(keys.callPace('aws-iam'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_100);
  });
});

describe('InProcessCallPacer', () => {
  it('keeps the same pace as the Redis one on its clock: burst − 1 at once, then one interval apart', () => {
    let now = 1_000_000;
    const pacer = new InProcessCallPacer({ now: () => now });
    const slots = Array.from({ length: 8 }, () => pacer.reserve('aws-iam', TEN_A_SECOND));
    expect(slots).toEqual([now, now, now, now, now + 100, now + 200, now + 300, now + 400]);
    now += 10_000;
    expect(pacer.reserve('aws-iam', TEN_A_SECOND)).toBe(now);
  });

  it('pushes later slots past a hold-off without a burst after it, and keeps keys apart', async () => {
    const now = 5_000;
    const pacer = new InProcessCallPacer({ now: () => now });
    await pacer.holdOff('azure-arm:sub:writes', 1_000);
    expect([0, 1, 2].map(() => pacer.reserve('azure-arm:sub:writes', TEN_A_SECOND))).toEqual([6_000, 6_100, 6_200]);
    expect(pacer.reserve('azure-arm:sub:reads', TEN_A_SECOND)).toBe(now);
  });

  it('refuses a rate the policy schema would refuse rather than pace nonsense', () => {
    const pacer = new InProcessCallPacer({ now: () => 0 });
    expect(() => pacer.reserve('aws-iam', { perSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => pacer.reserve('aws-iam', { perSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('paceTiming', () => {
  it("spends all of the cloud's bucket at once but a tenth of it (at least one token)", () => {
    const atOnce = (rate: CallRate) => {
      const { intervalMs, toleranceMs } = paceTiming(rate);
      return Math.round(toleranceMs / intervalMs) + 1;
    };
    expect(atOnce({ perSecond: 10, burst: 1 })).toBe(1);
    expect(atOnce({ perSecond: 10, burst: 2 })).toBe(1);
    expect(atOnce({ perSecond: 10, burst: 5 })).toBe(4);
    expect(atOnce({ perSecond: 20, burst: 20 })).toBe(18);
    expect(atOnce({ perSecond: 10, burst: 200 })).toBe(180);
    expect(paceTiming({ perSecond: 20, burst: 20 }).intervalMs).toBe(50);
  });
});
