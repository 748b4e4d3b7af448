/** What a grant of a role would create and whom it would name, told from the policy file alone (no cloud, no Slack). */
import type { PolicySettings, PrincipalIdentities } from '../domain/policy';

/**
 * How a person would be named in one cloud as far as the policy file tells: the same precedence as the grant
 * (`emailForGrant`), except that whether Slack has confirmed their profile email cannot be known offline.
 */
export interface PolicyPrincipal {
  slackUserId: string;
  /** Which provider's entry `mapped` is, for naming `principals.<user>.<provider>`. */
  provider: string;
  /** `principals.<user>.<provider>`, when the policy maps them. */
  mapped?: string;
  /** `principals.<user>.email`, when set. */
  email?: string;
  /** True when their Slack profile email may name them (`settings.identity: email` and no `email:` entry). */
  slackEmail: boolean;
}

/** One role's grant for one person, in words. */
export interface GrantDescription {
  /** The cloud artefact a grant creates, e.g. "customer managed policy /jit/jit-<requestId> attached to …". */
  artefact: string;
  /** Who the grant names and where that comes from, e.g. "IAM user alice (principals.U0ALICE.aws)". */
  grantee: string;
  /** Why a grant to this person would be refused as the policy stands, with the fix; absent when it can be made. */
  refusal?: string;
}

/** A provider's description of a (validated) target's grant to a person. */
export type GrantDescriber = (
  target: Readonly<Record<string, unknown>>,
  principal: PolicyPrincipal,
) => GrantDescription;

/** Stands in for the request ID in artefact names, which only exists once someone asks. */
export const REQUEST_ID_PLACEHOLDER = '<requestId>';

export function policyPrincipal(
  slackUserId: string,
  provider: string,
  identities: PrincipalIdentities | undefined,
  settings: Pick<PolicySettings, 'identity'>,
): PolicyPrincipal {
  const mapped = identities?.[provider];
  const email = identities?.email;
  return {
    slackUserId,
    provider,
    ...(mapped !== undefined && { mapped }),
    ...(email !== undefined && { email }),
    slackEmail: email === undefined && settings.identity === 'email',
  };
}

/** The email a grant would use, as an address or a stand-in, and where it comes from; undefined when none may. */
export function grantEmail(principal: PolicyPrincipal): { value: string; source: string } | undefined {
  if (principal.email !== undefined) {
    return { value: principal.email, source: `principals.${principal.slackUserId}.email` };
  }
  if (principal.slackEmail) {
    return { value: '<their Slack profile email>', source: 'used once Slack has confirmed it' };
  }
  return undefined;
}

/**
 * The fix for a person the policy gives no way to be named in this cloud; only reachable with
 * `settings.identity: principals`, since otherwise their Slack email may name them.
 */
export function missingIdentity(principal: PolicyPrincipal, entry: string): string {
  return `the policy names ${principal.slackUserId} in ${principal.provider} only through principals (settings.identity: principals), and has no entry for them: add ${entry} under principals.${principal.slackUserId}`;
}
