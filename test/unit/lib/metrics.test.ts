import { Writable } from 'node:stream';
import { createLogger } from '../../../src/lib/logger';
import { Metrics, type StoreGaugeReader } from '../../../src/lib/metrics';
import { parseExposition } from '../../support/prometheus-text';

const silent = createLogger({ level: 'silent' });

function fakeStore(overrides: Partial<StoreGaugeReader> = {}): StoreGaugeReader {
  return {
    requestsByState: async () => ({ pending: 2, active: 1, expired: 5 }),
    activeGrants: async () => 1,
    irrevocableGrants: async () => 0,
    ...overrides,
  };
}

async function scrape(metrics: Metrics) {
  const { contentType, body } = await metrics.exposition();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(body);
}

describe('Metrics', () => {
  it('reads the stored-state gauges and the queue counts when scraped', async () => {
    const metrics = new Metrics({
      store: fakeStore(),
      queues: [{ name: 'jit-revoke', getJobCounts: async () => ({ delayed: 3, active: 1 }) }],
      logger: silent,
    });
    const text = await scrape(metrics);
    expect(text.value('jit_requests', { state: 'pending' })).toBe(2);
    expect(text.value('jit_requests', { state: 'expired' })).toBe(5);
    expect(text.value('jit_grants_active')).toBe(1);
    expect(text.value('jit_irrevocable_grants')).toBe(0);
    expect(text.value('jit_queue_jobs', { queue: 'jit-revoke', state: 'delayed' })).toBe(3);
    expect(text.value('jit_queue_jobs', { queue: 'jit-revoke', state: 'active' })).toBe(1);
    expect(text.value('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
  });

  it('records lateness, failures and ack latency in seconds, by label', async () => {
    const metrics = new Metrics({ store: fakeStore(), queues: [], logger: silent });
    metrics.observeRevocationLateness(1_500);
    metrics.observeRevocationLateness(-20); // revoked a moment before expiry: counts as on time
    metrics.countJobFailure('jit-revoke');
    metrics.countJobFailure('jit-revoke');
    metrics.observeAckLatency(12, 'command');
    const text = await scrape(metrics);
    expect(text.value('jit_revocation_lateness_seconds_count')).toBe(2);
    expect(text.value('jit_revocation_lateness_seconds_sum')).toBe(1.5);
    expect(text.value('jit_revocation_lateness_seconds_bucket', { le: '0.01' })).toBe(1);
    expect(text.value('jit_revocation_lateness_seconds_bucket', { le: '600' })).toBe(2);
    expect(text.value('jit_job_failures_total', { queue: 'jit-revoke' })).toBe(2);
    expect(text.value('jit_slack_ack_seconds_count', { kind: 'command' })).toBe(1);
    expect(text.value('jit_slack_ack_seconds_bucket', { kind: 'command', le: '0.025' })).toBe(1);
    expect(text.value('jit_slack_ack_seconds_bucket', { kind: 'command', le: '0.01' })).toBe(0);
  });

  it('leaves out what Redis cannot answer, logs why, and still serves the rest', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
          callback();
        },
      }),
    });
    let counts = async (): Promise<Record<string, number>> => ({ pending: 4 });
    const metrics = new Metrics({
      store: fakeStore({ requestsByState: () => counts(), activeGrants: () => new Promise(() => {}) }),
      queues: [{ name: 'jit-grant', getJobCounts: () => Promise.reject(new Error('Connection is closed.')) }],
      logger,
      readTimeoutMs: 20,
    });
    expect((await scrape(metrics)).value('jit_requests', { state: 'pending' })).toBe(4);

    counts = () => Promise.reject(new Error('Connection is closed.'));
    const text = await scrape(metrics);
    expect(text.all('jit_requests')).toEqual([]);
    expect(text.all('jit_grants_active')).toEqual([]);
    expect(text.all('jit_queue_jobs')).toEqual([]);
    expect(text.value('jit_irrevocable_grants')).toBe(0);
    expect(lines.map((line) => line.metric).sort()).toEqual(
      expect.arrayContaining(['jit_grants_active', 'jit_queue_jobs', 'jit_requests']),
    );
  });

  it('keeps two instances apart', async () => {
    const one = new Metrics({ store: fakeStore(), queues: [], logger: silent });
    const two = new Metrics({ store: fakeStore(), queues: [], logger: silent });
    one.countJobFailure('jit-grant');
    expect((await scrape(one)).value('jit_job_failures_total', { queue: 'jit-grant' })).toBe(1);
    expect((await scrape(two)).value('jit_job_failures_total', { queue: 'jit-grant' })).toBeUndefined();
  });
});
