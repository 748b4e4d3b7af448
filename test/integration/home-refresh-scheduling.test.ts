/** App Home redraws queued on BullMQ: once per person per window from each process, whatever the notices ask. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { HOME_REFRESH_WINDOW_MS, jobIds } from '../../src/jobs/queues';
import { BullMqJobScheduler, closeQueues, createQueues, type Queues } from '../../src/jobs/scheduler';
import { createLogger } from '../../src/lib/logger';
import { ManualClock } from '../support/in-memory';
import { T0 } from '../unit/fixtures';

const logger = createLogger({ level: 'silent' });

describe('BullMqJobScheduler.scheduleHomeRefresh', () => {
  let connection: Redis;
  let queues: Queues;
  let clock: ManualClock;
  let adds: jest.SpyInstance;

  beforeEach(() => {
    const url = process.env.JIT_TEST_REDIS_URL;
    if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
    connection = new Redis(url, { maxRetriesPerRequest: null });
    queues = createQueues(connection, `jit-test-${randomUUID().slice(0, 8)}`, logger);
    // At the start of a window, so the calls below stay within it.
    clock = new ManualClock(Math.ceil(T0 / HOME_REFRESH_WINDOW_MS) * HOME_REFRESH_WINDOW_MS);
    adds = jest.spyOn(queues.notify, 'add');
  });

  afterEach(async () => {
    await queues.notify.obliterate({ force: true });
    await closeQueues(queues);
    await connection.quit();
  });

  const homeJobIds = async () =>
    (await queues.notify.getJobs(['delayed', 'waiting'])).map((job) => String(job.id)).sort();

  it('asks BullMQ once per person per window; another person, or the next window, is asked again', async () => {
    const scheduler = new BullMqJobScheduler(queues, clock, logger);
    const window = clock.now() / HOME_REFRESH_WINDOW_MS;
    await Promise.all(Array.from({ length: 20 }, () => scheduler.scheduleHomeRefresh('U0LEAD')));
    await scheduler.scheduleHomeRefresh('U0LEAD');
    await scheduler.scheduleHomeRefresh('U0SEC');
    expect(adds).toHaveBeenCalledTimes(2);
    clock.advance(HOME_REFRESH_WINDOW_MS);
    await scheduler.scheduleHomeRefresh('U0LEAD');
    expect(adds).toHaveBeenCalledTimes(3);
    expect(await homeJobIds()).toEqual(
      [
        jobIds.homeRefresh('U0LEAD', window),
        jobIds.homeRefresh('U0SEC', window),
        jobIds.homeRefresh('U0LEAD', window + 1),
      ].sort(),
    );
  });

  it('another process asks for itself, and BullMQ keeps one redraw', async () => {
    const first = new BullMqJobScheduler(queues, clock, logger);
    const second = new BullMqJobScheduler(queues, clock, logger);
    await first.scheduleHomeRefresh('U0LEAD');
    await second.scheduleHomeRefresh('U0LEAD');
    expect(adds).toHaveBeenCalledTimes(2);
    expect(await homeJobIds()).toEqual([jobIds.homeRefresh('U0LEAD', clock.now() / HOME_REFRESH_WINDOW_MS)]);
  });

  it('a redraw that could not be queued is asked for again by the next notice', async () => {
    const scheduler = new BullMqJobScheduler(queues, clock, logger);
    adds.mockRejectedValueOnce(new Error('Connection is closed.'));
    await expect(scheduler.scheduleHomeRefresh('U0LEAD')).rejects.toThrow('Connection is closed.');
    await scheduler.scheduleHomeRefresh('U0LEAD');
    expect(adds).toHaveBeenCalledTimes(2);
    expect(await homeJobIds()).toHaveLength(1);
  });
});
