/**
 * Pure edits of a Google Cloud allow policy: add, replace or remove the bot's one conditional binding and leave
 * every other binding exactly as read. Kept apart from the client so the rules can be tested without a server.
 */
import { REQUEST_ID_PATTERN } from '../../domain/request-id';
import { sameMember } from './iam-member';

/** An IAM condition as Cloud Resource Manager returns it (proto3 JSON: absent and empty are the same). */
export interface IamCondition {
  title?: string | null;
  description?: string | null;
  expression?: string | null;
  location?: string | null;
}

/** One role binding; fields this module does not know about are carried through untouched. */
export interface IamBinding {
  role?: string | null;
  members?: string[] | null;
  condition?: IamCondition | null;
}

/** The parts of an allow policy this module reads; the rest (etag, version, audit configs) is passed through. */
export interface IamPolicy {
  bindings?: IamBinding[] | null;
}

/** The condition the bot writes: the title marks the binding as the bot's, the expression ends it. */
export interface JitCondition {
  title: string;
  description: string;
  expression: string;
}

/** Which binding and member are the bot's for one request. */
export interface JitBindingKey {
  role: string;
  member: string;
  /** `jit-<requestId>`: the only thing that marks a binding as the bot's. */
  title: string;
}

/**
 * Google's limits on one allow policy ("Quotas and limits" of IAM, cloud.google.com/iam/quotas): every
 * occurrence of a principal in any binding counts toward the 1,500.
 */
export const MAX_PRINCIPALS_PER_POLICY = 1500;
export const MAX_GROUPS_PER_POLICY = 250;
/**
 * "Role bindings in an allow policy that include the same role and the same principal, but different condition
 * expressions": 20 (cloud.google.com/iam/quotas). Each grant of the bot is one such binding, so this is how many
 * grants of one role one person can hold at once on one resource.
 */
export const MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL = 20;
/**
 * "Don't add more than 100 conditional role bindings to a single allow policy" (IAM Conditions overview,
 * cloud.google.com/iam/docs/conditions-overview).
 */
export const MAX_CONDITIONAL_BINDINGS_PER_POLICY = 100;

/** The condition title that names the bot's binding for a request, so a sweep can find it without the store. */
export function jitConditionTitle(requestId: string): string {
  return `jit-${requestId}`;
}

/** The condition that makes IAM itself end the grant at `expiresAt`, naming the request and the expiry. */
export function jitCondition(requestId: string, expiresAt: number): JitCondition {
  const expiry = new Date(expiresAt).toISOString();
  return {
    title: jitConditionTitle(requestId),
    description: `jit ${requestId} until ${expiry}`,
    expression: `request.time < timestamp("${expiry}")`,
  };
}

/** The result of an edit: the policy to write, and whether it differs from the one read (no write when not). */
export interface PolicyEdit<P extends IamPolicy> {
  policy: P;
  changed: boolean;
}

function isJitBinding(binding: IamBinding, key: Pick<JitBindingKey, 'role' | 'title'>): boolean {
  return binding.role === key.role && binding.condition?.title === key.title;
}

/** Whether the binding holds `member`, in whatever case Google keeps it. */
function holdsMember(binding: IamBinding, member: string): boolean {
  return (binding.members ?? []).some((held) => sameMember(held, member));
}

/**
 * Puts `member` in the bot's binding for `role` titled `condition.title`, with `condition` (a re-grant replaces
 * the expiry on the same binding). Members someone else added to that binding stay. Every other binding, even
 * one for the same role with another or no condition, is kept as the same object.
 */
export function withJitBinding<P extends IamPolicy>(
  policy: P,
  key: Pick<JitBindingKey, 'role' | 'member'>,
  condition: JitCondition,
): PolicyEdit<P> {
  const bindings = policy.bindings ?? [];
  const index = bindings.findIndex((binding) => isJitBinding(binding, { role: key.role, title: condition.title }));
  if (index === -1) {
    const added: IamBinding = { role: key.role, members: [key.member], condition: { ...condition } };
    return { policy: { ...policy, bindings: [...bindings, added] }, changed: true };
  }
  const existing = bindings[index] as IamBinding;
  const members = existing.members ?? [];
  // Google may hold the member in the account's own case: it is already there, and must not be added twice.
  const hasMember = holdsMember(existing, key.member);
  if (hasMember && sameCondition(existing.condition, condition)) return { policy, changed: false };
  const replaced: IamBinding = {
    ...existing,
    members: hasMember ? members : [...members, key.member],
    condition: { ...condition },
  };
  return { policy: { ...policy, bindings: bindings.map((b, i) => (i === index ? replaced : b)) }, changed: true };
}

/**
 * Takes `member` (in whatever case Google holds it) out of the bot's binding for the request, dropping the
 * binding when nobody is left in it.
 * Unchanged when the binding or the member is not there (already revoked, or never granted).
 */
export function withoutJitMember<P extends IamPolicy>(policy: P, key: JitBindingKey): PolicyEdit<P> {
  const bindings = policy.bindings ?? [];
  let changed = false;
  const kept: IamBinding[] = [];
  for (const binding of bindings) {
    if (!isJitBinding(binding, key) || !holdsMember(binding, key.member)) {
      kept.push(binding);
      continue;
    }
    changed = true;
    const members = (binding.members ?? []).filter((member) => !sameMember(member, key.member));
    if (members.length > 0) kept.push({ ...binding, members });
  }
  return changed ? { policy: { ...policy, bindings: kept }, changed } : { policy, changed };
}

