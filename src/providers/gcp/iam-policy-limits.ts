/** Google's limits on one allow policy, checked before a write so the requester hears which one and what to do. */
import { providerError } from '../retry';
import {
  countConditionalBindings,
  countPrincipals,
  type IamPolicy,
  MAX_CONDITIONAL_BINDINGS_PER_POLICY,
  MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL,
  MAX_GROUPS_PER_POLICY,
  MAX_PRINCIPALS_PER_POLICY,
} from './iam-policy-edit';

/**
 * Refuses a write Google would refuse anyway, so the requester hears which limit was hit and what to do rather
 * than a raw 400. `policy` is the policy as it would be written, with `member` added to a binding of `role`.
 * @throws CloudProviderError (not retryable) naming the limit.
 */
export function assertWithinPolicyLimits(
  provider: string,
  policy: IamPolicy,
  resource: string,
  role: string,
  member: string,
): void {
  const { principals, groups } = countPrincipals(policy);
  if (principals > MAX_PRINCIPALS_PER_POLICY) {
    throw providerError(
      provider,
      `The allow policy of ${resource} already holds Google's limit of ${MAX_PRINCIPALS_PER_POLICY} principals, so ${member} cannot be added; remove unused bindings there or grant through a group.`,
      false,
    );
  }
  if (member.startsWith('group:') && groups > MAX_GROUPS_PER_POLICY) {
    throw providerError(
      provider,
      `The allow policy of ${resource} already holds Google's limit of ${MAX_GROUPS_PER_POLICY} groups, so ${member} cannot be added; remove unused group bindings there.`,
      false,
    );
  }
  const conditional = countConditionalBindings(policy, { role, member });
  if (conditional.forRoleAndMember > MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL) {
    throw providerError(
      provider,
      `${member} already holds ${MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL} conditional bindings of ${role} on ${resource}, Google's limit for one role and one principal in an allow policy, so no further time-limited grant of it can be added: wait for one of them to end (or have it revoked early) and ask again. Operators: grants past their expiry count until the bot or the reconciler removes them, and so do conditional bindings of this role made by hand.`,
      false,
    );
  }
  if (conditional.inPolicy > MAX_CONDITIONAL_BINDINGS_PER_POLICY) {
    throw providerError(
      provider,
      `The allow policy of ${resource} already holds ${MAX_CONDITIONAL_BINDINGS_PER_POLICY} conditional role bindings, the most Google allows in one allow policy, so no time-limited grant can be added there: wait for some grants on ${resource} to end and ask again. Operators: remove conditional bindings there that are no longer needed; grants past their expiry count until the bot or the reconciler removes them.`,
      false,
    );
  }
}
