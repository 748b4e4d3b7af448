/** The expiry sweep: ends every grant due in a stretch of time, all the cloud calls first, then the records. */
import type { AccessRequest } from './access-request';
import { forEachLimited } from './for-each-limited';
import type { CloudRevocation, GrantEnding } from './grant-ending';
import type { GrantLifecycleDeps, LifecycleOutcome } from './grant-step';

/** Expiries in `(after, until]`, epoch ms: the stretch one sweep owns (sweeps are handed stretches that never overlap). */
export interface ExpiryStretch {
  after: number;
  until: number;
}

export interface SweepOptions {
  /** Grants in the cloud at once, and records written at once. */
  concurrency: number;
  /** Runs each cloud call and each record, e.g. counted as a running revocation so lesser work waits. */
  run?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Told after every `progressEvery` grants of a pass, so a long sweep shows how far it is. */
  progress?: (pass: 'cloud' | 'record', done: number, of: number) => void;
  /** Default 1,000. */
  progressEvery?: number;
}

/** What a sweep did, grant by grant. */
export interface SweepReport {
  /** Active grants whose expiry fell in the stretch, without those someone asked to end early (their job does it). */
  due: number;
  ended: Array<{ requestId: string; outcome: LifecycleOutcome }>;
  /**
   * Grants whose cloud call or record failed: each was handed to its own revoke job, which retries and alerts,
   * counting this as its first failed attempt.
   */
  handedOff: Array<{ requestId: string; step: 'cloud' | 'record'; error: unknown }>;
}

/**
 * Ends the grants due in a stretch in two passes: every cloud revocation first, at `concurrency` at once, then
 * each request's record (re-assertions, the compare-and-set, its notice and read-back), which costs the bot and
 * Redis far more than the cloud call. Recording as each call returns would hold the later calls back behind the
 * earlier records; this way access ends as fast as the cloud takes the calls, and the records follow.
 *
 * A grant that fails either pass is handed to its own revoke job (`revokeNow`), so a failure is retried with
 * backoff and alerted exactly as when that job ends it. A crash between the passes leaves grants revoked in the
 * cloud but active in the store; the retried sweep, or each grant's own job at its backstop, revokes them again
 * (revocation is idempotent) and records them.
 */
export async function sweepExpired(
  deps: GrantLifecycleDeps,
  ending: GrantEnding,
  stretch: ExpiryStretch,
  options: SweepOptions,
): Promise<SweepReport> {
  const run = options.run ?? ((work) => work());
  const due = (await deps.store.listByState('active', stretch.until, stretch.after)).filter(
    (request) => request.revocationRequestedBy === undefined,
  );
  const report: SweepReport = { due: due.length, ended: [], handedOff: [] };
  const handOff = async (requestId: string, step: 'cloud' | 'record', error: unknown) => {
    report.handedOff.push({ requestId, step, error });
    // Its job counts this as its first failed attempt, so the alert comes after `alertAfter` attempts in all.
    await deps.scheduler.revokeNow(requestId, 1);
  };

  const every = options.progressEvery ?? 1_000;
  const counted = (pass: 'cloud' | 'record', of: number) => {
    let done = 0;
    return () => {
      done += 1;
      if (done % every === 0) options.progress?.(pass, done, of);
    };
  };

  const revoked: CloudRevocation[] = [];
  const cloudDone = counted('cloud', due.length);
  // Each cloud at the pace it takes: the revoke concurrency, or more for a provider that batches revocations.
  await Promise.all(
    [...byProvider(due)].map(([provider, requests]) =>
      forEachLimited(requests, revocationsAtOnce(deps, provider, options.concurrency), async (request) => {
        try {
          revoked.push(await run(() => ending.revokeInCloud(request)));
        } catch (error) {
          await handOff(request.id, 'cloud', error);
        }
        cloudDone();
      }),
    ),
  );
  const recordDone = counted('record', revoked.length);
  await forEachLimited(revoked, options.concurrency, async (revocation) => {
    try {
      report.ended.push({
        requestId: revocation.request.id,
        outcome: await run(() => ending.recordEnding(revocation)),
      });
    } catch (error) {
      await handOff(revocation.request.id, 'record', error);
    }
    recordDone();
  });
  return report;
}

/** The grants grouped by the provider that holds them (a bundle by its first role's). */
function byProvider(requests: readonly AccessRequest[]): Map<string | undefined, AccessRequest[]> {
  const groups = new Map<string | undefined, AccessRequest[]>();
  for (const request of requests) {
    const provider = request.grant?.provider;
    const group = groups.get(provider);
    if (group) group.push(request);
    else groups.set(provider, [request]);
  }
  return groups;
}

function revocationsAtOnce(deps: GrantLifecycleDeps, provider: string | undefined, concurrency: number): number {
  if (provider === undefined) return concurrency;
  const known = deps.providers.list().find((candidate) => candidate.name === provider);
  return Math.max(concurrency, known?.revocationsAtOnce ?? 0);
}
