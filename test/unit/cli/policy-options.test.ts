import { CliError } from '../../../src/cli/cli-error';
import { parseCheckArgs, parseExplainArgs } from '../../../src/cli/policy-options';

function usageError(parse: () => unknown): CliError {
  try {
    parse();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('parseCheckArgs', () => {
  it('takes an optional policy file, leaving the default to the caller', () => {
    expect(parseCheckArgs([])).toEqual({});
    expect(parseCheckArgs(['policies/prod.yml'])).toEqual({ policyFile: 'policies/prod.yml' });
    expect(parseCheckArgs(['-h'])).toBe('help');
  });

  it.each([
    [['a.yml', 'b.yml'], 'takes one policy file, got 2: a.yml b.yml.'],
    [['--strict'], "Unknown option '--strict'"],
  ])('refuses %j', (args, message) => {
    const error = usageError(() => parseCheckArgs(args));
    expect(error.exitStatus).toBe(64);
    expect(error.message).toContain(message);
    expect(error.message).toContain('Run jit-access-bot check --help for the options.');
  });
});

describe('parseExplainArgs', () => {
  it('takes a user, a role and the options in any order', () => {
    expect(parseExplainArgs(['U0ALICE'])).toEqual({ userId: 'U0ALICE', json: false });
    expect(
      parseExplainArgs(['--json', 'W0BOB', '--member-of', ' S0DEVS, S0OPS ,', 'sandbox', '--policy=p.yml']),
    ).toEqual({ userId: 'W0BOB', roleId: 'sandbox', policyFile: 'p.yml', memberOf: ['S0DEVS', 'S0OPS'], json: true });
  });

  it('reads an empty --member-of as "in no group", not as unstated', () => {
    expect(parseExplainArgs(['U0ALICE', '--member-of', ''])).toEqual({ userId: 'U0ALICE', memberOf: [], json: false });
  });

  it.each([
    [[], 'needs a Slack user ID, e.g. jit-access-bot explain U0123ABCD.'],
    [['alice'], '"alice" is not a Slack user ID: use one such as U0123ABCD'],
    [['U0ALICE', 'a', 'b'], 'takes a user and at most one role; remove b.'],
    [['U0ALICE', '--member-of', 'S0OK,devs,U0X'], '"devs", "U0X" are not.'],
    [['U0ALICE', '--policy', ''], '--policy needs a file'],
    [['U0ALICE', '--policy'], "Option '--policy <value>' argument missing"],
  ])('refuses %j', (args, message) => {
    const error = usageError(() => parseExplainArgs(args));
    expect(error.exitStatus).toBe(64);
    expect(error.message).toContain(message);
    expect(error.message).toContain('Run jit-access-bot explain --help for the options.');
  });
});
