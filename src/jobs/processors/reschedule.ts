import { DelayedError, type Job } from 'bullmq';

/**
 * Puts a job back to sleep until `dueAt`: it woke early (a clock adjustment, a moved start), or did the first part
 * of its work (the revoke job's expiry reminder). Throwing DelayedError tells the worker the job was moved, not
 * failed.
 */
export async function sleepUntil(job: Job, dueAt: number, token: string | undefined): Promise<never> {
  await job.moveToDelayed(dueAt, token);
  throw new DelayedError();
}
