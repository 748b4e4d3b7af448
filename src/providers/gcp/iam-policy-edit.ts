/**
 * Pure edits of a Google Cloud allow policy: add, replace or remove the bot's one conditional binding and leave
 * every other binding exactly as read. Kept apart from the client so the rules can be tested without a server.
 */

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

/** Google's limits on one allow policy; every occurrence of a principal in any binding counts. */
export const MAX_PRINCIPALS_PER_POLICY = 1500;
export const MAX_GROUPS_PER_POLICY = 250;

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
  const hasMember = members.includes(key.member);
  if (hasMember && sameCondition(existing.condition, condition)) return { policy, changed: false };
  const replaced: IamBinding = {
    ...existing,
    members: hasMember ? members : [...members, key.member],
    condition: { ...condition },
  };
  return { policy: { ...policy, bindings: bindings.map((b, i) => (i === index ? replaced : b)) }, changed: true };
}

/**
 * Takes `member` out of the bot's binding for the request, dropping the binding when nobody is left in it.
 * Unchanged when the binding or the member is not there (already revoked, or never granted).
 */
export function withoutJitMember<P extends IamPolicy>(policy: P, key: JitBindingKey): PolicyEdit<P> {
  const bindings = policy.bindings ?? [];
  let changed = false;
  const kept: IamBinding[] = [];
  for (const binding of bindings) {
    if (!isJitBinding(binding, key) || !(binding.members ?? []).includes(key.member)) {
      kept.push(binding);
      continue;
    }
    changed = true;
    const members = (binding.members ?? []).filter((member) => member !== key.member);
    if (members.length > 0) kept.push({ ...binding, members });
  }
  return changed ? { policy: { ...policy, bindings: kept }, changed } : { policy, changed };
}

/** The bot's binding for the request holding `member`, if the policy has it. */
export function findJitBinding(policy: IamPolicy, key: JitBindingKey): IamBinding | undefined {
  return (policy.bindings ?? []).find(
    (binding) => isJitBinding(binding, key) && (binding.members ?? []).includes(key.member),
  );
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