/** The bot's binding for the request holding `member`, if the policy has it. */
export function findJitBinding(policy: IamPolicy, key: JitBindingKey): IamBinding | undefined {
  return (policy.bindings ?? []).find((binding) => isJitBinding(binding, key) && holdsMember(binding, key.member));
}

/**
 * Conditional bindings in the policy: all of them, and those of `role` that hold `member` (in any case), as
 * Google counts them against {@link MAX_CONDITIONAL_BINDINGS_PER_POLICY} and
 * {@link MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL}. Expired ones count until they are removed.
 */
export function countConditionalBindings(
  policy: IamPolicy,
  key: Pick<JitBindingKey, 'role' | 'member'>,
): { inPolicy: number; forRoleAndMember: number } {
  let inPolicy = 0;
  let forRoleAndMember = 0;
  for (const binding of policy.bindings ?? []) {
    if (!binding.condition?.expression) continue;
    inPolicy += 1;
    if (binding.role === key.role && holdsMember(binding, key.member)) forRoleAndMember += 1;
  }
  return { inPolicy, forRoleAndMember };
}

/** Principal occurrences in the policy, counted the way Google counts them against its limits. */
export function countPrincipals(policy: IamPolicy): { principals: number; groups: number } {
  let principals = 0;
  let groups = 0;
  for (const binding of policy.bindings ?? []) {
    for (const member of binding.members ?? []) {
      principals += 1;
      if (member.startsWith('group:')) groups += 1;
    }
  }
  return { principals, groups };
}

function sameCondition(actual: IamCondition | null | undefined, expected: IamCondition): boolean {
  return (
    (actual?.title ?? '') === (expected.title ?? '') &&
    (actual?.description ?? '') === (expected.description ?? '') &&
    (actual?.expression ?? '') === (expected.expression ?? '')
  );
}

/**
 * Request IDs as the bot makes and accepts them; a title is the bot's only when it is `jit-` and exactly this,
 * so `jit-`, `jit-ABC` or `jit-abc-old` someone wrote by hand are never taken for the bot's.
 */
const JIT_TITLE = new RegExp(`^jit-(${REQUEST_ID_PATTERN})$`);

/** The request ID a condition title names, or undefined when the title is not exactly `jit-<requestId>`. */
export function requestIdOfTitle(title: string | null | undefined): string | undefined {
  return typeof title === 'string' ? JIT_TITLE.exec(title)?.[1] : undefined;
}

/**
 * The bot's expression, read back: `request.time < timestamp("<RFC 3339>")`. Spacing around the operator and
 * single quotes are allowed (CEL reads them the same, and someone fixing a binding by hand may write them);
 * nothing else may be combined with it, since `… || true` would not end at that time.
 */
const JIT_EXPRESSION = /^\s*request\.time\s*<\s*timestamp\(\s*(?:"([^"]*)"|'([^']*)')\s*\)\s*$/;

/**
 * RFC 3339 as CEL's `timestamp()` takes it: upper-case `T`, `Z` or a numeric offset, optional fraction of up
 * to nine digits.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant (epoch ms) an RFC 3339 timestamp names, or undefined for anything else, including dates that do
 * not exist (`2031-02-30`) and leap seconds, which `Date.parse` would quietly accept or shift. A fraction
 * finer than a millisecond is rounded up, so the result is never before the instant IAM stops honouring.
 */
export function parseRfc3339(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = match[7] ?? '';
  const sign = match[8] === '-' ? -1 : 1;
  const offsetHours = Number(match[9] ?? 0);
  const offsetMinutes = Number(match[10] ?? 0);
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  const digits = fraction.padEnd(9, '0');
  // Whole milliseconds from the first three digits, plus one if any finer digit is not zero (no float maths).
  const milliseconds = Number(digits.slice(0, 3)) + (/[1-9]/.test(digits.slice(3)) ? 1 : 0);
  return date.getTime() + milliseconds - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

/** The expiry (epoch ms) in an expression of the form the bot writes, or undefined when it is not that form. */
export function expiryOfExpression(expression: string | null | undefined): number | undefined {
  if (typeof expression !== 'string') return undefined;
  const match = JIT_EXPRESSION.exec(expression);
  const timestamp = match?.[1] ?? match?.[2];
  return timestamp === undefined ? undefined : parseRfc3339(timestamp);
}

/** One member of one binding titled `jit-<requestId>`: what the sweep reports and revoke removes. */
export interface JitMemberGrant {
  requestId: string;
  role: string;
  member: string;
  title: string;
  /** The expiry the condition names; undefined when its expression is not one the bot can read. */
  expiresAt?: number;
  /** The condition's expression as read, for saying why no expiry could be read. */
  expression: string;
}

/**
 * Every (binding, member) of the policy whose condition title is exactly `jit-<requestId>`, in policy order.
 * The title alone marks a binding as the bot's (the description is not needed, nor trusted); the expiry comes
 * from the expression, which is what IAM enforces.
 */
export function jitMemberGrants(policy: IamPolicy): JitMemberGrant[] {
  const found: JitMemberGrant[] = [];
  for (const binding of policy.bindings ?? []) {
    const title = binding.condition?.title;
    const requestId = requestIdOfTitle(title);
    // Without a role there is nothing revoke could name; Google never returns such a binding.
    if (requestId === undefined || title == null || !binding.role) continue;
    const expression = binding.condition?.expression ?? '';
    const expiresAt = expiryOfExpression(expression);
    for (const member of binding.members ?? []) {
      found.push({
        requestId,
        role: binding.role,
        member,
        title,
        ...(expiresAt !== undefined && { expiresAt }),
        expression,
      });
    }
  }
  return found;
}
