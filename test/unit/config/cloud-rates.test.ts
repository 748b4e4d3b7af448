import { DEFAULT_CLOUD_RATES } from '../../../src/config/cloud-rates';
import { ConfigError } from '../../../src/config/config-error';
import { policyChanges } from '../../../src/config/policy-changes';
import { parsePolicy } from '../../../src/config/policy-schema';
import type { Policy } from '../../../src/domain/policy';
import { PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';

const SOURCE = 'policy.yml';
const ROLES = ['roles:', '  - {id: sandbox-admin, description: Sandbox, provider: dryrun, autoApprove: true}'];

const parse = (...settings: string[]): Policy =>
  parsePolicy([...settings, ...ROLES].join('\n'), SOURCE, PROVIDER_TARGET_SCHEMAS, {}, PROVIDER_PROPAGATION_MS);

/** The problems a policy is refused with; fails the test when it is accepted. */
function problemsOf(...settings: string[]): readonly string[] {
  try {
    parse(...settings);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the policy to be refused');
}

describe('settings.cloudRates', () => {
  it('gives every cloud API its documented default when the policy names none', () => {
    expect(parse().settings.cloudRates).toEqual({
      'aws-iam': { perSecond: 10, burst: 10 },
      'aws-identity-center': { perSecond: 10, burst: 10 },
      'azure-arm': { perSecond: 10, burst: 200 },
      'gcp-resource-manager': { perSecond: 10, burst: 10 },
    });
    expect(parse().settings.cloudRates).toEqual(DEFAULT_CLOUD_RATES);
  });

  it('takes what the policy sets, keeping the default for what it leaves out', () => {
    const rates = parse(
      'settings:',
      '  cloudRates:',
      '    azure-arm: {perSecond: 20, burst: 20}',
      '    aws-iam: {perSecond: 0.5}',
    ).settings.cloudRates;
    expect(rates['azure-arm']).toEqual({ perSecond: 20, burst: 20 });
    expect(rates['aws-iam']).toEqual({ perSecond: 0.5, burst: 10 });
    expect(rates['gcp-resource-manager']).toEqual(DEFAULT_CLOUD_RATES['gcp-resource-manager']);
  });

  it('refuses an API the bot does not pace, naming the ones it does', () => {
    expect(problemsOf('settings: {cloudRates: {azure: {perSecond: 5}}}')).toEqual([
      'settings.cloudRates.azure: "azure" is not a cloud API the bot paces; use one of aws-iam, aws-identity-center, azure-arm, gcp-resource-manager',
    ]);
  });

  it('refuses a rate that is not positive, a burst below 1 or not whole, and keys it does not know', () => {
    expect(
      problemsOf(
        'settings:',
        '  cloudRates:',
        '    aws-iam: {perSecond: 0}',
        '    azure-arm: {burst: 0}',
        '    gcp-resource-manager: {burst: 2.5}',
        '    aws-identity-center: {perSecond: 5, bucket: 10}',
      ),
    ).toEqual([
      'settings.cloudRates.aws-iam.perSecond: must be a positive number of calls per second, such as 10 or 0.5',
      'settings.cloudRates.azure-arm.burst: must be at least 1 (calls that may go at once)',
      'settings.cloudRates.gcp-resource-manager.burst: must be a whole number of calls, at least 1',
      expect.stringMatching(/^settings\.cloudRates\.aws-identity-center: Unrecognized key.*bucket/),
    ]);
  });

  it('refuses a rate written as text', () => {
    expect(problemsOf('settings: {cloudRates: {aws-iam: {perSecond: "fast"}}}')).toEqual([
      'settings.cloudRates.aws-iam.perSecond: must be a number of calls per second, such as 10 or 0.5',
    ]);
  });

  it('is a setting a reload changes like any other (the providers read it at each call)', () => {
    const before = parse();
    const after = parse('settings: {cloudRates: {azure-arm: {perSecond: 20, burst: 20}}}');
    expect(policyChanges(before, after).settingsChanged).toEqual(['cloudRates']);
  });
});
