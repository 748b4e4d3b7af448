import { randomUUID } from 'node:crypto';
import { isDomainError } from '../domain/errors';
import type { Logger } from '../lib/logger';

/**
 * Turns any error from a use case into the sentence shown to the person (ephemeral). Domain refusals are
 * already written for people; anything else is logged in full and shown with a reference the operators can find.
 */
export function describeForPerson(error: unknown, logger: Logger, context: Record<string, unknown>): string {
  if (isDomainError(error)) {
    logger.info({ ...context, code: error.code, details: error.details }, `refused: ${error.code}`);
    return `:no_entry: ${error.message}`;
  }
  const reference = randomUUID().slice(0, 8);
  logger.error({ ...context, err: error, reference }, 'unexpected error handling a Slack interaction');
  return `:warning: Something went wrong on our side and nothing was changed. If it keeps happening, give your platform team this reference: \`${reference}\`.`;
}
