import { runBench } from '../../bench/bench';

/** A tiny run of `npm run bench`, so the benchmark keeps working; its numbers are not looked at here. */
describe('the benchmark', () => {
  it('drives every phase end to end and finds every grant revoked exactly once', async () => {
    const redisUrl = process.env.JIT_TEST_REDIS_URL;
    if (!redisUrl) throw new Error('JIT_TEST_REDIS_URL is not set: run the tests through jest');
    const results = await runBench({
      redisUrl,
      commandsPerSecond: 20,
      commandSeconds: 1,
      clicks: 5,
      expiring: [20],
      lifecycles: 20,
      cloudLatencyMs: 5,
      cloudCallsPerSecond: 0,
      // The test Redis runs without AOF, which the bot rightly warns about; only errors would matter here.
      logLevel: 'error',
    });
    expect(results.ackLatency.count).toBe(20);
    expect(results.clickToGrantCall.count).toBe(5);
    expect(results.expiry).toEqual([expect.objectContaining({ grants: 20, revokedExactlyOnce: true, grantsLeft: 0 })]);
    expect(results.expiry[0]?.lateness.count).toBe(20);
    expect(results.lifecycles).toMatchObject({ count: 20, allRevoked: true });
  }, 60_000);
});
