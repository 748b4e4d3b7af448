import { DelayedError, type Job } from 'bullmq';
import type { GrantLifecycle } from '../../../src/domain/grant-lifecycle';
import type { RevocationMonitor } from '../../../src/domain/revocation-monitor';
import { revokeProcessor } from '../../../src/jobs/processors/revoke-processor';
import { REVOKE_BACKOFF } from '../../../src/jobs/retry-policy';
import { createLogger } from '../../../src/lib/logger';

const NOW = 1_800_000_000_000;

/** The parts of a BullMQ job the processor uses, recording what it does to them. */
function fakeJob(data: Record<string, unknown>, attemptsMade = 0) {
  const job = {
    id: 'revoke-k7m2xq9d',
    queueName: 'jit-revoke',
    data,
    attemptsMade,
    sleptUntil: undefined as number | undefined,
    async updateData(next: Record<string, unknown>) {
      job.data = next;
    },
    async moveToDelayed(at: number) {
      job.sleptUntil = at;
    },
  };
  return job;
}

function harness(finishAccess: GrantLifecycle['finishAccess']) {
  const failed: number[] = [];
  let succeeded = 0;
  const failures: string[] = [];
  const monitor = {
    failed: async (_id: string, attempt: number) => void failed.push(attempt),
    succeeded: async () => {
      succeeded += 1;
    },
  } as unknown as RevocationMonitor;
  const metrics = {
    observeRevocationLateness: () => {},
    countJobFailure: (queue: string) => void failures.push(queue),
  };
  const process = revokeProcessor(
    { finishAccess } as GrantLifecycle,
    monitor,
    metrics,
    { now: () => NOW },
    createLogger({ level: 'silent' }),
  );
  return { process, failed, failures, succeeded: () => succeeded };
}

describe('a revoke job that fails', () => {
  const cloudDown = async () => Promise.reject(new Error('503 from the cloud'));

  it('counts the attempt in its own data and sleeps for the capped backoff, without end', async () => {
    const { process, failed, failures } = harness(cloudDown);
    const job = fakeJob({ requestId: 'k7m2xq9d' });
    await expect(process(job as unknown as Job)).rejects.toBeInstanceOf(DelayedError);
    expect(job.data).toEqual({ requestId: 'k7m2xq9d', failedAttempts: 1 });
    expect(job.sleptUntil).toBeGreaterThanOrEqual(NOW + REVOKE_BACKOFF.baseMs / 2);
    expect(job.sleptUntil).toBeLessThanOrEqual(NOW + REVOKE_BACKOFF.baseMs);

    for (let attempt = 2; attempt <= 40; attempt++) {
      await expect(process(job as unknown as Job)).rejects.toBeInstanceOf(DelayedError);
    }
    expect(job.data).toEqual({ requestId: 'k7m2xq9d', failedAttempts: 40 });
    expect(job.sleptUntil).toBeLessThanOrEqual(NOW + REVOKE_BACKOFF.capMs);
    expect(failed).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
    expect(failures).toHaveLength(40);
  });

  it('goes on from the count BullMQ kept for a job queued by an earlier version', async () => {
    const { process, failed } = harness(cloudDown);
    const job = fakeJob({ requestId: 'k7m2xq9d' }, 3);
    await expect(process(job as unknown as Job)).rejects.toBeInstanceOf(DelayedError);
    expect(failed).toEqual([4]);
    expect(job.data).toEqual({ requestId: 'k7m2xq9d', failedAttempts: 4 });
  });

  it('clears the failing mark once it succeeds, and only after a failure', async () => {
    const done = async () => ({ kind: 'skipped' as const, why: 'request is expired' });
    const afterFailures = harness(done);
    await afterFailures.process(fakeJob({ requestId: 'k7m2xq9d', failedAttempts: 2 }) as unknown as Job);
    expect(afterFailures.succeeded()).toBe(1);
    const first = harness(done);
    await first.process(fakeJob({ requestId: 'k7m2xq9d' }) as unknown as Job);
    expect(first.succeeded()).toBe(0);
  });
});
