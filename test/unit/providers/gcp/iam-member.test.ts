import { memberKey, sameMember } from '../../../../src/providers/gcp/iam-member';

describe('sameMember', () => {
  it.each([
    ['user:jane.doe@example.com', 'user:Jane.Doe@example.com'],
    ['user:JANE.DOE@EXAMPLE.COM', 'user:Jane.Doe@example.com'],
    ['group:platform-oncall@example.com', 'group:Platform-Oncall@example.com'],
    ['serviceAccount:CI@p.iam.gserviceaccount.com', 'serviceAccount:ci@p.iam.gserviceaccount.com'],
    ['domain:Example.com', 'domain:example.com'],
    ['user:alice@example.com', 'user:alice@example.com'],
  ])('takes %s and %s for one principal: Google keeps an account in its own case', (a, b) => {
    expect(sameMember(a, b)).toBe(true);
    expect(sameMember(b, a)).toBe(true);
  });

  it.each([
    ['another address', 'user:jane.doe@example.com', 'user:jane.roe@example.com'],
    ['another kind of principal', 'user:oncall@example.com', 'group:oncall@example.com'],
    ['a prefix in another case', 'User:jane.doe@example.com', 'user:jane.doe@example.com'],
    [
      'a deleted account of the same address',
      'deleted:user:Jane.Doe@example.com?uid=123456789012345678901',
      'user:Jane.Doe@example.com',
    ],
    [
      'a deleted account spelled in lowercase',
      'deleted:user:jane.doe@example.com?uid=123456789012345678901',
      'user:jane.doe@example.com',
    ],
    [
      'a workforce subject in another case',
      'principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/Alice',
      'principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice',
    ],
    [
      'a Kubernetes service account in another case',
      'serviceAccount:p.svc.id.goog[Team/App]',
      'serviceAccount:p.svc.id.goog[team/app]',
    ],
  ])('keeps apart %s', (_what, a, b) => {
    expect(sameMember(a, b)).toBe(false);
  });
});

describe('memberKey', () => {
  it('lowercases only the address of an address-named member, keeping the kind as written', () => {
    expect(memberKey('user:Jane.Doe@example.com')).toBe('user:jane.doe@example.com');
    expect(memberKey('serviceAccount:CI@p.iam.gserviceaccount.com')).toBe(
      'serviceAccount:ci@p.iam.gserviceaccount.com',
    );
    expect(memberKey('deleted:user:Jane.Doe@example.com?uid=1')).toBe('deleted:user:Jane.Doe@example.com?uid=1');
    expect(memberKey('allUsers')).toBe('allUsers');
  });
});
