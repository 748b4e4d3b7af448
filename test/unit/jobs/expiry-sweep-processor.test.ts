/** The expiry sweep job: its payload checked, each grant's ending counted and logged, hand-offs counted as failures. */
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { AccessRequest } from '../../../src/domain/access-request';
import type { SweepReport } from '../../../src/domain/expiry-sweep';
import type { GrantLifecycle } from '../../../src/domain/grant-lifecycle';
import type { RevocationMonitor } from '../../../src/domain/revocation-monitor';
import { expirySweepProcessor } from '../../../src/jobs/processors/expiry-sweep-processor';
import { createLogger } from '../../../src/lib/logger';

const NOW = 1_800_000_000_000;

function harness(report: SweepReport) {
  const lateness: number[] = [];
  const failures: string[] = [];
  const stretches: unknown[] = [];
  const lifecycle = {
    sweepExpired: async (stretch: unknown) => {
      stretches.push(stretch);
      return report;
    },
  } as unknown as GrantLifecycle;
  const failedAttempts: Array<[string, number]> = [];
  const monitor = {
    failed: async (requestId: string, attempt: number) => void failedAttempts.push([requestId, attempt]),
  } as unknown as RevocationMonitor;
  const process = expirySweepProcessor(
    lifecycle,
    monitor,
    {
      observeRevocationLateness: (ms) => void lateness.push(ms),
      countJobFailure: (queue) => void failures.push(queue),
    },
    { concurrency: 10 },
    { now: () => NOW },
    createLogger({ level: 'silent' }),
  );
  const slept: number[] = [];
  const job = (data: unknown) =>
    ({
      id: 'expiry-sweep-1',
      queueName: 'jit-revoke',
      data,
      moveToDelayed: async (at: number) => void slept.push(at),
    }) as unknown as Job;
  return { process, job, lateness, failures, stretches, slept, failedAttempts };
}

describe('expirySweepProcessor', () => {
  it('sweeps the stretch of its payload, counts each lateness and each hand-off', async () => {
    const ended = { state: 'expired' } as AccessRequest;
    const { process, job, lateness, failures, stretches, failedAttempts } = harness({
      due: 3,
      ended: [
        { requestId: 'aaaaaaaa', outcome: { kind: 'done', request: ended, latenessMs: 12 } },
        { requestId: 'bbbbbbbb', outcome: { kind: 'done', request: ended, latenessMs: 30 } },
      ],
      handedOff: [{ requestId: 'cccccccc', step: 'cloud', error: new Error('503') }],
    });
    await process(job({ after: NOW - 1_000, until: NOW }));
    expect(stretches).toEqual([{ after: NOW - 1_000, until: NOW }]);
    expect(lateness).toEqual([12, 30]);
    expect(failures).toEqual(['jit-revoke']);
    // The sweep's attempt is the grant's first, for the alert after `alertAfter` attempts.
    expect(failedAttempts).toEqual([['cccccccc', 1]]);
  });

  it('sleeps until the end of its stretch when the claiming process’s clock ran ahead of this one', async () => {
    const { process, job, stretches, slept } = harness({ due: 0, ended: [], handedOff: [] });
    await expect(process(job({ after: NOW - 1_000, until: NOW + 250 }))).rejects.toBeInstanceOf(DelayedError);
    expect(slept).toEqual([NOW + 250]);
    expect(stretches).toEqual([]);
  });

  it('refuses a payload whose stretch is empty or malformed, for good', async () => {
    const { process, job, stretches } = harness({ due: 0, ended: [], handedOff: [] });
    await expect(process(job({ after: NOW, until: NOW }))).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(process(job({ until: NOW }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(stretches).toEqual([]);
  });
});
