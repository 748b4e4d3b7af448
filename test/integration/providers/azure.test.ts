import { AuthorizationManagementClient, type RoleAssignmentSchedule } from '@azure/arm-authorization';
import { RestError } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { CloudProviderError } from '../../../src/domain/errors';
import type { GrantSpec } from '../../../src/domain/ports';
import { createLogger } from '../../../src/lib/logger';
import { assignmentName, uuidV5 } from '../../../src/providers/azure/assignment-name';
import { type AzureProviderOptions, createAzureProvider } from '../../../src/providers/azure/azure-provider';
import { azureTargetSchema, roleDefinitionResourceId } from '../../../src/providers/azure/azure-target';
import { CONTRIBUTOR_ROLE, FakeAzure, loggedAzureProvider, READER_ROLE } from '../../support/fake-azure-arm';

const SUBSCRIPTION = '2ea60f7e-ff84-4ddb-a6e6-b0e064c7b8fe';
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/app-prod`;
const READER_ID = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`;
const ALICE = 'a3bb8764-cb92-4276-9d2a-ca1e895e55ea';
const BOB = '0c589a97-daac-42a8-8ba8-ec2756c48747';
const REQUEST_ID = 'k7m2xq9d';
const HOUR = 3_600_000;

let fake: FakeAzure;

beforeAll(async () => {
  fake = await FakeAzure.start();
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  fake.addUser({ id: ALICE, mail: 'alice@example.com', userPrincipalName: 'alice@contoso.onmicrosoft.com' });
  fake.addUser({ id: BOB, mail: 'bob@example.com' });
});

function makeProvider(overrides: Partial<AzureProviderOptions> = {}) {
  return loggedAzureProvider(fake, overrides);
}

function spec(target: Record<string, unknown>, overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: REQUEST_ID,
    roleId: 'prod-reader',
    target,
    principal: { slackUserId: 'U0ALICE', identities: { azure: ALICE } },
    expiresAt: fake.clock.now() + HOUR,
    ...overrides,
  };
}

const roleAssignmentTarget = { kind: 'role-assignment', scope: SCOPE, roleDefinitionId: READER_ROLE };
const pimTarget = { kind: 'pim', scope: SCOPE, roleDefinitionId: READER_ROLE };

async function failure(promise: Promise<unknown>): Promise<CloudProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CloudProviderError);
    return error as CloudProviderError;
  }
  throw new Error('expected the call to fail');
}

