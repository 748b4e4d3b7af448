/** Which IAM member a requester is granted as, from the policy's principals map or their Slack email. */
import type { GrantPrincipal } from '../../domain/ports';
import { providerError } from '../retry';
import { MEMBER_PREFIXES } from './gcp-target';

/**
 * The IAM member for the requester: `principals.<user>.gcp` (as written when it has a principal prefix, else
 * taken as a user's email), else their email as `user:<email>`.
 * @throws CloudProviderError (not retryable) when the policy names neither.
 */
export function gcpMember(principal: GrantPrincipal, provider = 'gcp'): string {
  const mapped = principal.identities.gcp?.trim();
  if (mapped) {
    if (MEMBER_PREFIXES.some((prefix) => mapped.startsWith(prefix))) return mapped;
    if (mapped.includes(':')) {
      throw providerError(
        provider,
        `The gcp identity "${mapped}" under principals.${principal.slackUserId} is not a principal the bot grants to; write it as user:<email>, group:<email> or serviceAccount:<email>.`,
        false,
      );
    }
    return `user:${mapped}`;
  }
  if (principal.email) return `user:${principal.email}`;
  throw providerError(
    provider,
    `No Google identity is known for <@${principal.slackUserId}>: add gcp: "user:<email>" under principals.${principal.slackUserId} in the policy file.`,
    false,
  );
}
