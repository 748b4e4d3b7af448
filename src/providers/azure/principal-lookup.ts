/** Who a grant is for in Entra ID: the object ID the policy maps, else the one Microsoft Graph finds by email. */
import { CloudProviderError } from '../../domain/errors';
import type { GrantSpec } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { providerError } from '../retry';
import type { AzureCall } from './azure-call';
import { PROVIDER } from './azure-errors';
import { isGuid } from './azure-target';
import type { GraphDirectory } from './graph-directory';

export class PrincipalLookup {
  constructor(
    private readonly directory: GraphDirectory,
    private readonly call: AzureCall,
    private readonly logger: Logger,
  ) {}

  /** The person's Entra object ID: `azure:` in the policy's principals map, else looked up by email in Graph. */
  async resolve(spec: GrantSpec): Promise<string> {
    const mapped = spec.principal.identities.azure;
    if (mapped !== undefined) {
      if (!isGuid(mapped)) {
        throw providerError(
          PROVIDER,
          `The policy file maps this person to azure: ${mapped}, which is not an Entra object ID: set it to the ` +
            "GUID shown as Object ID on the user's page in Entra ID.",
          false,
        );
      }
      return mapped.toLowerCase();
    }
    const email = spec.principal.email;
    if (email === undefined) {
      throw providerError(
        PROVIDER,
        `The bot has no email for <@${spec.principal.slackUserId}> to find them in Entra ID: add ` +
          `azure: <their Entra object ID> under principals.${spec.principal.slackUserId} in the policy file.`,
        false,
      );
    }
    const objectId = await this.call(
      {
        requestId: spec.requestId,
        doing: `look up ${email} in Microsoft Graph`,
        permission: 'the Microsoft Graph application permission User.ReadBasic.All',
        remedy:
          'Grant it that permission with admin consent, or map this person with azure: <object id> under principals.',
      },
      () => this.directory.findUserObjectId(email),
    );
    if (objectId === undefined) {
      throw providerError(
        PROVIDER,
        `Entra ID has no user whose email or user principal name is ${email}: add azure: <their Entra object ID> ` +
          `under principals.${spec.principal.slackUserId} in the policy file.`,
        false,
      );
    }
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, principalId: objectId },
      'azure: found the person in Entra ID',
    );
    return objectId.toLowerCase();
  }

  /**
   * The principal for a revoke that has no memo (cleanup after a failed grant). If the person cannot be found,
   * no grant can have been made for them, so there is nothing to remove.
   */
  async forCleanup(spec: GrantSpec): Promise<string | undefined> {
    try {
      return await this.resolve(spec);
    } catch (error) {
      if (error instanceof CloudProviderError && !error.retryable) {
        this.logger.info(
          { provider: PROVIDER, requestId: spec.requestId, reason: error.message },
          'azure: the person cannot be resolved, so nothing was granted to remove',
        );
        return undefined;
      }
      throw error;
    }
  }
}
