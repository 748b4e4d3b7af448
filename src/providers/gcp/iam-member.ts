/**
 * When two IAM members of an allow policy name the same principal: the one rule every edit, check and count of
 * the GCP provider uses to compare members.
 */

/**
 * Principal kinds whose identifier is an email address (or, for `domain:`, a domain name). Google stores and
 * returns these in the account's own case, whatever case they were sent in: a binding written as
 * `user:jane.doe@example.com` reads back as `user:Jane.Doe@example.com` (GoogleCloudPlatform/
 * security-response-automation PR 191; terraform-provider-google issues 4276, 5107 and 3880), so their address
 * is compared without case.
 */
const ADDRESS_KINDS = new Set(['user', 'group', 'serviceAccount', 'domain']);

/**
 * An email address or a domain name. Identifiers of those kinds that are neither keep their case: a
 * Kubernetes service account `serviceAccount:<project>.svc.id.goog[<namespace>/<name>]`, or a group such as
 * `group:<project>.svc.id.goog:/allAuthenticatedUsers/`, whose case matters
 * (terraform-provider-google issue 10466).
 */
const ADDRESS = /^[^\s:/[\]]+$/;

/**
 * The form two members share exactly when they name the same principal. The kind before the first `:` is
 * Google's lowercase keyword and stays as written, so `User:` is not `user:`. Other kinds keep their case:
 * `principal://` and `principalSet://` identifiers may be case-sensitive subjects of an external identity
 * provider (terraform-provider-google compares them exactly, magic-modules PR 4595), and a `deleted:` member
 * (`deleted:user:<email>?uid=<id>`, Google's "principal identifiers" page) is a removed account, never the live
 * one of the same address, which its prefix alone already keeps apart.
 */
export function memberKey(member: string): string {
  const colon = member.indexOf(':');
  if (colon === -1) return member;
  const kind = member.slice(0, colon);
  const address = member.slice(colon + 1);
  return ADDRESS_KINDS.has(kind) && ADDRESS.test(address) ? `${kind}:${address.toLowerCase()}` : member;
}

/** True when `a` and `b` name the same principal as Google sees it (see {@link memberKey}). */
export function sameMember(a: string, b: string): boolean {
  return memberKey(a) === memberKey(b);
}
