import { z } from 'zod';
import { type GrantDescription, grantEmail, missingIdentity, type PolicyPrincipal } from '../grant-description';
import { providerError } from '../retry';

/** A project ID as Google allows it: 6–30 characters, lowercase letter first, no trailing hyphen. */
const PROJECT_ID = '[a-z][a-z0-9-]{4,28}[a-z0-9]';
const NUMERIC_ID = '[0-9]{1,25}';
/** Custom role IDs: 3–64 letters, digits, underscores and periods. */
const CUSTOM_ROLE_ID = '[A-Za-z0-9_.]{3,64}';

const PROJECT_RESOURCE = new RegExp(`^projects/(${PROJECT_ID})$`);
const FOLDER_RESOURCE = new RegExp(`^folders/${NUMERIC_ID}$`);
const ORGANIZATION_RESOURCE = new RegExp(`^organizations/${NUMERIC_ID}$`);

const PREDEFINED_ROLE = /^roles\/[A-Za-z][A-Za-z0-9_.]{0,127}$/;
const PROJECT_CUSTOM_ROLE = new RegExp(`^projects/(${PROJECT_ID})/roles/${CUSTOM_ROLE_ID}$`);
const ORGANIZATION_CUSTOM_ROLE = new RegExp(`^organizations/${NUMERIC_ID}/roles/${CUSTOM_ROLE_ID}$`);

/** Basic roles predate IAM Conditions and ignore them, so a grant of one would never expire by itself. */
export const BASIC_ROLES: readonly string[] = ['roles/owner', 'roles/editor', 'roles/viewer'];

const RESOURCE_EXPECTED =
  'expected projects/<project-id> (6–30 lowercase letters, digits or hyphens, starting with a letter), ' +
  'folders/<number> or organizations/<number>, e.g. "projects/my-project-123" or "folders/123456789012"';

const ROLE_EXPECTED =
  'expected a predefined role roles/<name> (e.g. "roles/compute.instanceAdmin.v1"), a project custom role ' +
  'projects/<project-id>/roles/<role-id> or an organization custom role organizations/<number>/roles/<role-id>';

/** Why `value` is not a resource Cloud Resource Manager can hold an allow policy for, or undefined if it is. */
function resourceProblem(value: string): string | undefined {
  if (PROJECT_RESOURCE.test(value) || FOLDER_RESOURCE.test(value) || ORGANIZATION_RESOURCE.test(value)) {
    return undefined;
  }
  if (value.startsWith('projects/')) {
    return `"${value}" is not a valid project: the project ID must be 6–30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen, e.g. "projects/my-project-123"`;
  }
  if (value.startsWith('folders/') || value.startsWith('organizations/')) {
    return `"${value}" is not valid: folders and organizations are named by their number, e.g. "folders/123456789012" or "organizations/123456789012"`;
  }
  return `"${value}" is not a resource: ${RESOURCE_EXPECTED}`;
}

function roleProblem(value: string): string | undefined {
  if (BASIC_ROLES.includes(value)) {
    return `"${value}" is a basic role: IAM conditions do not work on basic roles, so the grant could not expire by itself; use a predefined or custom role instead (e.g. "roles/compute.admin")`;
  }
  if (PREDEFINED_ROLE.test(value) || PROJECT_CUSTOM_ROLE.test(value) || ORGANIZATION_CUSTOM_ROLE.test(value)) {
    return undefined;
  }
  return `"${value}" is not a role name: ${ROLE_EXPECTED}`;
}

function checkedString(what: string, expected: string, problem: (value: string) => string | undefined) {
  return z.string({ error: `${what} is required: ${expected}` }).superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  });
}

/**
 * What a `provider: gcp` role's `target:` says: the project, folder or organization whose allow policy gets a
 * conditional binding, and the role to bind. Custom roles defined in a project can only be granted in that
 * project, so that is checked too.
 */
