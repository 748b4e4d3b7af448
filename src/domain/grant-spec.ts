/** The one way to build what a provider is told about a grant (a GrantSpec) from a request and its grant record. */
import type { AccessRequest, GrantRecord } from './access-request';
import type { GrantSpec } from './ports';

/** What a provider needs to grant, revoke, verify or sweep `request`'s access as `grant` records it, to `expiresAt`. */
export function grantSpec(request: AccessRequest, grant: GrantRecord, expiresAt: number): GrantSpec {
  return {
    requestId: request.id,
    roleId: request.roleId,
    target: grant.target,
    principal: {
      slackUserId: request.requesterId,
      identities: grant.identities,
      ...(grant.email !== undefined && { email: grant.email }),
    },
    expiresAt,
    ...(grant.memo !== undefined && { memo: grant.memo }),
  };
}
