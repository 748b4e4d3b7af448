/** The role menu's options: grouped by cloud, matched on typed text, and capped at what Slack takes in one menu. */
import type { PlainTextOption } from '@slack/types';
import { z } from 'zod';
import type { Role } from '../../domain/policy';
import { BLOCK_KIT_LIMITS } from './block-kit-limits';
import { truncate } from './format';

const PROVIDER_LABELS: Readonly<Record<string, string>> = {
  aws: 'AWS',
  azure: 'Azure',
  gcp: 'Google Cloud',
  dryrun: 'Dry run (no cloud)',
};

/**
 * The value of the last option when more roles match than one answer may carry. A colon is never in a role ID, so
 * the submission's role check refuses it like any other non-role.
 */
export const MORE_ROLES_VALUE = ':more';

/** A role ID as the policy allows it (`config/policy-schema.ts`); a menu value that is not one is refused. */
export const roleIdValueSchema = z
  .string()
  .max(64)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);

/** Longest typed text matched; Slack sends what was typed, and nothing longer can match a role ID anyway. */
const MAX_QUERY_LENGTH = 200;

export interface RoleOptionGroup {
  label: { type: 'plain_text'; text: string };
  options: PlainTextOption[];
}

/** The answer to a `block_suggestion`: the option groups Slack shows under the menu. */
export interface RoleSuggestions {
  option_groups: RoleOptionGroup[];
}

export function roleOption(role: Role): PlainTextOption {
  return {
    text: { type: 'plain_text', text: truncate(role.id, BLOCK_KIT_LIMITS.optionText) },
    description: { type: 'plain_text', text: truncate(role.description, BLOCK_KIT_LIMITS.optionText) },
    value: role.id,
  };
}

function providerLabel(provider: string): string {
  return truncate(PROVIDER_LABELS[provider] ?? provider, BLOCK_KIT_LIMITS.optionGroupLabel);
}

/** The roles as option groups, one per cloud in the order the policy first names it, roles in policy order. */
export function roleOptionGroups(roles: readonly Role[]): RoleOptionGroup[] {
  const providers = [...new Set(roles.map((role) => role.provider))];
  return providers.map((provider) => ({
    label: { type: 'plain_text', text: providerLabel(provider) },
    options: roles.filter((role) => role.provider === provider).map(roleOption),
  }));
}

/**
 * The roles whose ID or description holds every word typed, case-insensitively, in policy order; everything
 * when nothing is typed.
 */
export function matchRoles(roles: readonly Role[], typed: string): Role[] {
  const words = typed.slice(0, MAX_QUERY_LENGTH).toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...roles];
  return roles.filter((role) => {
    const haystack = `${role.id} ${role.description}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

/**
 * The options for what was typed, grouped by cloud. When more match than one answer may carry, the last option
 * says how many more there are and to type more; picking it selects no role.
 */
export function roleSuggestions(requestable: readonly Role[], typed: string): RoleSuggestions {
  const matching = matchRoles(requestable, typed);
  const cap = BLOCK_KIT_LIMITS.suggestionOptions;
  if (matching.length <= cap) return { option_groups: roleOptionGroups(matching) };
  // One place goes to the hint, so the roles shown and the hint together stay within the cap.
  const shown = matching.slice(0, cap - 1);
  const hidden = matching.length - shown.length;
  return {
    option_groups: [
      ...roleOptionGroups(shown),
      {
        label: { type: 'plain_text', text: truncate(`${hidden} more roles match`, BLOCK_KIT_LIMITS.optionGroupLabel) },
        options: [
          {
            text: { type: 'plain_text', text: `${hidden} more — type more of a name to narrow` },
            value: MORE_ROLES_VALUE,
          },
        ],
      },
    ],
  };
}
