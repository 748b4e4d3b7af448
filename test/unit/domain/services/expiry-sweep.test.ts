/** The expiry sweep: which grants a stretch takes, the order of its two passes, and what it hands to the jobs. */
import type { AccessRequest } from '../../../../src/domain/access-request';
import { REVOKE_JOB_BACKSTOP_MS } from '../../../../src/domain/expiry-reminder';
import { WORLD_START } from '../../../support/in-memory';
import { MINUTE, noticesQueued, type ServiceWorld, serviceWorld } from './service-world';

const T0 = WORLD_START;

/** Auto-approved grants to U0ALICE and U0BOB, active now, of the given durations. */
async function grants(world: ServiceWorld, durations: string[]): Promise<AccessRequest[]> {
  const people = ['U0ALICE', 'U0BOB'];
  world.setSettings({ maxOpenRequestsPerPerson: durations.length });
  const made: AccessRequest[] = [];
  for (const [index, duration] of durations.entries()) {
    made.push(
      await world.activeGrant({ roleId: 'staging-deployer', duration, requesterId: people[index % people.length] }),
    );
  }
  return made;
}

describe('GrantLifecycle.sweepExpired', () => {
  it('ends exactly the grants whose expiry lies in the stretch (after, until]', async () => {
    const world = serviceWorld();
    const [early, onTime, late] = await grants(world, ['10m', '20m', '30m']);
    world.clock.set(T0 + 30 * MINUTE);
    const report = await world.lifecycle.sweepExpired(
      { after: T0 + 10 * MINUTE, until: T0 + 20 * MINUTE },
      { concurrency: 4 },
    );
    expect(report).toMatchObject({ due: 1, handedOff: [] });
    expect(report.ended).toEqual([
      { requestId: onTime?.id, outcome: expect.objectContaining({ kind: 'done', latenessMs: 10 * MINUTE }) },
    ]);
    expect((await world.stored(early?.id ?? '')).state).toBe('active');
    expect((await world.stored(onTime?.id ?? '')).state).toBe('expired');
    expect((await world.stored(late?.id ?? '')).state).toBe('active');
  });

  it('asks the cloud for every revocation before it records any ending', async () => {
    const world = serviceWorld();
    const made = await grants(world, ['10m', '10m', '10m', '10m', '10m']);
    const cloud = world.cloud();
    const revoke = cloud.revoke.bind(cloud);
    const statesAtEachCall: string[][] = [];
    cloud.revoke = async (spec) => {
      statesAtEachCall.push(await Promise.all(made.map(async (grant) => (await world.stored(grant.id)).state)));
      return revoke(spec);
    };
    world.clock.set(T0 + 10 * MINUTE);
    const report = await world.lifecycle.sweepExpired({ after: 0, until: world.clock.now() }, { concurrency: 2 });
    expect(report.ended).toHaveLength(5);
    // Each call saw all five still active: no record was written between the calls.
    expect(statesAtEachCall).toEqual(made.map(() => made.map(() => 'active')));
    for (const grant of made) {
      expect(await world.stored(grant.id)).toMatchObject({ state: 'expired', endedAt: T0 + 10 * MINUTE });
      expect(noticesQueued(world, grant.id, 'expired')).toHaveLength(1);
    }
  });

  it('hands a grant whose cloud call fails to its own revoke job, now, which retries it; the others end', async () => {
    const world = serviceWorld();
    const [failing, fine] = await grants(world, ['10m', '10m']);
    world.clock.set(T0 + 10 * MINUTE);
    world.cloud().failNext('revoke');
    const report = await world.lifecycle.sweepExpired({ after: 0, until: world.clock.now() }, { concurrency: 1 });
    expect(report.handedOff).toEqual([
      { requestId: failing?.id, step: 'cloud', error: expect.objectContaining({ message: 'the cloud is down' }) },
    ]);
    expect(report.ended.map((ended) => ended.requestId)).toEqual([fine?.id]);
    expect((await world.stored(failing?.id ?? '')).state).toBe('active');
    // Its job, due at its backstop, was moved to now, counting the sweep's attempt as its first failure.
    expect(world.scheduler.find(`revoke-${failing?.id}`)).toMatchObject({
      state: 'pending',
      runAt: world.clock.now(),
      failedAttempts: 1,
    });
    await world.scheduler.runDue(world.handlers);
    expect((await world.stored(failing?.id ?? '')).state).toBe('expired');
  });

  it('leaves a grant someone asked to end early to its own job, already moved to now', async () => {
    const world = serviceWorld();
    const [grant] = await grants(world, ['10m']);
    world.clock.set(T0 + 5 * MINUTE);
    await world.requests.revoke(grant?.id ?? '', 'U0ALICE');
    world.clock.set(T0 + 10 * MINUTE);
    const report = await world.lifecycle.sweepExpired({ after: 0, until: world.clock.now() }, { concurrency: 1 });
    expect(report).toEqual({ due: 0, ended: [], handedOff: [] });
    expect(world.cloud().calls.filter((call) => call.operation === 'revoke')).toEqual([]);
  });

  it('a second sweep of the same stretch (a retried job) finds nothing left to end', async () => {
    const world = serviceWorld();
    await grants(world, ['10m', '10m']);
    world.clock.set(T0 + 10 * MINUTE);
    const stretch = { after: 0, until: world.clock.now() };
    expect((await world.lifecycle.sweepExpired(stretch, { concurrency: 2 })).ended).toHaveLength(2);
    expect(await world.lifecycle.sweepExpired(stretch, { concurrency: 2 })).toEqual({
      due: 0,
      ended: [],
      handedOff: [],
    });
    expect(world.cloud().calls.filter((call) => call.operation === 'revoke')).toHaveLength(2);
  });

  it('runs each cloud call and each record through `run` (how the workers count running revocations)', async () => {
    const world = serviceWorld();
    await grants(world, ['10m', '10m', '10m']);
    world.clock.set(T0 + 10 * MINUTE);
    let runs = 0;
    await world.lifecycle.sweepExpired(
      { after: 0, until: world.clock.now() },
      {
        concurrency: 3,
        run: (work) => {
          runs += 1;
          return work();
        },
      },
    );
    expect(runs).toBe(6);
  });

  it('puts revocations to the cloud at the revoke concurrency, or at the provider’s own when it takes more', async () => {
    const inFlightAtMost = async (revocationsAtOnce: number | undefined) => {
      const world = serviceWorld();
      await grants(world, ['10m', '10m', '10m', '10m', '10m', '10m']);
      const cloud = world.cloud();
      cloud.revocationsAtOnce = revocationsAtOnce;
      const revoke = cloud.revoke.bind(cloud);
      let inFlight = 0;
      let most = 0;
      cloud.revoke = async (spec) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        return revoke(spec);
      };
      world.clock.set(T0 + 10 * MINUTE);
      const report = await world.lifecycle.sweepExpired({ after: 0, until: world.clock.now() }, { concurrency: 2 });
      expect(report.ended).toHaveLength(6);
      return most;
    };
    expect(await inFlightAtMost(undefined)).toBe(2);
    expect(await inFlightAtMost(1)).toBe(2);
    expect(await inFlightAtMost(6)).toBe(6);
  });

  it('reports its progress through each pass', async () => {
    const world = serviceWorld();
    await grants(world, ['10m', '10m', '10m', '10m', '10m']);
    world.clock.set(T0 + 10 * MINUTE);
    const reports: string[] = [];
    await world.lifecycle.sweepExpired(
      { after: 0, until: world.clock.now() },
      { concurrency: 2, progressEvery: 2, progress: (pass, done, of) => reports.push(`${pass} ${done}/${of}`) },
    );
    expect(reports).toEqual(['cloud 2/5', 'cloud 4/5', 'record 2/5', 'record 4/5']);
  });
});

