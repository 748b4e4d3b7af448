import type { Job } from 'bullmq';
import type { Alert } from '../../../src/domain/ports';
import { notifyProcessor } from '../../../src/jobs/processors/notify-processor';
import { ALERT_JOB_NAME } from '../../../src/jobs/queues';
import { createLogger } from '../../../src/lib/logger';

/** The notify processor with a recording alert poster and a captured log. */
function processor() {
  const lines: Record<string, unknown>[] = [];
  const posted: Alert[] = [];
  const process = notifyProcessor({
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(JSON.parse(line)) } }),
    alertPoster: { alert: async (alert: Alert) => void posted.push(alert) },
    countRateLimit: () => {},
    pauseQueue: async () => {},
  } as unknown as Parameters<typeof notifyProcessor>[0]);
  return { process, lines, posted };
}

const alertJob = (data: unknown) =>
  ({ id: 'alert-1', name: ALERT_JOB_NAME, data, attemptsMade: 0, opts: { attempts: 5 }, queueName: 'notify' }) as Job;

describe('notifyProcessor: alerts', () => {
  it('posts an alert with its details', async () => {
    const { process, posted } = processor();
    const alert = { kind: 'revocation-failing', requestId: 'k7m2xq9d', details: { attempts: 3 } };
    await process(alertJob({ alert }));
    expect(posted).toEqual([alert]);
  });

  it('logs in full, rather than drops, an alert an earlier version queued with its sentence written', async () => {
    const { process, posted, lines } = processor();
    await process(
      alertJob({ alert: { kind: 'drift', requestId: 'k7m2xq9d', message: 'gcp still holds jit-k7m2xq9d' } }),
    );
    expect(posted).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        kind: 'drift',
        requestId: 'k7m2xq9d',
        msg: 'alert from an earlier version, not posted: gcp still holds jit-k7m2xq9d',
      }),
    );
  });

  it('refuses for good a payload that is neither', async () => {
    const { process } = processor();
    await expect(process(alertJob({ alert: { kind: 'drift' } }))).rejects.toThrow(/malformed payload/);
  });
});

describe('notifyProcessor: notices', () => {
  /** Runs one notice job; returns what the notice service was asked to deliver. */
  async function delivered(id: string, data: unknown, progress: unknown = 0) {
    const calls: unknown[][] = [];
    const process = notifyProcessor({
      logger: createLogger({ level: 'silent' }),
      notices: { deliver: async (...args: unknown[]) => Boolean(calls.push(args)) },
    } as unknown as Parameters<typeof notifyProcessor>[0]);
    await process({ id, name: 'notice', data, progress, attemptsMade: 0, opts: { attempts: 8 } } as unknown as Job);
    return calls;
  }

  it("names each notice by its job's ID without the request, so a copy queued later finds its record", async () => {
    const data = { requestId: 'k7m2xq9d', kind: 'approved', version: 2 };
    expect(await delivered('notice-k7m2xq9d-approved-v2', data)).toEqual([
      ['k7m2xq9d', 'approved', { notice: 'approved-v2', mayWaitForApprovalMessage: true }],
    ]);
    const reminder = { requestId: 'k7m2xq9d', kind: 'approval-reminder', version: 1 };
    expect((await delivered('reminder-k7m2xq9d-approval-reminder-1795910281129', reminder))[0]?.[2]).toEqual({
      notice: 'approval-reminder-1795910281129',
      mayWaitForApprovalMessage: true,
    });
  });

  it('passes on the parts an earlier version recorded in the job as delivered', async () => {
    const data = { requestId: 'k7m2xq9d', kind: 'approved', version: 2 };
    const calls = await delivered('notice-k7m2xq9d-approved-v2', data, { noticeStepsDone: ['thread-reply'] });
    expect(calls[0]?.[2]).toEqual({
      notice: 'approved-v2',
      mayWaitForApprovalMessage: true,
      doneBefore: ['thread-reply'],
    });
  });
});
