/** A `provider: azure` role's `target:`: its schema, its role definition's ARM names, and what a grant of it gives. */
import { z } from 'zod';
import { type GrantDescription, grantEmail, missingIdentity, type PolicyPrincipal } from '../grant-description';

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const GUID_PATTERN = new RegExp(`^${GUID}$`);
/** Resource group names: letters, digits, `_ - . ( )`, up to 90 characters, not ending in a period. */
const RESOURCE_GROUP = '[\\w\\-.()]{0,89}[\\w\\-()]';
const MANAGEMENT_GROUP = '[\\w\\-.()]{1,90}';
/** `/providers/<Namespace>/<type>/<name>` and any number of child `<type>/<name>` pairs. */
const RESOURCE = '/providers/[A-Za-z][\\w]*(?:\\.[A-Za-z][\\w]*)+(?:/[A-Za-z][\\w.\\-]*/[^/\\s]+)+';

const SUBSCRIPTION_SCOPE = new RegExp(
  `^/subscriptions/(${GUID})(?:/resourceGroups/${RESOURCE_GROUP})?(?:${RESOURCE})?$`,
  'i',
);
const MANAGEMENT_GROUP_SCOPE = new RegExp(
  `^/providers/Microsoft\\.Management/managementGroups/${MANAGEMENT_GROUP}$`,
  'i',
);
const ROLE_DEFINITION_ID = new RegExp(
  `^(?:/subscriptions/${GUID}|/providers/Microsoft\\.Management/managementGroups/${MANAGEMENT_GROUP})?/providers/Microsoft\\.Authorization/roleDefinitions/(${GUID})$`,
  'i',
);

const scopeSchema = z.string().refine((scope) => SUBSCRIPTION_SCOPE.test(scope) || MANAGEMENT_GROUP_SCOPE.test(scope), {
  error:
    'must be an Azure scope: /subscriptions/<subscription GUID>, optionally followed by /resourceGroups/<name> and ' +
    '/providers/<Namespace>/<type>/<name>, or /providers/Microsoft.Management/managementGroups/<id>; e.g. ' +
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app-prod',
});

const roleDefinitionIdSchema = z
  .string()
  .refine((value) => GUID_PATTERN.test(value) || ROLE_DEFINITION_ID.test(value), {
    error:
      'must be a role definition GUID (e.g. acdd72a7-3385-48ef-bd42-f606fba81ae7 for Reader) or its full ID, e.g. ' +
      '/subscriptions/<subscription GUID>/providers/Microsoft.Authorization/roleDefinitions/<role GUID>',
  });

const roleAssignmentTarget = z
  .object({
    kind: z.literal('role-assignment'),
    /** Where the role applies: a subscription, resource group, resource or management group. */
    scope: scopeSchema,
    /** The role: a GUID (built-in or custom) or a full role definition ID. */
    roleDefinitionId: roleDefinitionIdSchema,
  })
  .strict();

const pimTarget = z
  .object({
    kind: z.literal('pim'),
    scope: scopeSchema,
    roleDefinitionId: roleDefinitionIdSchema,
    /** Put before the bot's own justification (`jit <request> until <expiry>`), e.g. a change-ticket prefix. */
    justificationPrefix: z
      .string()
      .trim()
      .min(1, { error: 'must not be empty; leave it out instead' })
      .max(200, { error: 'must be at most 200 characters (Azure caps the whole justification at 500)' })
      .optional(),
  })
  .strict();

/** What an Azure role's `target:` may say: a plain role assignment, or a PIM active assignment Azure ends itself. */
export const azureTargetSchema = z.discriminatedUnion('kind', [roleAssignmentTarget, pimTarget], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'must be role-assignment (an RBAC role assignment) or pim (a PIM active assignment with an expiry Azure enforces)'
      : undefined,
});

