/** Which worker errors are the lost lock of a job BullMQ runs again, logged as a warning rather than an error. */
import { ErrorCode } from 'bullmq';
import { isLostJobLock } from '../../../src/jobs/workers';

/** As BullMQ's `finishedErrors` builds them (not exported): the message, and the script's code on the error. */
function finishedErrors({ code, jobId, command }: { code: ErrorCode; jobId: string; command: string }): Error {
  const message =
    code === ErrorCode.JobLockNotExist
      ? `Missing lock for job ${jobId}. ${command}`
      : `Missing key for job ${jobId}. ${command}`;
  return Object.assign(new Error(message), { code });
}

describe('isLostJobLock', () => {
  it('is true for the error BullMQ raises when a job it finishes has lost its lock', () => {
    const error = finishedErrors({
      code: ErrorCode.JobLockNotExist,
      jobId: 'repeat:reconcile-every:1',
      command: 'moveToFinished',
    });
    expect(error.message).toBe('Missing lock for job repeat:reconcile-every:1. moveToFinished');
    expect(isLostJobLock(error)).toBe(true);
  });

  it('is false for BullMQ’s other failures and for anything else', () => {
    expect(isLostJobLock(finishedErrors({ code: ErrorCode.JobNotExist, jobId: 'x', command: 'moveToFinished' }))).toBe(
      false,
    );
    expect(isLostJobLock(new Error('Missing lock for job x. moveToFinished'))).toBe(false);
    expect(isLostJobLock('Missing lock')).toBe(false);
  });
});
