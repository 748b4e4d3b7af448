import {
  canonicalScope,
  requestMismatch,
  requestProgress,
  sameScheduleTime,
  sameScope,
  scheduleName,
  splitRequestId,
} from '../../../../src/providers/azure/pim-request';

const SUBSCRIPTION = '/subscriptions/dfa2a084-766f-4003-8ae1-c4aeb893a99f';
const PREFIXED = `/providers/Microsoft.Subscription${SUBSCRIPTION}`;
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const ALICE = 'a3bb8764-cb92-4276-9d2a-ca1e895e55ea';

describe('requestProgress', () => {
  // Every value of the RequestStatus enum in RoleAssignmentScheduleRequest.json (2020-10-01).
  it.each([
    ['Provisioned', 'done'],
    ['Revoked', 'done'],
    ['PendingApproval', 'needs-approval'],
    ['PendingApprovalProvisioning', 'needs-approval'],
    ['PendingAdminDecision', 'needs-approval'],
    ['Denied', 'failed'],
    ['Failed', 'failed'],
    ['FailedAsResourceIsLocked', 'failed'],
    ['AdminDenied', 'failed'],
    ['TimedOut', 'failed'],
    ['Invalid', 'failed'],
    ['Canceled', 'failed'],
    ['Accepted', 'pending'],
    ['PendingEvaluation', 'pending'],
    ['Granted', 'pending'],
    ['PendingProvisioning', 'pending'],
    ['PendingRevocation', 'pending'],
    ['AdminApproved', 'pending'],
    ['ProvisioningStarted', 'pending'],
    ['PendingScheduleCreation', 'pending'],
    ['ScheduleCreated', 'pending'],
    ['PendingExternalProvisioning', 'pending'],
  ])('%s is %s', (status, progress) => {
    expect(requestProgress(status)).toBe(progress);
    expect(requestProgress(status.toUpperCase())).toBe(progress);
  });

  it('takes a status it does not know, or none, as still pending', () => {
    expect(requestProgress('SomethingNew')).toBe('pending');
    expect(requestProgress(undefined)).toBe('pending');
  });
});

describe('scopes', () => {
  it('reads /providers/Microsoft.Subscription/subscriptions/<id> as /subscriptions/<id>, below it too', () => {
    expect(canonicalScope(PREFIXED)).toBe(SUBSCRIPTION);
    expect(canonicalScope(`${PREFIXED}/resourceGroups/App-Prod/`)).toBe(`${SUBSCRIPTION}/resourceGroups/App-Prod`);
    expect(canonicalScope('/providers/Microsoft.Management/managementGroups/platform')).toBe(
      '/providers/Microsoft.Management/managementGroups/platform',
    );
  });

  it('compares scopes whatever their form and case, and never equal to undefined', () => {
    expect(sameScope(PREFIXED.toLowerCase(), SUBSCRIPTION)).toBe(true);
    expect(sameScope(`${SUBSCRIPTION}/resourceGroups/a`, SUBSCRIPTION)).toBe(false);
    expect(sameScope(undefined, SUBSCRIPTION)).toBe(false);
  });

  it('splits a prefixed request ID into its canonical scope and name', () => {
    expect(
      splitRequestId(
        `${PREFIXED}/providers/Microsoft.Authorization/RoleAssignmentScheduleRequests/fea7a502-9a96-4806-a26f-eee560e52045`,
      ),
    ).toEqual({ scope: SUBSCRIPTION, name: 'fea7a502-9a96-4806-a26f-eee560e52045' });
    expect(splitRequestId(`${SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments/x`)).toBeUndefined();
  });

  it('names a schedule by its bare GUID, as targetRoleAssignmentScheduleId carries it', () => {
    const id = `${PREFIXED}/providers/Microsoft.Authorization/RoleAssignmentSchedules/c9e264ff-3133-4776-a81a-ebc7c33c8ec6`;
    expect(scheduleName({ id })).toBe('c9e264ff-3133-4776-a81a-ebc7c33c8ec6');
    expect(scheduleName({ id, name: 'c9e264ff-3133-4776-a81a-ebc7c33c8ec6' })).toBe(
      'c9e264ff-3133-4776-a81a-ebc7c33c8ec6',
    );
  });
});

describe('sameScheduleTime', () => {
  const at = Date.parse('2020-09-10T05:35:27.910Z');
  it('takes times under a minute apart as the same, as PIM moves them by seconds', () => {
    expect(sameScheduleTime(at - 10_000, at)).toBe(true);
    expect(sameScheduleTime(at + 59_999, at)).toBe(true);
    expect(sameScheduleTime(at + 60_000, at)).toBe(false);
    expect(sameScheduleTime(undefined, at)).toBe(false);
  });
});

describe('requestMismatch', () => {
  const ends = Date.parse('2026-01-01T10:00:00.000Z');
  const expected = {
    requestType: 'AdminExtend',
    principalId: ALICE,
    roleGuid: READER,
    scope: SUBSCRIPTION,
    endsAt: ends,
  };
  const held = {
    requestType: 'AdminExtend',
    principalId: ALICE.toUpperCase(),
    roleDefinitionId: `${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${READER.toUpperCase()}`,
    scope: PREFIXED,
    scheduleInfo: { expiration: { endDateTime: new Date(ends - 10_000) } },
  };

  it('finds none for the same request, whatever the case, scope form or a few seconds of end', () => {
    expect(requestMismatch(held, expected)).toBeUndefined();
  });

  it.each([
    ['type', { requestType: 'AdminUpdate' }, 'it is AdminUpdate, not AdminExtend'],
    ['principal', { principalId: '0c589a97-daac-42a8-8ba8-ec2756c48747' }, 'for principal 0c589a97'],
    [
      'role',
      { roleDefinitionId: `${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/b24988ac` },
      'role b24988ac',
    ],
    ['scope', { scope: `${SUBSCRIPTION}/resourceGroups/other` }, 'at /subscriptions/'],
    [
      'end',
      { scheduleInfo: { expiration: { endDateTime: new Date(ends + 3_600_000) } } },
      'it ends 2026-01-01T11:00:00.000Z',
    ],
    ['missing end', { scheduleInfo: {} }, 'it ends never'],
  ])('names a different %s', (_what, change, reason) => {
    expect(requestMismatch({ ...held, ...change }, expected)).toContain(reason);
  });

  it('ignores the end for a removal, which has none', () => {
    const { endsAt: _ignored, ...removal } = { ...expected, requestType: 'AdminRemove' };
    expect(requestMismatch({ ...held, requestType: 'AdminRemove', scheduleInfo: {} }, removal)).toBeUndefined();
  });
});