export const gcpTargetSchema = z
  .object({
    /** `projects/<id>`, `folders/<number>` or `organizations/<number>`. */
    resource: checkedString('resource', RESOURCE_EXPECTED, resourceProblem),
    /** `roles/<name>`, `projects/<id>/roles/<name>` or `organizations/<number>/roles/<name>`; never a basic role. */
    role: checkedString('role', ROLE_EXPECTED, roleProblem),
  })
  .strict()
  .superRefine((target, ctx) => {
    const roleProject = PROJECT_CUSTOM_ROLE.exec(target.role)?.[1];
    if (roleProject !== undefined && target.resource !== `projects/${roleProject}`) {
      ctx.addIssue({
        code: 'custom',
        path: ['role'],
        message: `"${target.role}" is a custom role of project ${roleProject}, which can only be granted on "projects/${roleProject}", not on "${target.resource}"; use an organization custom role or a predefined role there`,
      });
    }
  });

/** A validated `target:` of a `provider: gcp` role. */
export type GcpTarget = z.infer<typeof gcpTargetSchema>;

/**
 * A role's target, parsed.
 * @throws CloudProviderError (not retryable) naming what is wrong with it.
 */
export function parseGcpTarget(target: Readonly<Record<string, unknown>>): GcpTarget {
  const parsed = gcpTargetSchema.safeParse(target);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => issue.message).join('; ');
  throw providerError('gcp', `This role's gcp target is invalid: ${problems}`, false);
}

/** The kind of resource a target names, which decides the client and the permission the bot needs. */
export type GcpResourceKind = 'projects' | 'folders' | 'organizations';

/** The kind of a resource name the schema accepted. */
export function resourceKind(resource: string): GcpResourceKind {
  if (resource.startsWith('folders/')) return 'folders';
  if (resource.startsWith('organizations/')) return 'organizations';
  return 'projects';
}

/** Predefined roles that can change IAM policies, service accounts or roles. */
const IAM_POWER_ROLES = new Set([
  'roles/resourcemanager.projectIamAdmin',
  'roles/resourcemanager.folderIamAdmin',
  'roles/resourcemanager.folderAdmin',
  'roles/resourcemanager.organizationAdmin',
  'roles/iam.securityAdmin',
  'roles/iam.roleAdmin',
  'roles/iam.organizationRoleAdmin',
  'roles/iam.serviceAccountAdmin',
  'roles/iam.serviceAccountKeyAdmin',
  'roles/iam.serviceAccountTokenCreator',
  'roles/iam.workloadIdentityPoolAdmin',
]);

/** Why a GCP target can change IAM itself, or undefined. */
export function gcpIamPower(target: Readonly<Record<string, unknown>>): string | undefined {
  const parsed = gcpTargetSchema.safeParse(target);
  if (!parsed.success) return undefined;
  return IAM_POWER_ROLES.has(parsed.data.role) ? `${parsed.data.role} can change IAM` : undefined;
}

/** Principal prefixes the bot passes through as written in the policy's principals map. */
export const MEMBER_PREFIXES: readonly string[] = [
  'user:',
  'group:',
  'serviceAccount:',
  'principal://',
  'principalSet://',
];

/**
 * What a grant of this GCP target would create for the person, and as which IAM member: `principals.<user>.gcp`
 * (as the provider's `gcpMember` reads it), else `user:<their email>`.
 */
export function describeGcpGrant(
  target: Readonly<Record<string, unknown>>,
  principal: PolicyPrincipal,
): GrantDescription {
  const parsed = gcpTargetSchema.parse(target);
  const email = grantEmail(principal);
  const mapped = principal.mapped?.trim();
  let member: string;
  let grantee: string;
  let refusal: string | undefined;
  if (mapped) {
    const prefixed = MEMBER_PREFIXES.some((prefix) => mapped.startsWith(prefix));
    member = prefixed ? mapped : `user:${mapped}`;
    grantee = `${member} (principals.${principal.slackUserId}.gcp)`;
    if (!prefixed && mapped.includes(':')) {
      refusal = `principals.${principal.slackUserId}.gcp is "${mapped}", not a principal the bot grants to: write it as user:<email>, group:<email> or serviceAccount:<email>`;
    }
  } else if (email !== undefined) {
    member = `user:${email.value}`;
    grantee = `${member} (${email.source})`;
  } else {
    member = 'user:<their email>';
    grantee = 'nobody yet';
    refusal = missingIdentity(principal, 'gcp: "user:<email>"');
  }
  return {
    artefact: `conditional IAM binding of ${parsed.role} on ${parsed.resource} for ${member}, titled jit-<requestId> with the condition request.time < timestamp(<expiry>), so IAM ends it at expiry`,
    grantee,
    ...(refusal !== undefined && { refusal }),
  };
}
