/** Which email may name a person in a cloud: the policy's principals map first, a Slack email only when trusted. */
import { GrantRefused } from './grant-refusal';
import type { PolicySettings, PrincipalIdentities } from './policy';
import type { CloudProvider, PeopleDirectory } from './ports';

/**
 * The email a grant names the person by: `principals.<user>.email`, else their Slack profile email when the
 * policy allows profile emails and Slack confirmed it; undefined when the provider does not name people by email
 * or Slack has none (the provider then refuses, saying which principals entry to add).
 * @throws GrantRefused (not retryable) `principals_required` or `email_unconfirmed` when the person's only way
 * to be named in this cloud would be an email the policy or Slack does not vouch for.
 */
export async function emailForGrant(
  slackUserId: string,
  identities: PrincipalIdentities,
  provider: Pick<CloudProvider, 'name' | 'identifiesPeopleByEmail'>,
  settings: Pick<PolicySettings, 'identity'>,
  directory: Pick<PeopleDirectory, 'userEmail'>,
): Promise<string | undefined> {
  if (identities.email !== undefined) return identities.email;
  if (!provider.identifiesPeopleByEmail) return undefined;
  // A mapped cloud identity usually makes the email unnecessary; where the target still needs one (e.g. an AWS
  // Identity Center role for someone mapped to an IAM user), the provider refuses and names the entry to add.
  const mapped = identities[provider.name] !== undefined;
  if (settings.identity === 'principals') {
    if (mapped) return undefined;
    throw new GrantRefused({ code: 'principals_required', details: { userId: slackUserId, provider: provider.name } });
  }
  const profile = await directory.userEmail(slackUserId);
  if (profile === undefined || profile.confirmed) return profile?.address;
  if (mapped) return undefined;
  throw new GrantRefused({
    code: 'email_unconfirmed',
    details: { userId: slackUserId, provider: provider.name, address: profile.address },
  });
}
