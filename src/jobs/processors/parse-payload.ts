import { type Job, UnrecoverableError } from 'bullmq';
import type { z } from 'zod';

/** Validates a job's payload; a malformed one can never succeed, so it is not retried. */
export function parsePayload<T>(schema: z.ZodType<T>, job: Job): T {
  const result = schema.safeParse(job.data);
  if (!result.success) {
    throw new UnrecoverableError(
      `job ${job.id ?? '?'} in ${job.queueName} has a malformed payload: ${result.error.message}`,
    );
  }
  return result.data;
}
