import type { Role } from '../../../../src/domain/policy';
import {
  MORE_ROLES_VALUE,
  matchRoles,
  roleIdValueSchema,
  roleOptionGroups,
  roleSuggestions,
} from '../../../../src/slack/blocks/role-options';
import { makeRole } from '../../fixtures';

const PROVIDERS = ['aws', 'azure', 'gcp'] as const;

/** 300 roles over three clouds; every tenth is a database role, and descriptions run past Slack's 75. */
const ROLES: Role[] = Array.from({ length: 300 }, (_, index) =>
  makeRole({
    id: `team-${String(index).padStart(3, '0')}-${index % 10 === 0 ? 'db' : 'app'}`,
    description: `${index % 10 === 0 ? 'Database' : 'Application'} admin for team ${index} ${'·'.repeat(100)}`,
    provider: PROVIDERS[index % 3] ?? 'aws',
  }),
);

const offered = (groups: ReturnType<typeof roleSuggestions>['option_groups']) =>
  groups.flatMap((group) => group.options.map((option) => option.value));

describe('matchRoles', () => {
  it('matches every typed word in the role ID or description, ignoring case, in policy order', () => {
    expect(matchRoles(ROLES, 'TEAM-01').map((role) => role.id)).toEqual(
      Array.from(
        { length: 10 },
        (_, index) => `team-${String(10 + index).padStart(3, '0')}-${index === 0 ? 'db' : 'app'}`,
      ),
    );
    expect(matchRoles(ROLES, 'database 12').map((role) => role.id)).toEqual(['team-120-db']);
    expect(matchRoles(ROLES, 'nothing-like-this')).toEqual([]);
  });

  it('offers every role when nothing is typed', () => {
    expect(matchRoles(ROLES, '   ')).toHaveLength(300);
  });
});

describe('roleSuggestions', () => {
  it('answers a narrow query with all matching roles, grouped by cloud, within Slack option limits', () => {
    const { option_groups: groups } = roleSuggestions(ROLES, 'db');
    expect(groups.map((group) => group.label.text)).toEqual(['AWS', 'Azure', 'Google Cloud']);
    expect(offered(groups)).toHaveLength(30);
    for (const group of groups) {
      for (const option of group.options) {
        expect(option.text.text.length).toBeLessThanOrEqual(75);
        expect(option.description?.text.length).toBeLessThanOrEqual(75);
      }
    }
  });

  it('caps a wide query at 100 options, the last saying how many more match and to type more', () => {
    const { option_groups: groups } = roleSuggestions(ROLES, '');
    const values = offered(groups);
    expect(values).toHaveLength(100);
    // The first 99 in policy order, shown by cloud; the hint last.
    expect([...values.slice(0, 99)].sort()).toEqual(ROLES.slice(0, 99).map((role) => role.id));
    expect(values[99]).toBe(MORE_ROLES_VALUE);
    const hint = groups.at(-1);
    expect(hint?.label.text).toBe('201 more roles match');
    expect(hint?.options).toEqual([
      { text: { type: 'plain_text', text: '201 more — type more of a name to narrow' }, value: MORE_ROLES_VALUE },
    ]);
    expect(groups.length).toBeLessThanOrEqual(100);
    for (const group of groups) expect(group.label.text.length).toBeLessThanOrEqual(75);
  });

  it('gives exactly 100 matches without a hint', () => {
    const values = offered(roleSuggestions(ROLES.slice(0, 100), '').option_groups);
    expect([...values].sort()).toEqual(ROLES.slice(0, 100).map((role) => role.id));
  });

  it('offers nothing beyond the roles it is given', () => {
    const mine = ROLES.filter((role) => role.provider === 'gcp');
    const { option_groups: groups } = roleSuggestions(mine, 'team');
    expect(groups.map((group) => group.label.text)).toEqual(['Google Cloud']);
    expect(offered(groups)).toEqual(mine.map((role) => role.id));
  });
});

describe('roleOptionGroups', () => {
  it('names a cloud it does not know by its provider name, cut to the label limit', () => {
    const groups = roleOptionGroups([makeRole({ provider: 'x'.repeat(100) })]);
    expect(groups[0]?.label.text).toHaveLength(75);
  });
});

describe('roleIdValueSchema', () => {
  it('accepts role IDs and refuses the hint and anything else a payload could carry', () => {
    expect(roleIdValueSchema.safeParse('team-001-app').success).toBe(true);
    for (const forged of [MORE_ROLES_VALUE, 'Team-001', 'a'.repeat(65), '', 'x y', '<!channel>']) {
      expect(roleIdValueSchema.safeParse(forged).success).toBe(false);
    }
  });
});
