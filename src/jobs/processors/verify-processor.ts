import type { Job } from 'bullmq';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { Logger } from '../../lib/logger';
import { requestJobSchema } from '../queues';
import { parsePayload } from './parse-payload';

/** Reads the cloud back after a revocation propagated; the lifecycle alerts if access remains. */
export function verifyProcessor(lifecycle: GrantLifecycle, logger: Logger) {
  return async (job: Job): Promise<void> => {
    const { requestId } = parsePayload(requestJobSchema, job);
    const { accessRemains } = await lifecycle.verifyRevoked(requestId);
    if (accessRemains)
      logger.error({ requestId }, 'access was still there after revocation; revoked again and alerted');
    else logger.info({ requestId }, 'revocation verified in the cloud');
  };
}
