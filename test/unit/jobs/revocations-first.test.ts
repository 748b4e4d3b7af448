import { type Pausable, RevocationsFirst } from '../../../src/jobs/revocations-first';
import { createLogger } from '../../../src/lib/logger';

/** A worker that records whether it is paused. */
function recordingWorker(): Pausable & { paused: boolean; calls: string[] } {
  const worker = {
    paused: false,
    calls: [] as string[],
    async pause() {
      worker.paused = true;
      worker.calls.push('pause');
    },
    resume() {
      worker.paused = false;
      worker.calls.push('resume');
    },
  };
  return worker;
}

/** A revocation that runs until released. */
function pendingRevocation(): { promise: Promise<void>; finish(): void } {
  let finish = () => {};
  const promise = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { promise, finish };
}

describe('revocations first', () => {
  const logger = createLogger({ level: 'silent' });
  let now = 0;
  const clock = { now: () => now };

  beforeEach(() => {
    jest.useFakeTimers();
    now = 0;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('pauses notices and read-backs from the given number of revocations at once, until none is left', async () => {
    const notify = recordingWorker();
    const verify = recordingWorker();
    const gate = new RevocationsFirst([notify, verify], clock, logger, { holdFrom: 3, maxHoldMs: 30_000 });
    const revocations = [pendingRevocation(), pendingRevocation(), pendingRevocation()];
    const runs = revocations.slice(0, 2).map((revocation) => gate.run(() => revocation.promise));
    expect(notify.paused).toBe(false);
    const third = revocations[2];
    if (!third) throw new Error('three revocations');
    runs.push(gate.run(() => third.promise));
    expect([notify.paused, verify.paused]).toEqual([true, true]);

    revocations[0]?.finish();
    revocations[1]?.finish();
    await Promise.all(runs.slice(0, 2));
    expect(notify.paused).toBe(true);
    third.finish();
    await Promise.all(runs);
    expect([notify.paused, verify.paused]).toEqual([false, false]);
    expect(notify.calls).toEqual(['pause', 'resume']);
  });

  it('a revocation that fails still counts out', async () => {
    const notify = recordingWorker();
    const gate = new RevocationsFirst([notify], clock, logger, { holdFrom: 1, maxHoldMs: 30_000 });
    await expect(gate.run(async () => Promise.reject(new Error('cloud down')))).rejects.toThrow('cloud down');
    expect(notify.calls).toEqual(['pause', 'resume']);
  });

  it('under a steady stream lets them go after the longest hold, and holds again only once the stream has drained', async () => {
    const notify = recordingWorker();
    const gate = new RevocationsFirst([notify], clock, logger, { holdFrom: 1, maxHoldMs: 30_000 });
    const first = pendingRevocation();
    const running = gate.run(() => first.promise);
    expect(notify.paused).toBe(true);
    now += 30_000;
    jest.advanceTimersByTime(30_000);
    expect(notify.paused).toBe(false);
    // More revocations while the first still runs: no new hold.
    const second = pendingRevocation();
    const alsoRunning = gate.run(() => second.promise);
    expect(notify.paused).toBe(false);
    first.finish();
    second.finish();
    await Promise.all([running, alsoRunning]);
    // Drained: the next burst is held again.
    const third = pendingRevocation();
    const later = gate.run(() => third.promise);
    expect(notify.paused).toBe(true);
    third.finish();
    await later;
    expect(notify.calls).toEqual(['pause', 'resume', 'pause', 'resume']);
  });

  it('lets held workers go at shutdown', () => {
    const notify = recordingWorker();
    const gate = new RevocationsFirst([notify], clock, logger, { holdFrom: 1, maxHoldMs: 30_000 });
    void gate.run(() => pendingRevocation().promise);
    gate.stop();
    expect(notify.paused).toBe(false);
  });
});
