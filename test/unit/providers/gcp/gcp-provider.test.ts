import { parseResourceManagerEndpoint } from '../../../../src/config/resource-manager-endpoint';
import { CloudProviderError } from '../../../../src/domain/errors';
import { createLogger } from '../../../../src/lib/logger';
import { createGcpProvider, GcpProvider, gcpMember } from '../../../../src/providers/gcp/gcp-provider';

describe('parseResourceManagerEndpoint', () => {
  it.each([
    [
      'cloudresourcemanager.googleapis.com',
      { host: 'cloudresourcemanager.googleapis.com', port: 443, protocol: 'https' },
    ],
    ['crm.example.internal:8443', { host: 'crm.example.internal', port: 8443, protocol: 'https' }],
    ['https://crm.example.internal', { host: 'crm.example.internal', port: 443, protocol: 'https' }],
    ['https://crm.example.internal:444/', { host: 'crm.example.internal', port: 444, protocol: 'https' }],
    ['http://127.0.0.1:8085', { host: '127.0.0.1', port: 8085, protocol: 'http' }],
    ['http://localhost', { host: 'localhost', port: 80, protocol: 'http' }],
  ])('reads %s', (value, expected) => {
    expect(parseResourceManagerEndpoint(value)).toEqual(expected);
  });

  it.each([
    'ftp://crm.example.internal',
    'https://crm.example.internal/v3',
    'https://user:secret@crm.example.internal',
    'http://127.0.0.1:8085?x=1',
    'not a host',
  ])('refuses %j and says what is expected', (value) => {
    expect(() => parseResourceManagerEndpoint(value)).toThrow(
      /GCP_RESOURCE_MANAGER_ENDPOINT must be host:port, https:\/\/host:port, or http:\/\/host:port/,
    );
  });

  it('makes createGcpProvider refuse a bad endpoint at start-up, and accept none', () => {
    const logger = createLogger({ level: 'silent' });

    expect(() => createGcpProvider(logger, { GCP_RESOURCE_MANAGER_ENDPOINT: 'https://x/y' })).toThrow(
      /GCP_RESOURCE_MANAGER_ENDPOINT/,
    );
    expect(createGcpProvider(logger, {})).toBeInstanceOf(GcpProvider);
    expect(createGcpProvider(logger, { GCP_RESOURCE_MANAGER_ENDPOINT: ' ' })).toBeInstanceOf(GcpProvider);
  });
});

describe('gcpMember', () => {
  const person = (identities: Record<string, string>, email?: string) => ({
    slackUserId: 'U0ALICE',
    identities,
    ...(email !== undefined && { email }),
  });

  it.each([
    ['user:alice@example.com', 'user:alice@example.com'],
    ['group:oncall@example.com', 'group:oncall@example.com'],
    ['serviceAccount:ops@p.iam.gserviceaccount.com', 'serviceAccount:ops@p.iam.gserviceaccount.com'],
    [
      'principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice',
      'principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice',
    ],
    ['alice@example.com', 'user:alice@example.com'],
  ])('uses principals.<user>.gcp %s as %s, before the email', (gcp, member) => {
    expect(gcpMember(person({ gcp }, 'other@example.com'))).toBe(member);
  });

  it('falls back to the email as a user', () => {
    expect(gcpMember(person({ aws: 'alice' }, 'alice@example.com'))).toBe('user:alice@example.com');
  });

  it('refuses, not retryably, when neither is known, saying what to add to the policy', () => {
    let error: unknown;
    try {
      gcpMember(person({}));
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(CloudProviderError);
    expect((error as CloudProviderError).retryable).toBe(false);
    expect((error as CloudProviderError).message).toBe(
      'No Google identity is known for <@U0ALICE>: add gcp: "user:<email>" under principals.U0ALICE in the policy file.',
    );
  });

  it('refuses a principal type it does not grant to', () => {
    expect(() => gcpMember(person({ gcp: 'domain:example.com' }))).toThrow(
      /write it as user:<email>, group:<email> or serviceAccount:<email>/,
    );
  });
});