describe('the expiry sweep and the backstop, through the scheduler', () => {
  it('the sweep ends a grant at its expiry; its own job, at the backstop, finds nothing to do', async () => {
    const world = serviceWorld();
    const [grant] = await grants(world, ['10m']);
    await world.scheduler.advanceTo(T0 + 10 * MINUTE, world.handlers);
    expect(await world.stored(grant?.id ?? '')).toMatchObject({ state: 'expired', endedAt: T0 + 10 * MINUTE });
    expect(world.scheduler.sweeps).toEqual([{ after: 0, until: T0 + 10 * MINUTE }]);
    await world.scheduler.advanceTo(T0 + 10 * MINUTE + REVOKE_JOB_BACKSTOP_MS, world.handlers);
    expect(world.scheduler.find(`revoke-${grant?.id}`)?.state).toBe('completed');
    expect(world.cloud().calls.filter((call) => call.operation === 'revoke')).toHaveLength(1);
  });

  it('without a sweep (lost in a crash), the grant’s own job ends it at the backstop', async () => {
    const world = serviceWorld();
    const [grant] = await grants(world, ['10m']);
    const { expirySweeps: _lost, ...withoutSweeps } = world.handlers;
    await world.scheduler.advanceTo(T0 + 10 * MINUTE, withoutSweeps);
    expect((await world.stored(grant?.id ?? '')).state).toBe('active');
    await world.scheduler.advanceTo(T0 + 10 * MINUTE + REVOKE_JOB_BACKSTOP_MS, withoutSweeps);
    expect(await world.stored(grant?.id ?? '')).toMatchObject({
      state: 'expired',
      endedAt: T0 + 10 * MINUTE + REVOKE_JOB_BACKSTOP_MS,
    });
  });
});
