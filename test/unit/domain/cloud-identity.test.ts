import { emailForGrant } from '../../../src/domain/cloud-identity';
import { GrantRefused } from '../../../src/domain/grant-refusal';
import type { ProfileEmail } from '../../../src/domain/ports';

const gcp = { name: 'gcp', identifiesPeopleByEmail: true };

/** A Slack directory holding one profile email, counting how often it was asked. */
function directory(profile: ProfileEmail | undefined) {
  const asked: string[] = [];
  return {
    asked,
    userEmail: async (userId: string) => {
      asked.push(userId);
      return profile;
    },
  };
}

const confirmed = { address: 'alice@example.com', confirmed: true };
const unconfirmed = { address: 'alice@example.com', confirmed: false };

describe('emailForGrant', () => {
  it('uses the email from the principals map before anything Slack says', async () => {
    const slack = directory(unconfirmed);
    await expect(
      emailForGrant('U1', { email: 'a@corp.example.com' }, gcp, { identity: 'principals' }, slack),
    ).resolves.toBe('a@corp.example.com');
    expect(slack.asked).toEqual([]);
  });

  it('asks Slack nothing for a provider that does not name people by email', async () => {
    const slack = directory(confirmed);
    const dryrun = { name: 'dryrun', identifiesPeopleByEmail: false };
    await expect(emailForGrant('U1', {}, dryrun, { identity: 'email' }, slack)).resolves.toBeUndefined();
    expect(slack.asked).toEqual([]);
  });

  it('uses a Slack email only once Slack confirmed it', async () => {
    await expect(emailForGrant('U1', {}, gcp, { identity: 'email' }, directory(confirmed))).resolves.toBe(
      'alice@example.com',
    );
    const refusal = emailForGrant('U1', {}, gcp, { identity: 'email' }, directory(unconfirmed));
    await expect(refusal).rejects.toBeInstanceOf(GrantRefused);
    await expect(refusal).rejects.toMatchObject({
      retryable: false,
      refusal: { code: 'email_unconfirmed', details: { userId: 'U1', provider: 'gcp', address: 'alice@example.com' } },
    });
    // The plain-text reason kept for the audit trail names the fix, with plain IDs.
    await expect(refusal).rejects.toThrow(/has not confirmed the email .*alice@example\.com.*principals\.U1/);
  });

  it('leaves an unconfirmed email out without refusing when the person is mapped for that cloud', async () => {
    await expect(
      emailForGrant('U1', { gcp: 'user:alice@corp.example.com' }, gcp, { identity: 'email' }, directory(unconfirmed)),
    ).resolves.toBeUndefined();
  });

  it('with identity: principals, never asks Slack and refuses a person the map does not name', async () => {
    const slack = directory(confirmed);
    await expect(emailForGrant('U1', {}, gcp, { identity: 'principals' }, slack)).rejects.toMatchObject({
      retryable: false,
      refusal: { code: 'principals_required', details: { userId: 'U1', provider: 'gcp' } },
      message: expect.stringMatching(/settings\.identity: principals.*principals\.U1/),
    });
    await expect(
      emailForGrant('U1', { gcp: 'user:a@corp.example.com' }, gcp, { identity: 'principals' }, slack),
    ).resolves.toBeUndefined();
    expect(slack.asked).toEqual([]);
  });

  it('has no email to give when Slack has none, leaving the refusal to the provider', async () => {
    await expect(emailForGrant('U1', {}, gcp, { identity: 'email' }, directory(undefined))).resolves.toBeUndefined();
  });
});
