import { randomUUID } from 'node:crypto';
import { isDomainError } from '../domain/errors';
import type { Logger } from '../lib/logger';
import { refusalText } from './domain-text';
import type { SlackDeps } from './slack-deps';

/**
 * Turns any error from a use case into the sentence shown to the person (ephemeral). A domain refusal's code
 * and details become its sentence (`domain-text.ts`); anything else is logged in full and shown with a reference
 * the operators can find.
 */
export function describeForPerson(error: unknown, logger: Logger, context: Record<string, unknown>): string {
  if (isDomainError(error)) {
    logger.info({ ...context, code: error.code, details: error.details }, `refused: ${error.code}`);
    return `:no_entry: ${refusalText(error)}`;
  }
  const reference = randomUUID().slice(0, 8);
  logger.error({ ...context, err: error, reference }, 'unexpected error handling a Slack interaction');
  return `:warning: Something went wrong on our side; check \`/jit list\` before trying again. If it keeps happening, give your platform team this reference: \`${reference}\`.`;
}

/**
 * The answer to a failed command or click: a domain refusal is audited (who tried what, and why) before the
 * person is told; anything else is reported as in {@link describeForPerson}.
 */
export async function answerFailure(
  error: unknown,
  deps: SlackDeps,
  refusal: { actorId: string; action: string },
  context: Record<string, unknown>,
): Promise<string> {
  if (isDomainError(error)) {
    await deps.requests.recordRefusal(refusal.actorId, refusal.action, error).catch((auditError: unknown) => {
      deps.logger.error({ ...context, err: auditError }, 'could not audit a refusal');
    });
  }
  return describeForPerson(error, deps.logger, context);
}