export type AzureTarget = z.infer<typeof azureTargetSchema>;
export type AzureRoleAssignmentTarget = z.infer<typeof roleAssignmentTarget>;
export type AzurePimTarget = z.infer<typeof pimTarget>;

/**
 * The full role definition ID Azure expects. A bare GUID is placed under the scope's subscription (built-in and
 * subscription custom roles live there), or under the management group for a management-group scope.
 */
export function roleDefinitionResourceId(target: Pick<AzureTarget, 'scope' | 'roleDefinitionId'>): string {
  if (!GUID_PATTERN.test(target.roleDefinitionId)) return target.roleDefinitionId;
  const subscription = SUBSCRIPTION_SCOPE.exec(target.scope)?.[1];
  const base = subscription !== undefined ? `/subscriptions/${subscription}` : target.scope;
  return `${base}/providers/Microsoft.Authorization/roleDefinitions/${target.roleDefinitionId.toLowerCase()}`;
}

/** The GUID at the end of a role definition ID, lowercased, so IDs written at different levels compare equal. */
export function roleDefinitionGuid(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').pop() ?? roleDefinitionId).toLowerCase();
}

/** True when the text is a GUID, as Entra object IDs are. */
export function isGuid(text: string): boolean {
  return GUID_PATTERN.test(text);
}

/** Built-in Azure roles that can assign roles: Owner, User Access Administrator, RBAC Administrator. */
const IAM_POWER_ROLES: Readonly<Record<string, string>> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcd635': 'Owner',
  '18d7d88d-d35e-4fb3-9a5d-4d7c5d8e9a2a': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
};

/** Why an Azure target can change role assignments itself, or undefined. */
export function azureIamPower(target: Readonly<Record<string, unknown>>): string | undefined {
  const parsed = azureTargetSchema.safeParse(target);
  if (!parsed.success) return undefined;
  const name = IAM_POWER_ROLES[roleDefinitionGuid(parsed.data.roleDefinitionId).toLowerCase()];
  return name === undefined ? undefined : `the ${name} role can assign roles`;
}

/**
 * What a grant of this Azure target would create for the person, and as whom: the Entra object ID from
 * `principals.<user>.azure`, else the Entra user found by their email in Microsoft Graph.
 */
export function describeAzureGrant(
  target: Readonly<Record<string, unknown>>,
  principal: PolicyPrincipal,
): GrantDescription {
  const parsed = azureTargetSchema.parse(target);
  const email = grantEmail(principal);
  const role = roleDefinitionResourceId(parsed);
  const known = IAM_POWER_ROLES[roleDefinitionGuid(role)];
  const roleText = known === undefined ? role : `${role} (${known})`;
  let who: string;
  let grantee: string;
  let refusal: string | undefined;
  if (principal.mapped !== undefined) {
    who = `Entra object ${principal.mapped}`;
    grantee = `Entra object ${principal.mapped} (principals.${principal.slackUserId}.azure)`;
    if (!isGuid(principal.mapped)) {
      refusal = `principals.${principal.slackUserId}.azure is ${principal.mapped}, not an Entra object ID: set it to the GUID shown as Object ID on the user's page in Entra ID`;
    }
  } else if (email !== undefined) {
    who = `the Entra user whose email or user principal name is ${email.value}`;
    grantee = `${who} (${email.source}), looked up in Microsoft Graph`;
  } else {
    who = 'their Entra user';
    grantee = 'nobody yet';
    refusal = missingIdentity(principal, 'azure: <their Entra object ID>');
  }
  const artefact =
    parsed.kind === 'pim'
      ? `PIM schedule on ${parsed.scope}: an active assignment of role ${roleText} to ${who}, with an expiration Azure enforces`
      : `role assignment of role ${roleText} at ${parsed.scope} to ${who}, named by a GUID derived from the request ID and described "jit <requestId> until <expiry>"; the bot removes it at expiry`;
  return { artefact, grantee, ...(refusal !== undefined && { refusal }) };
}
