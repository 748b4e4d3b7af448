import { isDeepStrictEqual } from 'node:util';
import type { Policy } from '../domain/policy';

/** What a reload changes, by role ID and settings key. */
export interface PolicyChanges {
  rolesAdded: string[];
  rolesRemoved: string[];
  /** Roles whose definition differs in anything (approvers, durations, target…). */
  rolesChanged: string[];
  /** `settings` keys whose value differs. */
  settingsChanged: string[];
  /** Whether the `principals` map differs (the people are not named: the map holds cloud identities). */
  principalsChanged: boolean;
}

/** Compares two policies as the bot uses them (after defaults), not as written: a reformatted file changes nothing. */
export function policyChanges(before: Policy, after: Policy): PolicyChanges {
  const beforeRoles = new Map(before.roles.map((role) => [role.id, role]));
  const afterRoles = new Map(after.roles.map((role) => [role.id, role]));
  const keys = new Set([...Object.keys(before.settings), ...Object.keys(after.settings)]);
  return {
    rolesAdded: [...afterRoles.keys()].filter((id) => !beforeRoles.has(id)),
    rolesRemoved: [...beforeRoles.keys()].filter((id) => !afterRoles.has(id)),
    rolesChanged: [...afterRoles].flatMap(([id, role]) => {
      const previous = beforeRoles.get(id);
      return previous !== undefined && !isDeepStrictEqual(previous, role) ? [id] : [];
    }),
    settingsChanged: [...keys].filter(
      (key) =>
        !isDeepStrictEqual(
          (before.settings as unknown as Record<string, unknown>)[key],
          (after.settings as unknown as Record<string, unknown>)[key],
        ),
    ),
    principalsChanged: !isDeepStrictEqual(before.principals, after.principals),
  };
}

/** True when the reload changes nothing the bot decides with. */
export function nothingChanged(changes: PolicyChanges): boolean {
  return (
    changes.rolesAdded.length +
      changes.rolesRemoved.length +
      changes.rolesChanged.length +
      changes.settingsChanged.length ===
      0 && !changes.principalsChanged
  );
}

/** One line for the log and the audit trail: "roles added: a; roles changed: b; settings changed: c". */
export function describeChanges(changes: PolicyChanges): string {
  const parts = [
    changes.rolesAdded.length > 0 && `roles added: ${changes.rolesAdded.join(', ')}`,
    changes.rolesRemoved.length > 0 && `roles removed: ${changes.rolesRemoved.join(', ')}`,
    changes.rolesChanged.length > 0 && `roles changed: ${changes.rolesChanged.join(', ')}`,
    changes.settingsChanged.length > 0 && `settings changed: ${changes.settingsChanged.join(', ')}`,
    changes.principalsChanged && 'principals changed',
  ].filter((part): part is string => typeof part === 'string');
  return parts.length > 0 ? parts.join('; ') : 'nothing changed';
}