describe('azureTargetSchema', () => {
  it.each([
    { kind: 'role-assignment', scope: `/subscriptions/${SUBSCRIPTION}`, roleDefinitionId: READER_ROLE },
    { kind: 'role-assignment', scope: SCOPE, roleDefinitionId: READER_ID },
    {
      kind: 'role-assignment',
      scope: `${SCOPE}/providers/Microsoft.Storage/storageAccounts/prodlogs/blobServices/default`,
      roleDefinitionId: READER_ROLE,
    },
    { kind: 'pim', scope: '/providers/Microsoft.Management/managementGroups/platform', roleDefinitionId: READER_ROLE },
    { kind: 'pim', scope: SCOPE, roleDefinitionId: READER_ROLE, justificationPrefix: 'CHG-1234' },
  ])('accepts %j', (target) => {
    expect(azureTargetSchema.safeParse(target).success).toBe(true);
  });

  it.each([
    [
      'a scope without /subscriptions',
      { ...roleAssignmentTarget, scope: 'app-prod' },
      '/subscriptions/<subscription GUID>',
    ],
    [
      'a subscription that is not a GUID',
      { ...roleAssignmentTarget, scope: '/subscriptions/prod' },
      'e.g. /subscriptions/',
    ],
    ['a trailing slash', { ...roleAssignmentTarget, scope: `${SCOPE}/` }, 'must be an Azure scope'],
    ['a role that is not a GUID', { ...roleAssignmentTarget, roleDefinitionId: 'Reader' }, 'role definition GUID'],
    [
      'a truncated GUID',
      { ...pimTarget, roleDefinitionId: READER_ROLE.slice(0, 30) },
      'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    ],
    [
      'an unknown kind',
      { ...roleAssignmentTarget, kind: 'eligible' },
      'must be role-assignment (an RBAC role assignment) or pim',
    ],
    [
      'a missing kind',
      { scope: SCOPE, roleDefinitionId: READER_ROLE },
      'must be role-assignment (an RBAC role assignment) or pim',
    ],
    ['an unknown key', { ...roleAssignmentTarget, justificationPrefix: 'x' }, 'justificationPrefix'],
  ])('rejects %s', (_what, target, expected) => {
    const result = azureTargetSchema.safeParse(target);
    expect(result.success).toBe(false);
    const text = result.error?.issues
      .map((issue) => `${issue.path.join('.')} ${issue.message} ${JSON.stringify(issue)}`)
      .join('\n');
    expect(text).toContain(expected);
  });

  it('places a bare role GUID under the subscription, or under the management group', () => {
    expect(roleDefinitionResourceId({ scope: SCOPE, roleDefinitionId: READER_ROLE })).toBe(READER_ID);
    const group = '/providers/Microsoft.Management/managementGroups/platform';
    expect(roleDefinitionResourceId({ scope: group, roleDefinitionId: READER_ROLE })).toBe(
      `${group}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`,
    );
    expect(roleDefinitionResourceId({ scope: SCOPE, roleDefinitionId: READER_ID })).toBe(READER_ID);
  });

  it('derives the same version-5 GUID from the same request, and different ones otherwise', () => {
    const name = assignmentName(REQUEST_ID);
    expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(assignmentName(REQUEST_ID)).toBe(name);
    expect(assignmentName('p3rzq8wn')).not.toBe(name);
    expect(assignmentName(REQUEST_ID, 'pim/AdminRemove')).not.toBe(name);
    // RFC 9562's own example: www.example.com in the DNS namespace.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

describe('AzureProvider, kind: role-assignment', () => {
  it('assigns exactly the role, to the person, at the scope, naming the request and expiry', async () => {
    const { provider } = makeProvider();
    const grant = spec(roleAssignmentTarget);

    const outcome = await provider.grant(grant);

    expect(fake.roleAssignments()).toEqual([
      {
        id: `${SCOPE}/providers/Microsoft.Authorization/roleAssignments/${assignmentName(REQUEST_ID)}`,
        name: assignmentName(REQUEST_ID),
        scope: SCOPE,
        roleDefinitionId: READER_ID,
        principalId: ALICE,
        principalType: 'User',
        description: `jit ${REQUEST_ID} until ${new Date(grant.expiresAt).toISOString()}`,
      },
    ]);
    expect(outcome.memo).toMatchObject({ principalId: ALICE, kind: 'role-assignment' });
    expect(outcome.memo?.alreadyHeld).toBeUndefined();
    expect(outcome.instructions).toContain(SCOPE);
    expect(await provider.verify({ ...grant, ...(outcome.memo && { memo: outcome.memo }) })).toBe(true);
    expect(await provider.heldBefore({ ...grant, ...(outcome.memo && { memo: outcome.memo }) })).toBe(false);
  });

  it('granting again keeps one assignment and replaces the expiry in its description', async () => {
    const { provider } = makeProvider();
    const first = spec(roleAssignmentTarget);
    await provider.grant(first);
    const later = { ...first, expiresAt: first.expiresAt + HOUR };

    const outcome = await provider.grant(later);

    const assignments = fake.roleAssignments();
    expect(assignments).toHaveLength(1);
    expect(assignments[0]?.description).toBe(`jit ${REQUEST_ID} until ${new Date(later.expiresAt).toISOString()}`);
    const memo = outcome.memo ?? {};
    expect(await provider.verify({ ...later, memo })).toBe(true);
    expect(await provider.verify({ ...first, memo })).toBe(false);
  });

  it('revoke removes only its own assignment; revoking again, or what was never granted, succeeds', async () => {
    const { provider } = makeProvider();
    fake.seedRoleAssignment({
      scope: SCOPE,
      roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR_ROLE}`,
      principalId: ALICE,
      description: 'standing',
    });
    fake.seedRoleAssignment({
      scope: `/subscriptions/${SUBSCRIPTION}`,
      roleDefinitionId: READER_ID,
      principalId: ALICE,
    });
    const grant = spec(roleAssignmentTarget);
    const { memo } = await provider.grant(grant);
    expect(fake.roleAssignments()).toHaveLength(3);

    await provider.revoke({ ...grant, ...(memo && { memo }) });
    await provider.revoke({ ...grant, ...(memo && { memo }) });
    await provider.revoke(spec(roleAssignmentTarget, { requestId: 'p3rzq8wn' }));

    const left = fake.roleAssignments();
    expect(left).toHaveLength(2);
    expect(left.map((assignment) => assignment.name)).not.toContain(assignmentName(REQUEST_ID));
    expect(left.find((assignment) => assignment.description === 'standing')).toBeDefined();
    expect(await provider.verify({ ...grant, ...(memo && { memo }) })).toBe(false);
  });

  it('treats RoleAssignmentExists as "already held, not ours" and never removes that assignment', async () => {
    const { provider } = makeProvider();
    fake.seedRoleAssignment({ scope: SCOPE, roleDefinitionId: READER_ID, principalId: ALICE, description: 'standing' });
    const grant = spec(roleAssignmentTarget);

    const outcome = await provider.grant(grant);

    expect(outcome.memo).toMatchObject({ principalId: ALICE, alreadyHeld: 'true' });
    expect(outcome.instructions).toContain('already hold');
    expect(fake.roleAssignments()).toHaveLength(1);
    const memo = outcome.memo ?? {};
    expect(await provider.verify({ ...grant, memo })).toBe(true);
    expect(await provider.heldBefore({ ...grant, memo })).toBe(true);
    await provider.revoke({ ...grant, memo });
    await provider.revoke(grant); // the cleanup path, without a memo
    expect(fake.roleAssignments()).toEqual([expect.objectContaining({ description: 'standing', principalId: ALICE })]);
  });

  it('works at a management group scope', async () => {
    const { provider } = makeProvider();
    const group = '/providers/Microsoft.Management/managementGroups/platform';
    await provider.grant(spec({ ...roleAssignmentTarget, scope: group }));
    expect(fake.roleAssignments()).toEqual([
      expect.objectContaining({
        scope: group,
        roleDefinitionId: `${group}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`,
      }),
    ]);
  });

  it('retries throttling, holding every call off as long as Retry-After asks, and 5xx', async () => {
    const { provider, logs } = makeProvider();
    fake.failNext(1, { status: 429, code: 'TooManyRequests', retryAfterSeconds: 1 });
    fake.failNext(1, { status: 503, code: 'ServiceUnavailable' });

    await provider.grant(spec(roleAssignmentTarget));

    expect(fake.roleAssignments()).toHaveLength(1);
    expect(fake.requests.filter((request) => request.method === 'PUT')).toHaveLength(3);
    expect(logs()).toContainEqual(expect.objectContaining({ retryAfterMs: 1000, holdMs: 1000 }));
  });

  it('gives up on persistent 5xx after its few attempts with a retryable error', async () => {
    const { provider } = makeProvider();
    fake.failNext(10, { status: 500, code: 'InternalServerError' });

    const error = await failure(provider.grant(spec(roleAssignmentTarget)));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('HTTP 500');
    // 4 attempts in all: the SDK's own retries are off, so they do not multiply ours.
    expect(fake.requests).toHaveLength(4);
    expect(fake.roleAssignments()).toHaveLength(0);
  });

  it('fails without retry, naming the permission, when the bot may not write role assignments', async () => {
    const { provider } = makeProvider();
    fake.denied.add('Microsoft.Authorization/roleAssignments/write');

    const error = await failure(provider.grant(spec(roleAssignmentTarget)));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Microsoft.Authorization/roleAssignments/write');
    expect(fake.requests).toHaveLength(1);
    expect(fake.roleAssignments()).toHaveLength(0);
  });

  it('fails without retry when revoking is denied, naming the delete permission', async () => {
    const { provider } = makeProvider();
    fake.denied.add('Microsoft.Authorization/roleAssignments/delete');
    const error = await failure(provider.revoke(spec(roleAssignmentTarget)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Microsoft.Authorization/roleAssignments/delete');
  });

  it.each([
    [
      'an unknown principal',
      { principal: { slackUserId: 'U0X', identities: { azure: '9f1d2c3b-0000-4000-8000-000000000001' } } },
      {},
      'principals',
    ],
    ['an unknown role', {}, { roleDefinitionId: '9f1d2c3b-0000-4000-8000-000000000002' }, 'roleDefinitionId'],
    [
      'a principal mapped to something other than an object ID',
      { principal: { slackUserId: 'U0X', identities: { azure: 'alice@example.com' } } },
      {},
      'not an Entra object ID',
    ],
  ])('fails without retry for %s, saying what to fix', async (_what, specOverrides, targetOverrides, expected) => {
    const { provider } = makeProvider();
    const error = await failure(
      provider.grant(spec({ ...roleAssignmentTarget, ...targetOverrides }, specOverrides as Partial<GrantSpec>)),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(expected);
    expect(fake.roleAssignments()).toHaveLength(0);
  });

  it("fails without retry when the subscription reaches Azure's role assignment limit", async () => {
    const { provider } = makeProvider();
    fake.roleAssignmentRoom = 0;
    const error = await failure(provider.grant(spec(roleAssignmentTarget)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('4,000');
  });

  it("fails without retry when Entra ID refuses the bot's own credential", async () => {
    const { provider } = makeProvider({ credential: fake.credential('wrong-secret') });
    const error = await failure(provider.grant(spec(roleAssignmentTarget)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("refused the bot's own Azure credential");
    expect(fake.roleAssignments()).toHaveLength(0);
  });
});

describe('AzureProvider, finding people', () => {
  it('looks the person up by email in Microsoft Graph when the policy does not map them', async () => {
    const { provider } = makeProvider();
    const outcome = await provider.grant(
      spec(roleAssignmentTarget, { principal: { slackUserId: 'U0BOB', identities: {}, email: 'bob@example.com' } }),
    );
    expect(outcome.memo?.principalId).toBe(BOB);
    expect(fake.roleAssignments()).toEqual([expect.objectContaining({ principalId: BOB })]);
    expect(fake.requests[0]?.path).toBe('/graph/v1.0/users');
  });

  it('finds a person by user principal name too', async () => {
    const { provider } = makeProvider();
    const outcome = await provider.grant(
      spec(roleAssignmentTarget, {
        principal: { slackUserId: 'U0ALICE', identities: {}, email: 'alice@contoso.onmicrosoft.com' },
      }),
    );
    expect(outcome.memo?.principalId).toBe(ALICE);
  });

  it('asks for azure: <object id> under principals when Graph has nobody with that email', async () => {
    const { provider } = makeProvider();
    const error = await failure(
      provider.grant(
        spec(roleAssignmentTarget, {
          principal: { slackUserId: 'U0CAROL', identities: {}, email: "carol.o'hara@example.com" },
        }),
      ),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("carol.o'hara@example.com");
    expect(error.message).toContain('azure: <their Entra object ID> under principals.U0CAROL');
    expect(fake.roleAssignments()).toHaveLength(0);
  });

  it('names the Graph permission when the lookup is denied', async () => {
    const { provider } = makeProvider();
    fake.denied.add('graph');
    const error = await failure(
      provider.grant(
        spec(roleAssignmentTarget, { principal: { slackUserId: 'U0BOB', identities: {}, email: 'bob@example.com' } }),
      ),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('User.ReadBasic.All');
    expect(error.message).toContain('admin consent');
  });

  it('asks for tokens scoped to the configured ARM and Graph endpoints', async () => {
    const real = fake.credential();
    const scopes: string[] = [];
    const recording: TokenCredential = {
      getToken: (requested, options) => {
        scopes.push(...(Array.isArray(requested) ? requested : [requested]));
        return real.getToken(requested, options);
      },
    };
    const { provider } = makeProvider({ credential: recording });
    await provider.grant(
      spec(roleAssignmentTarget, { principal: { slackUserId: 'U0BOB', identities: {}, email: 'bob@example.com' } }),
    );
    expect(new Set(scopes)).toEqual(new Set([`${fake.url}/.default`, `${fake.graphUrl}/.default`]));
  });
});

describe('AzureProvider, kind: pim', () => {
  it('requests an active assignment that Azure itself ends at the expiry', async () => {
    const { provider } = makeProvider();
    const grant = spec({ ...pimTarget, justificationPrefix: 'CHG-1234' });

    const outcome = await provider.grant(grant);

    const expiry = new Date(grant.expiresAt).toISOString();
    expect(fake.liveSchedules()).toEqual([
      expect.objectContaining({ scope: SCOPE, principalId: ALICE, roleDefinitionId: READER_ID, endDateTime: expiry }),
    ]);
    expect(fake.scheduleRequestsMade()).toEqual([
      expect.objectContaining({
        name: assignmentName(REQUEST_ID, `pim/AdminAssign/${expiry}`),
        requestType: 'AdminAssign',
        justification: `CHG-1234 jit ${REQUEST_ID} until ${expiry}`,
      }),
    ]);
    expect(outcome.memo).toMatchObject({ principalId: ALICE, kind: 'pim' });
    expect(outcome.instructions).toContain('Azure itself ends it');
    expect(await provider.verify({ ...grant, ...(outcome.memo && { memo: outcome.memo }) })).toBe(true);

    fake.advance(HOUR + 1);
    expect(fake.liveSchedules()).toHaveLength(0);
  });

  it('granting again keeps one schedule: the same expiry changes nothing, a later one extends, an earlier one updates', async () => {
    const { provider } = makeProvider();
    const first = spec(pimTarget);
    await provider.grant(first);
    await provider.grant(first);
    expect(fake.scheduleRequestsMade()).toHaveLength(1);

    const later = { ...first, expiresAt: first.expiresAt + HOUR };
    await provider.grant(later);
    expect(fake.liveSchedules()).toEqual([
      expect.objectContaining({ endDateTime: new Date(later.expiresAt).toISOString() }),
    ]);

    const earlier = { ...first, expiresAt: first.expiresAt - HOUR / 2 };
    const outcome = await provider.grant(earlier);
    expect(fake.liveSchedules()).toEqual([
      expect.objectContaining({ endDateTime: new Date(earlier.expiresAt).toISOString() }),
    ]);
    expect(fake.scheduleRequestsMade().map((request) => request.requestType)).toEqual([
      'AdminAssign',
      'AdminExtend',
      'AdminUpdate',
    ]);
    const memo = outcome.memo ?? {};
    expect(await provider.verify({ ...earlier, memo })).toBe(true);
    expect(await provider.verify({ ...later, memo })).toBe(false);
  });

  it('an early revoke within 5 minutes is refused as retryable, then succeeds once Azure allows it', async () => {
    const { provider } = makeProvider();
    const standing = fake.seedStandingSchedule({
      scope: SCOPE,
      roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR_ROLE}`,
      principalId: ALICE,
    });
    const grant = spec(pimTarget);
    const { memo } = await provider.grant(grant);
    const withMemo = { ...grant, ...(memo && { memo }) };

    const refused = await failure(provider.revoke(withMemo));
    expect(refused.retryable).toBe(true);
    expect(refused.message).toContain('5 minutes');
    expect(refused.message).toContain('keeps trying');
    expect(fake.liveSchedules()).toHaveLength(2);

    fake.advance(5 * 60_000);
    await provider.revoke(withMemo);
    await provider.revoke(withMemo);

    expect(fake.liveSchedules()).toEqual([expect.objectContaining({ id: standing.id })]);
    expect(fake.scheduleRequestsMade().filter((request) => request.requestType === 'AdminRemove')).toHaveLength(1);
    expect(await provider.verify(withMemo)).toBe(false);
  });

  it('treats a standing assignment of the same role as "already held, not ours" and leaves it on revoke', async () => {
    const { provider } = makeProvider();
    const standing = fake.seedStandingSchedule({ scope: SCOPE, roleDefinitionId: READER_ID, principalId: ALICE });
    fake.minimumActiveMs = 0;
    const grant = spec(pimTarget);

    const outcome = await provider.grant(grant);

    expect(outcome.memo).toMatchObject({ alreadyHeld: 'true', principalId: ALICE });
    expect(outcome.instructions).toContain('already hold');
    expect(fake.scheduleRequestsMade()).toHaveLength(0);
    const memo = outcome.memo ?? {};
    expect(await provider.verify({ ...grant, memo })).toBe(true);
    expect(await provider.heldBefore({ ...grant, memo })).toBe(true);
    await provider.revoke({ ...grant, memo });
    await provider.revoke(grant); // without a memo, ownership is read from Azure
    expect(fake.liveSchedules()).toEqual([expect.objectContaining({ id: standing.id })]);
    expect(fake.scheduleRequestsMade()).toHaveLength(0);
  });

  it('never removes a PIM assignment another request made, even without a memo', async () => {
    const { provider } = makeProvider();
    fake.minimumActiveMs = 0;
    const other = spec(pimTarget, { requestId: 'p3rzq8wn' });
    await provider.grant(other);
    const mine = spec(pimTarget);

    const outcome = await provider.grant(mine);
    await provider.revoke(mine);

    expect(outcome.memo?.alreadyHeld).toBe('true');
    expect(fake.liveSchedules()).toEqual([
      expect.objectContaining({ endDateTime: new Date(other.expiresAt).toISOString(), principalId: ALICE }),
    ]);
    expect(fake.scheduleRequestsMade().map((request) => request.requestType)).toEqual(['AdminAssign']);
  });

  it('revoking what was never granted, or what Azure already ended, succeeds without a request', async () => {
    const { provider } = makeProvider();
    await provider.revoke(spec(pimTarget));
    const grant = spec(pimTarget);
    const { memo } = await provider.grant(grant);
    fake.advance(HOUR + 1);
    await provider.revoke({ ...grant, ...(memo && { memo }) });
    expect(fake.scheduleRequestsMade().map((request) => request.requestType)).toEqual(['AdminAssign']);
  });

  it('revoking when the person cannot be found (a failed grant being cleaned up) succeeds', async () => {
    const { provider } = makeProvider();
    await provider.revoke(
      spec(pimTarget, { principal: { slackUserId: 'U0CAROL', identities: {}, email: 'carol@example.com' } }),
    );
    expect(fake.scheduleRequestsMade()).toHaveLength(0);
  });

  it('retries throttling on the PIM calls', async () => {
    const { provider } = makeProvider();
    fake.failNext(2, { status: 429, retryAfterSeconds: 0 });
    await provider.grant(spec(pimTarget));
    expect(fake.liveSchedules()).toHaveLength(1);
  });

  it('fails without retry, naming the permission, when the bot may not request PIM assignments', async () => {
    const { provider } = makeProvider();
    fake.denied.add('Microsoft.Authorization/roleAssignmentScheduleRequests/write');
    const error = await failure(provider.grant(spec(pimTarget)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Microsoft.Authorization/roleAssignmentScheduleRequests/write');
    expect(fake.liveSchedules()).toHaveLength(0);
  });
});

describe('createAzureProvider', () => {
  it('builds the provider from the environment without signing in', () => {
    const provider = createAzureProvider(
      createLogger({ level: 'silent' }),
      {
        AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://management.usgovcloudapi.net',
        AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us',
        AZURE_GRAPH_ENDPOINT: 'https://graph.microsoft.us',
      },
      fake.clock,
    );
    expect(provider.name).toBe('azure');
    expect(provider.identifiesPeopleByEmail).toBe(true);
  });
});

describe('AzureProvider, kind: pim, as PIM really behaves', () => {
  const SUBSCRIPTION_SCOPE = `/subscriptions/${SUBSCRIPTION}`;
  const expiryOf = (grant: GrantSpec) => new Date(grant.expiresAt).toISOString();
  const requestTypes = () => fake.scheduleRequestsMade().map((request) => request.requestType);

  it('the fake refuses a second PUT of a schedule request name with 409 RoleAssignmentRequestExists', async () => {
    const client = new AuthorizationManagementClient(fake.credential(), SUBSCRIPTION, {
      endpoint: fake.url,
      credentialScopes: [`${fake.url}/.default`],
      retryOptions: { maxRetries: 0 },
      tlsOptions: { ca: fake.ca },
    });
    const body = {
      principalId: ALICE,
      roleDefinitionId: READER_ID,
      requestType: 'AdminAssign',
      scheduleInfo: { expiration: { type: 'AfterDateTime', endDateTime: new Date(fake.clock.now() + HOUR) } },
    };
    const name = '9c1f3a52-7d0e-4b4e-9f31-2b8e5c7d6a01';
    const first = await client.roleAssignmentScheduleRequests.create(SCOPE, name, body);
    expect(first.status).toBe('Accepted');

    const error = await client.roleAssignmentScheduleRequests.create(SCOPE, name, body).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(RestError);
    expect((error as RestError).statusCode).toBe(409);
    expect((error as RestError).code).toBe('RoleAssignmentRequestExists');
    expect((error as RestError).message).toBe(`A role assignment request with Id: ${name} already exists`);
  });

  it('the fake lists subscription-scope schedules under /providers/Microsoft.Subscription, as the spec example does', async () => {
    const { provider } = makeProvider();
    await provider.grant(spec({ ...pimTarget, scope: SUBSCRIPTION_SCOPE }));
    const client = new AuthorizationManagementClient(fake.credential(), SUBSCRIPTION, {
      endpoint: fake.url,
      credentialScopes: [`${fake.url}/.default`],
      retryOptions: { maxRetries: 0 },
      tlsOptions: { ca: fake.ca },
    });
    const schedules: RoleAssignmentSchedule[] = [];
    for await (const schedule of client.roleAssignmentSchedules.listForScope(SUBSCRIPTION_SCOPE))
      schedules.push(schedule);
    expect(schedules).toEqual([
      expect.objectContaining({
        scope: `/providers/Microsoft.Subscription${SUBSCRIPTION_SCOPE}`,
        id: expect.stringMatching(/^\/providers\/Microsoft\.Subscription\/subscriptions\//),
        roleAssignmentScheduleRequestId: expect.stringMatching(
          /^\/providers\/Microsoft\.Subscription\/subscriptions\//,
        ),
      }),
    ]);
  });

  it('waits until PIM has provisioned the assignment before the grant returns, following the request by GET', async () => {
    const { provider } = makeProvider();
    const grant = spec(pimTarget);

    const outcome = await provider.grant(grant);

    const [request] = fake.scheduleRequestsMade();
    expect(request?.status).toBe('Provisioned');
    expect(fake.liveSchedules()).toHaveLength(1);
    expect(
      fake.requests.some(
        (seen) => seen.method === 'GET' && seen.path.endsWith(`/roleAssignmentScheduleRequests/${request?.name}`),
      ),
    ).toBe(true);
    expect(await provider.verify({ ...grant, ...(outcome.memo && { memo: outcome.memo }) })).toBe(true);
  });

  it('waits until PIM has applied an early removal before the revoke returns', async () => {
    const { provider } = makeProvider();
    const grant = spec(pimTarget);
    const { memo } = await provider.grant(grant);
    fake.advance(5 * 60_000);

    await provider.revoke({ ...grant, ...(memo && { memo }) });

    expect(fake.liveSchedules()).toEqual([]);
    expect(fake.scheduleRequestsMade().find((request) => request.requestType === 'AdminRemove')?.status).toBe(
      'Revoked',
    );
    expect(await provider.verify({ ...grant, ...(memo && { memo }) })).toBe(false);
  });

  it('a grant retried while its own AdminAssign is still provisioning waits for it and takes it as its own', async () => {
    const impatient = makeProvider({ pimWait: { timeoutMs: 0 } }).provider;
    const first = spec(pimTarget);
    const timedOut = await failure(impatient.grant(first));
    expect(timedOut.retryable).toBe(true);
    expect(timedOut.message).toContain('has not applied it');

    // The grant job's retry computes a new expiry from its own start, as the lifecycle does.
    const { provider } = makeProvider();
    const retry = { ...first, expiresAt: first.expiresAt + 90_000 };
    const outcome = await provider.grant(retry);

    expect(outcome.memo?.alreadyHeld).toBeUndefined();
    expect(requestTypes()).toEqual(['AdminAssign', 'AdminExtend']);
    expect(fake.liveSchedules()).toEqual([expect.objectContaining({ endDateTime: expiryOf(retry) })]);
    const memo = outcome.memo ?? {};
    expect(await provider.verify({ ...retry, memo })).toBe(true);
    // Ending it early still works: the assignment is the bot's, not "already held".
    fake.advance(5 * 60_000);
    await provider.revoke({ ...retry, memo });
    expect(fake.liveSchedules()).toEqual([]);
  });

  it('a retried extension whose request Azure already holds is read back and followed, not refused', async () => {
    const { provider } = makeProvider();
    const first = spec(pimTarget);
    const { memo } = await provider.grant(first);
    const later = { ...first, expiresAt: first.expiresAt + HOUR, ...(memo && { memo }) };
    await failure(makeProvider({ pimWait: { timeoutMs: 0 } }).provider.grant(later));

    const outcome = await provider.grant(later);

    expect(outcome.memo?.alreadyHeld).toBeUndefined();
    expect(requestTypes()).toEqual(['AdminAssign', 'AdminExtend']);
    expect(fake.liveSchedules()).toEqual([expect.objectContaining({ endDateTime: expiryOf(later) })]);
    expect(await provider.verify(later)).toBe(true);
  });

  it('a retried AdminRemove whose request Azure already holds is followed to the end, so no access remains', async () => {
    const { provider } = makeProvider();
    const grant = spec(pimTarget);
    const { memo } = await provider.grant(grant);
    const withMemo = { ...grant, ...(memo && { memo }) };
    fake.advance(5 * 60_000);
    const timedOut = await failure(makeProvider({ pimWait: { timeoutMs: 0 } }).provider.revoke(withMemo));
    expect(timedOut.retryable).toBe(true);

    await provider.revoke(withMemo);

    expect(fake.liveSchedules()).toEqual([]);
    expect(requestTypes()).toEqual(['AdminAssign', 'AdminRemove']);
    expect(await provider.verify(withMemo)).toBe(false);
  });

  it("fails without retry when Azure holds a different request under the bot's derived name", async () => {
    const { provider } = makeProvider();
    const grant = spec(pimTarget);
    fake.seedPimAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      justification: 'made by hand',
      endDateTime: expiryOf(grant),
      requestName: assignmentName(REQUEST_ID, `pim/AdminAssign/${expiryOf(grant)}`),
    });

    const error = await failure(provider.grant(grant));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`it is for principal ${BOB}`);
    expect(error.message).toContain("reused the bot's request name");
    expect(fake.liveSchedules().filter((schedule) => schedule.principalId === ALICE)).toEqual([]);
  });

  it.each([
    ['PendingApproval', 'for approval'],
    ['Failed', 'as Failed'],
    ['FailedAsResourceIsLocked', 'a lock on the resource'],
  ])('fails the grant without retry when PIM ends its request as %s', async (status, expected) => {
    const { provider } = makeProvider();
    fake.endNextRequestAs(status);

    const error = await failure(provider.grant(spec(pimTarget)));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain(expected);
    expect(fake.liveSchedules()).toEqual([]);
  });

  it('gives up waiting after its bounded time with a retryable error naming the status', async () => {
    const { provider } = makeProvider({ pimWait: { timeoutMs: 100, intervalMs: 20 } });
    fake.endNextRequestAs('PendingProvisioning');

    const error = await failure(provider.grant(spec(pimTarget)));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('status PendingProvisioning');
  });

  it('grants, verifies, re-grants, sweeps and revokes at a subscription scope PIM writes with /providers/Microsoft.Subscription', async () => {
    const { provider } = makeProvider();
    const target = { ...pimTarget, scope: SUBSCRIPTION_SCOPE };
    const grant = spec(target);

    const { memo } = await provider.grant(grant);
    const withMemo = { ...grant, ...(memo && { memo }) };
    expect(memo?.alreadyHeld).toBeUndefined();
    expect(await provider.verify(withMemo)).toBe(true);
    await provider.grant(withMemo);
    expect(requestTypes()).toEqual(['AdminAssign']);
    const found = await provider.findGrants([{ roleId: 'sub-reader', target }]);
    expect(found.map((item) => [item.requestId, item.expiresAt])).toEqual([[REQUEST_ID, grant.expiresAt]]);
    expect(provider.sweeps(withMemo)).toBe(true);

    fake.advance(5 * 60_000);
    await provider.revoke(withMemo);
    expect(fake.liveSchedules()).toEqual([]);
    expect(await provider.verify(withMemo)).toBe(false);
  });

  it("extends with AdminExtend naming the schedule by the bare GUID the spec's examples use", async () => {
    const { provider } = makeProvider();
    const first = spec(pimTarget);
    await provider.grant(first);
    const [schedule] = fake.liveSchedules();

    await provider.grant({ ...first, expiresAt: first.expiresAt + HOUR });

    const extension = fake.scheduleRequestsMade().find((request) => request.requestType === 'AdminExtend');
    expect(schedule?.name).toMatch(/^[0-9a-f-]{36}$/);
    expect(extension?.targetRoleAssignmentScheduleId).toBe(schedule?.name);
  });

  it('tolerates PIM moving the schedule end by seconds: verify holds and granting again sends nothing', async () => {
    const { provider } = makeProvider();
    // The spec's examples end an 8-hour schedule 10 s before the requested start plus 8 hours.
    fake.scheduleEndAdjustmentMs = -10_000;
    const grant = spec(pimTarget);

    const { memo } = await provider.grant(grant);
    const withMemo = { ...grant, ...(memo && { memo }) };

    expect(fake.liveSchedules()[0]?.endDateTime).toBe(new Date(grant.expiresAt - 10_000).toISOString());
    expect(await provider.verify(withMemo)).toBe(true);
    await provider.grant(withMemo);
    expect(requestTypes()).toEqual(['AdminAssign']);
    expect(await provider.verify({ ...withMemo, expiresAt: grant.expiresAt + HOUR })).toBe(false);
  });

  it('refuses without retry a grant shorter than PIM allows, before asking Azure', async () => {
    const { provider } = makeProvider();
    const error = await failure(provider.grant(spec(pimTarget, { expiresAt: fake.clock.now() + 2 * 60_000 })));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('ask for 5 minutes or more');
    expect(fake.requests.filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it('says the same when Azure itself refuses the assignment as too short (ActiveDurationTooShort)', async () => {
    // The bot's clock runs 2 minutes behind Azure's, so it thinks 6 minutes remain where Azure counts 4.
    const behind = { now: () => fake.clock.now() - 2 * 60_000 };
    const { provider } = makeProvider({ clock: behind });
    const error = await failure(provider.grant(spec(pimTarget, { expiresAt: fake.clock.now() + 4 * 60_000 })));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('ask for 5 minutes or more');
    expect(fake.liveSchedules()).toEqual([]);
  });
});
