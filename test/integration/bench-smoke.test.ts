import { PHASES, runBench } from '../../bench/bench';
import { letGoogleClientsFetchInJest } from '../support/fake-gcp-crm';

/** A tiny run of `npm run bench`, every phase, so the benchmark keeps working; its times are not looked at here. */
describe('the benchmark', () => {
  let restoreFetch: () => void;
  beforeAll(() => {
    // The gcp-coalesce phase runs Google's clients in this process, the bot's and the floor's.
    restoreFetch = letGoogleClientsFetchInJest();
  });
  afterAll(() => restoreFetch?.());

  it('drives every phase end to end, floors included, and finds every grant revoked exactly once', async () => {
    const redisUrl = process.env.JIT_TEST_REDIS_URL;
    if (!redisUrl) throw new Error('JIT_TEST_REDIS_URL is not set: run the tests through jest');
    const results = await runBench({
      redisUrl,
      commandsPerSecond: 20,
      commandSeconds: 1,
      warmUpSeconds: 0.5,
      clicks: 5,
      expiring: [20],
      lifecycles: 20,
      cloudLatencyMs: 5,
      cloudCallsPerSecond: 0,
      gcpGrants: 10,
      gcpLatencyMs: 10,
      pacedGrants: 20,
      pacedCloudRate: { perSecond: 20, burst: 5 },
      pacedLatencyMs: 5,
      pacedBotPerSecond: 20,
      // The test Redis runs without AOF, which the bot rightly warns about; only errors would matter here.
      logLevel: 'error',
    });

    expect(results.options.phases).toEqual([...PHASES]);
    expect(results.ack?.latency.count).toBe(20);
    expect(results.ack?.floor.count).toBe(20);
    expect(results.ack?.warmUp?.count).toBe(10);
    // Every command costs the bot and Redis some CPU; zero would mean the figure read nothing.
    expect(results.ack?.cpuPerCommand.botMs).toBeGreaterThan(0);
    expect(results.ack?.cpuPerCommand.redisMs).toBeGreaterThan(0);
    expect(results.ack?.cpuPerCommand.driverMs).toBeGreaterThan(0);
    expect(results.click?.toGrantCall.count).toBe(5);

    expect(results.expiry).toEqual([expect.objectContaining({ grants: 20, revokedExactlyOnce: true, grantsLeft: 0 })]);
    expect(results.expiry[0]?.lateness.count).toBe(20);
    expect(results.expiry[0]?.floor.count).toBe(20);
    expect(results.lifecycles).toMatchObject({ count: 20, allRevoked: true });

    // 10 grants fit in one allow policy; the floor removes them all with one write.
    expect(results.gcpCoalesce).toMatchObject({ grants: 10, projects: 1, allRevoked: true, floorSetIamPolicyCalls: 1 });
    expect(results.gcpCoalesce?.setIamPolicyCalls).toBeGreaterThanOrEqual(1);

    expect(results.paced).toMatchObject({ grants: 20, allRevoked: true, notRevoked: 0 });
  }, 60_000);
});
