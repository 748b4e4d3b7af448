/** What an Azure grant stores with the request (its memo), and the grant that found the role already held. */
import type { GrantOutcome, GrantSpec } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { PROVIDER } from './azure-errors';
import { type AzureTarget, roleDefinitionGuid } from './azure-target';

/** Memo keys this provider stores with a grant and reads back on revoke and verify. */
export interface AzureMemo {
  /** The person's Entra object ID, as resolved at grant time. */
  principalId: string;
  kind: AzureTarget['kind'];
  /** `true` when the person already held the role through an assignment the bot did not make. */
  alreadyHeld?: 'true';
  /** Our role assignment's name (role-assignment kind). */
  assignmentName?: string;
}

export function readMemo(spec: GrantSpec): Partial<AzureMemo> {
  const memo = spec.memo ?? {};
  return {
    ...(memo.principalId !== undefined && { principalId: memo.principalId.toLowerCase() }),
    ...(memo.alreadyHeld === 'true' && { alreadyHeld: 'true' as const }),
  };
}

export function toMemo(memo: AzureMemo): Record<string, string> {
  return Object.fromEntries(Object.entries(memo).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The person already held the role through an assignment the bot did not make: nothing is added or later removed. */
export function alreadyHeld(logger: Logger, spec: GrantSpec, target: AzureTarget, memo: AzureMemo): GrantOutcome {
  logger.info(
    { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, principalId: memo.principalId },
    'azure: role already held through an assignment the bot did not make; nothing added',
  );
  return {
    memo: toMemo({ principalId: memo.principalId, kind: memo.kind, alreadyHeld: 'true' }),
    instructions:
      `You already hold Azure role \`${roleDefinitionGuid(target.roleDefinitionId)}\` at \`${target.scope}\` ` +
      'through an assignment the bot did not make, so the bot added nothing, and it will not remove that ' +
      'assignment when this request ends.',
  };
}
