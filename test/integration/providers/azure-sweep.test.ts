import { CloudProviderError } from '../../../src/domain/errors';
import type { FoundGrant, GrantSpec, RoleTargetRef } from '../../../src/domain/ports';
import { assignmentName } from '../../../src/providers/azure/assignment-name';
import { CONTRIBUTOR_ROLE, FakeAzure, loggedAzureProvider, READER_ROLE } from '../../support/fake-azure-arm';

const SUBSCRIPTION = '2ea60f7e-ff84-4ddb-a6e6-b0e064c7b8fe';
const SUBSCRIPTION_SCOPE = `/subscriptions/${SUBSCRIPTION}`;
const SCOPE = `${SUBSCRIPTION_SCOPE}/resourceGroups/app-prod`;
const OTHER_SCOPE = `${SUBSCRIPTION_SCOPE}/resourceGroups/app-staging`;
const GROUP_SCOPE = '/providers/Microsoft.Management/managementGroups/platform';
const READER_ID = `${SUBSCRIPTION_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`;
const CONTRIBUTOR_ID = `${SUBSCRIPTION_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR_ROLE}`;
const ALICE = 'a3bb8764-cb92-4276-9d2a-ca1e895e55ea';
const BOB = '0c589a97-daac-42a8-8ba8-ec2756c48747';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const readerAssignment: RoleTargetRef = {
  roleId: 'prod-reader',
  target: { kind: 'role-assignment', scope: SCOPE, roleDefinitionId: READER_ROLE },
};
const readerPim: RoleTargetRef = {
  roleId: 'prod-reader-pim',
  target: { kind: 'pim', scope: SCOPE, roleDefinitionId: READER_ROLE },
};

let fake: FakeAzure;

beforeAll(async () => {
  fake = await FakeAzure.start();
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  fake.addUser({ id: ALICE, mail: 'alice@example.com' });
  fake.addUser({ id: BOB, mail: 'bob@example.com' });
});

function makeProvider() {
  return loggedAzureProvider(fake);
}

/** A grant as the lifecycle makes it; expiries are whole milliseconds off now, to check they come back exactly. */
function spec(role: RoleTargetRef, requestId: string, principalId: string, expiresAt: number): GrantSpec {
  return {
    requestId,
    roleId: role.roleId,
    target: role.target,
    principal: { slackUserId: `U${requestId.toUpperCase()}`, identities: { azure: principalId } },
    expiresAt,
  };
}

function byRequest(found: FoundGrant[]): FoundGrant[] {
  return [...found].sort((a, b) => a.requestId.localeCompare(b.requestId));
}

/** The listings the sweep made, as `<path> <query without api-version>`. */
function listings(): string[] {
  return fake.requests
    .filter((request) => request.method === 'GET' && /\/(roleAssignments|roleAssignmentSchedules)$/i.test(request.path))
    .map((request) => {
      const query = new URLSearchParams(request.query);
      query.delete('api-version');
      return `${request.path} ${decodeURIComponent(query.toString())}`;
    });
}

describe('AzureProvider.findGrants, kind: role-assignment', () => {
  it("finds the bot's assignments with their request, exact expiry and place, listing the scope once with atScope()", async () => {
    const { provider } = makeProvider();
    const later = fake.clock.now() + HOUR + 123;
    const earlier = fake.clock.now() - 10 * MINUTE - 7;
    await provider.grant(spec(readerAssignment, 'k7m2xq9d', ALICE, later));
    await provider.grant(spec(readerAssignment, 'p4r8st2u', BOB, earlier));
    fake.requests.length = 0;

    const found = byRequest(await provider.findGrants([readerAssignment]));

    expect(found).toEqual([
      {
        requestId: 'k7m2xq9d',
        expiresAt: later,
        spec: expect.objectContaining({
          requestId: 'k7m2xq9d',
          roleId: 'prod-reader',
          target: readerAssignment.target,
        }),
        description: `role assignment ${assignmentName('k7m2xq9d')} of role ${READER_ROLE} to principal ${ALICE} at ${SCOPE}`,
      },
      {
        requestId: 'p4r8st2u',
        expiresAt: earlier,
        spec: expect.objectContaining({
          requestId: 'p4r8st2u',
          roleId: 'prod-reader',
          target: readerAssignment.target,
        }),
        description: `role assignment ${assignmentName('p4r8st2u')} of role ${READER_ROLE} to principal ${BOB} at ${SCOPE}`,
      },
    ]);
    expect(listings()).toEqual([`${SCOPE}/providers/Microsoft.Authorization/roleAssignments $filter=atScope()`]);
  });

  it('revoke(found.spec) removes exactly the found assignments, and succeeds again once they are gone', async () => {
    const { provider } = makeProvider();
    await provider.grant(spec(readerAssignment, 'k7m2xq9d', ALICE, fake.clock.now() + HOUR));
    await provider.grant(spec(readerAssignment, 'p4r8st2u', BOB, fake.clock.now() - MINUTE));
    fake.seedRoleAssignment({ scope: SCOPE, roleDefinitionId: CONTRIBUTOR_ID, principalId: ALICE, description: 'x' });
    const before = fake.roleAssignments().map((assignment) => assignment.name);

    const found = await provider.findGrants([readerAssignment]);
    for (const grant of found) await provider.revoke(grant.spec);
    for (const grant of found) await provider.revoke(grant.spec);

    expect(fake.roleAssignments().map((assignment) => assignment.name)).toEqual(
      before.filter((name) => name !== assignmentName('k7m2xq9d') && name !== assignmentName('p4r8st2u')),
    );
    expect(fake.roleAssignments()).toHaveLength(1);
    expect(await provider.findGrants([readerAssignment])).toEqual([]);
  });

  it('never returns assignments the bot did not make, nor its own at other scopes or of other roles', async () => {
    const { provider } = makeProvider();
    const iso = new Date(fake.clock.now() - HOUR).toISOString();
    // Someone else's: standing, a copied description under a random name, the bot's name with another text.
    fake.seedRoleAssignment({ scope: SCOPE, roleDefinitionId: READER_ID, principalId: ALICE, description: 'standing' });
    fake.seedRoleAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      description: `jit k7m2xq9d until ${iso}`,
    });
    fake.seedRoleAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      name: assignmentName('aaaa2222'),
      description: `jit bbbb3333 until ${iso}`,
    });
    fake.seedRoleAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      name: assignmentName('CCCC4444'),
      description: `jit CCCC4444 until ${iso}`,
    });
    fake.seedRoleAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      name: assignmentName('dddd5555'),
      description: `jit-dddd5555 until ${iso}`,
    });
    // The bot's own, but above the scope, below it, and of a role the roles asked about do not name.
    for (const [scope, roleDefinitionId, requestId] of [
      [SUBSCRIPTION_SCOPE, READER_ID, 'above111'],
      [`${SCOPE}/providers/Microsoft.Storage/storageAccounts/prodlogs`, READER_ID, 'below222'],
      [SCOPE, CONTRIBUTOR_ID, 'contrib3'],
    ] as const) {
      fake.seedRoleAssignment({
        scope,
        roleDefinitionId,
        principalId: ALICE,
        name: assignmentName(requestId),
        description: `jit ${requestId} until ${iso}`,
      });
    }

    expect(await provider.findGrants([readerAssignment])).toEqual([]);
    // Nothing was ever changed by looking.
    expect(fake.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  });

  it('parses only the exact ISO expiry the bot writes; any other text names no expiry', async () => {
    const { provider } = makeProvider();
    const cases = [
      ['exact001', '2026-03-01T12:00:00.000Z', Date.UTC(2026, 2, 1, 12)],
      ['exact002', '1999-12-31T23:59:59.999Z', Date.UTC(1999, 11, 31, 23, 59, 59, 999)],
      ['inexact1', '2026-03-01T12:00:00Z', undefined],
      ['inexact2', '2026-03-01', undefined],
      ['inexact3', '2026-02-30T12:00:00.000Z', undefined],
      ['inexact4', 'tomorrow', undefined],
    ] as const;
    for (const [requestId, until] of cases) {
      fake.seedRoleAssignment({
        scope: SCOPE,
        roleDefinitionId: READER_ID,
        principalId: ALICE,
        name: assignmentName(requestId),
        description: `jit ${requestId} until ${until}`,
      });
    }

    const found = byRequest(await provider.findGrants([readerAssignment]));

    expect(found.map((grant) => [grant.requestId, grant.expiresAt])).toEqual(
      cases.map(([requestId, , expiresAt]) => [requestId, expiresAt]),
    );
    expect(found.filter((grant) => grant.expiresAt === undefined).map((grant) => 'expiresAt' in grant)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('follows nextLink through every page, and lists each scope once for all its roles', async () => {
    const { provider } = makeProvider();
    fake.pageSize = 2;
    const contributor: RoleTargetRef = {
      roleId: 'prod-contributor',
      target: { kind: 'role-assignment', scope: SCOPE.toUpperCase(), roleDefinitionId: CONTRIBUTOR_ID },
    };
    const staging: RoleTargetRef = {
      roleId: 'staging-reader',
      target: { kind: 'role-assignment', scope: OTHER_SCOPE, roleDefinitionId: READER_ROLE },
    };
    const platform: RoleTargetRef = {
      roleId: 'platform-reader',
      target: { kind: 'role-assignment', scope: GROUP_SCOPE, roleDefinitionId: READER_ROLE },
    };
    const expiresAt = fake.clock.now() + HOUR;
    const made: [RoleTargetRef, string][] = [
      [readerAssignment, 'ra000001'],
      [readerAssignment, 'ra000002'],
      [contributor, 'ra000003'],
      [contributor, 'ra000004'],
      [staging, 'ra000005'],
      [platform, 'ra000006'],
    ];
    for (const [role, requestId] of made) {
      fake.addUser({ id: `00000000-0000-4000-8000-${requestId.slice(2).padStart(12, '0')}` });
      await provider.grant(
        spec(role, requestId, `00000000-0000-4000-8000-${requestId.slice(2).padStart(12, '0')}`, expiresAt),
      );
    }
    fake.seedRoleAssignment({ scope: SCOPE, roleDefinitionId: READER_ID, principalId: ALICE, description: 'standing' });
    fake.requests.length = 0;

    const found = byRequest(await provider.findGrants([readerAssignment, contributor, staging, platform]));

    expect(found.map((grant) => [grant.requestId, grant.spec.roleId, grant.expiresAt])).toEqual(
      made.map(([role, requestId]) => [requestId, role.roleId, expiresAt]),
    );
    const pages = listings();
    const prod = `${SCOPE}/providers/Microsoft.Authorization/roleAssignments`.toLowerCase();
    // The prod scope's five assignments (two roles share it) come in three pages, from one listing.
    expect(pages.filter((page) => page.toLowerCase().startsWith(prod)).map((page) => page.split(' ')[1])).toEqual([
      '$filter=atScope()',
      '$filter=atScope()&$skipToken=2',
      '$filter=atScope()&$skipToken=4',
    ]);
    expect(pages).toHaveLength(5);

    for (const grant of found) await provider.revoke(grant.spec);
    expect(fake.roleAssignments()).toEqual([expect.objectContaining({ principalId: ALICE, description: 'standing' })]);
  });
});

describe('AzureProvider.findGrants, kind: pim', () => {
  it("finds the bot's live PIM assignments with their request and the end Azure enforces", async () => {
    const { provider } = makeProvider();
    const prefixed: RoleTargetRef = {
      roleId: 'prod-contributor-pim',
      target: { kind: 'pim', scope: SCOPE, roleDefinitionId: CONTRIBUTOR_ROLE, justificationPrefix: 'CHG-1234 jit' },
    };
    const aliceEnd = fake.clock.now() + HOUR + 5;
    const bobEnd = fake.clock.now() + 2 * HOUR + 9;
    // PIM refuses assignments shorter than 5 minutes, so the first grant runs half an hour before it is extended.
    await provider.grant(spec(readerPim, 'k7m2xq9d', ALICE, aliceEnd - 30 * MINUTE));
    await provider.grant(spec(readerPim, 'k7m2xq9d', ALICE, aliceEnd)); // extended: AdminExtend
    await provider.grant(spec(prefixed, 'p4r8st2u', BOB, bobEnd));
    fake.requests.length = 0;

    const found = byRequest(await provider.findGrants([readerPim, prefixed]));

    expect(found).toEqual([
      {
        requestId: 'k7m2xq9d',
        expiresAt: aliceEnd,
        spec: expect.objectContaining({ requestId: 'k7m2xq9d', roleId: 'prod-reader-pim', target: readerPim.target }),
        description: expect.stringMatching(
          new RegExp(`^PIM active assignment \\S+ of role ${READER_ROLE} to principal ${ALICE} at ${SCOPE}$`),
        ),
      },
      {
        requestId: 'p4r8st2u',
        expiresAt: bobEnd,
        spec: expect.objectContaining({
          requestId: 'p4r8st2u',
          roleId: 'prod-contributor-pim',
          target: prefixed.target,
        }),
        description: expect.stringContaining(`of role ${CONTRIBUTOR_ROLE} to principal ${BOB} at ${SCOPE}`),
      },
    ]);
    // One listing for the scope, then each schedule's originating request, read once.
    expect(listings()).toEqual([
      `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentSchedules $filter=atScope()`,
    ]);
    expect(fake.requests.filter((request) => request.path.includes('roleAssignmentScheduleRequests/'))).toHaveLength(2);
  });

  it('revoke(found.spec) removes exactly the found PIM assignments, and succeeds again once they are gone', async () => {
    const { provider } = makeProvider();
    await provider.grant(spec(readerPim, 'k7m2xq9d', ALICE, fake.clock.now() + HOUR));
    await provider.grant(spec(readerPim, 'p4r8st2u', BOB, fake.clock.now() + HOUR));
    const standing = fake.seedStandingSchedule({ scope: SCOPE, roleDefinitionId: READER_ID, principalId: ALICE });
    fake.advance(6 * MINUTE); // Azure refuses removal in an assignment's first 5 minutes

    const found = await provider.findGrants([readerPim]);
    expect(found.map((grant) => grant.requestId).sort()).toEqual(['k7m2xq9d', 'p4r8st2u']);
    for (const grant of found) await provider.revoke(grant.spec);
    for (const grant of found) await provider.revoke(grant.spec);

    expect(fake.liveSchedules()).toEqual([expect.objectContaining({ id: standing.id })]);
    expect(fake.scheduleRequestsMade().filter((request) => request.requestType === 'AdminRemove')).toHaveLength(2);
    expect(await provider.findGrants([readerPim])).toEqual([]);
  });

  it('never returns PIM assignments the bot did not request, nor its own elsewhere', async () => {
    const { provider } = makeProvider();
    const end = new Date(fake.clock.now() + HOUR).toISOString();
    fake.seedStandingSchedule({ scope: SCOPE, roleDefinitionId: READER_ID, principalId: ALICE });
    // A request made by hand with a copied justification: its name is not the bot's.
    fake.seedPimAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      justification: `jit k7m2xq9d until ${end}`,
      endDateTime: end,
    });
    // The bot's name but a justification that does not end in its mark.
    fake.seedPimAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: BOB,
      justification: `jit aaaa2222 until ${end} (copied)`,
      endDateTime: end,
      requestName: assignmentName('aaaa2222', `pim/AdminAssign/${end}`),
    });
    // The bot's own requests, but above the scope and of a role not asked about.
    fake.seedPimAssignment({
      scope: SUBSCRIPTION_SCOPE,
      roleDefinitionId: READER_ID,
      principalId: ALICE,
      justification: `jit above111 until ${end}`,
      endDateTime: end,
      requestName: assignmentName('above111', `pim/AdminAssign/${end}`),
    });
    fake.seedPimAssignment({
      scope: SCOPE,
      roleDefinitionId: CONTRIBUTOR_ID,
      principalId: ALICE,
      justification: `jit contrib3 until ${end}`,
      endDateTime: end,
      requestName: assignmentName('contrib3', `pim/AdminAssign/${end}`),
    });
    expect(fake.liveSchedules()).toHaveLength(5);

    expect(await provider.findGrants([readerPim])).toEqual([]);
    expect(fake.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  });

  it("recognises the bot's PIM request whatever the case of its name and after a prefix; the schedule's end wins", async () => {
    const { provider } = makeProvider();
    // The schedule still points at the request that made it, whose justification names the first expiry, while
    // the schedule itself now ends later (as after an extension that Azure did not re-point).
    const asked = new Date(fake.clock.now() + HOUR + 1).toISOString();
    const ends = fake.clock.now() + 2 * HOUR + 3;
    fake.seedPimAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: ALICE,
      justification: `CHG-1 jit k7m2xq9d until ${asked}`,
      endDateTime: new Date(ends).toISOString(),
      requestName: assignmentName('k7m2xq9d', `pim/AdminAssign/${asked}`).toUpperCase(),
    });

    const found = await provider.findGrants([readerPim]);

    expect(found.map((grant) => [grant.requestId, grant.expiresAt])).toEqual([['k7m2xq9d', ends]]);
    expect(found[0]?.spec.memo).toEqual({ principalId: ALICE, kind: 'pim' });
    expect(found[0]?.spec.principal.identities).toEqual({ azure: ALICE });
  });

  it('revoke never removes a hand-made PIM assignment whose justification copies the request ID', async () => {
    const { provider } = makeProvider();
    const end = new Date(fake.clock.now() + HOUR).toISOString();
    const copied = fake.seedPimAssignment({
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId: ALICE,
      justification: `jit k7m2xq9d until ${end}`,
      endDateTime: end,
    });

    await provider.revoke({
      ...spec(readerPim, 'k7m2xq9d', ALICE, Date.parse(end)),
      memo: { principalId: ALICE, kind: 'pim' },
    });

    expect(fake.liveSchedules()).toEqual([expect.objectContaining({ id: copied.id })]);
    expect(fake.scheduleRequestsMade().map((request) => request.requestType)).toEqual(['AdminAssign']);
  });

  it('no longer finds an assignment Azure ended at its expiry', async () => {
    const { provider } = makeProvider();
    await provider.grant(spec(readerPim, 'k7m2xq9d', ALICE, fake.clock.now() + HOUR));
    expect(await provider.findGrants([readerPim])).toHaveLength(1);

    fake.advance(HOUR + 1);

    expect(await provider.findGrants([readerPim])).toEqual([]);
  });
});

describe('AzureProvider.findGrants, failures', () => {
  it('returns what it could read when one kind of listing is denied, and logs the scope it could not read', async () => {
    const { provider, logs } = makeProvider();
    await provider.grant(spec(readerAssignment, 'k7m2xq9d', ALICE, fake.clock.now() + HOUR));
    fake.denied.add('Microsoft.Authorization/roleAssignmentSchedules/read');

    const found = await provider.findGrants([readerPim, readerAssignment]);

    expect(found.map((grant) => grant.requestId)).toEqual(['k7m2xq9d']);
    expect(logs()).toContainEqual(
      expect.objectContaining({
        scope: SCOPE,
        kind: 'pim',
        retryable: false,
        msg: 'azure: sweep could not read a scope; the others are still swept',
        reason: expect.stringContaining('Microsoft.Authorization/roleAssignmentSchedules/read'),
      }),
    );
  });

  it('throws a retryable error when nothing could be read because Azure kept failing', async () => {
    const { provider } = makeProvider();
    fake.failNext(100, { status: 503 });

    const error = await provider.findGrants([readerPim, readerAssignment]).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(CloudProviderError);
    expect((error as CloudProviderError).retryable).toBe(true);
    expect((error as CloudProviderError).message).toContain('could not read any of the 2 Azure scope(s)');
  });

  it('throws a non-retryable error naming the permission when every listing is denied', async () => {
    const { provider } = makeProvider();
    fake.denied.add('Microsoft.Authorization/roleAssignments/read');

    const error = await provider.findGrants([readerAssignment]).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(CloudProviderError);
    expect((error as CloudProviderError).retryable).toBe(false);
    expect((error as CloudProviderError).message).toContain('Microsoft.Authorization/roleAssignments/read');
  });

  it('reads nothing for no roles, and skips a role whose target is not an Azure target', async () => {
    const { provider } = makeProvider();
    await provider.grant(spec(readerAssignment, 'k7m2xq9d', ALICE, fake.clock.now() + HOUR));
    fake.requests.length = 0;

    expect(await provider.findGrants([])).toEqual([]);
    expect(fake.requests).toEqual([]);
    const found = await provider.findGrants([
      { roleId: 'broken', target: { kind: 'role-assignment', scope: 'app-prod', roleDefinitionId: READER_ROLE } },
      readerAssignment,
    ]);
    expect(found.map((grant) => grant.requestId)).toEqual(['k7m2xq9d']);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('AzureProvider.sweeps', () => {
  it('is true only for grants whose kind, scope and role the last sweep read in full', async () => {
    const { provider } = makeProvider();
    const reader = spec(readerAssignment, 'k7m2xq9d', ALICE, fake.clock.now() + HOUR);
    const pim = spec(readerPim, 'p4r8st2u', BOB, fake.clock.now() + HOUR);
    const readerMemo = (await provider.grant(reader)).memo;
    const pimMemo = (await provider.grant(pim)).memo;
    const sameScopeUpperCase = {
      ...reader,
      target: { ...readerAssignment.target, scope: SCOPE.toUpperCase(), roleDefinitionId: READER_ID },
    };
    const otherRole = { ...reader, target: { ...readerAssignment.target, roleDefinitionId: CONTRIBUTOR_ROLE } };
    const otherScope = { ...reader, target: { ...readerAssignment.target, scope: OTHER_SCOPE } };
    const alreadyHeld = { ...reader, memo: { principalId: ALICE, kind: 'role-assignment', alreadyHeld: 'true' } };
    const invalid = { ...reader, target: { kind: 'role-assignment', scope: 'app-prod' } };

    expect(provider.sweeps(reader)).toBe(false);

    fake.denied.add('Microsoft.Authorization/roleAssignmentSchedules/read');
    await provider.findGrants([readerAssignment, readerPim]);
    expect(provider.sweeps({ ...reader, ...(readerMemo && { memo: readerMemo }) })).toBe(true);
    expect(provider.sweeps(sameScopeUpperCase)).toBe(true);
    expect(provider.sweeps({ ...pim, ...(pimMemo && { memo: pimMemo }) })).toBe(false);
    expect([otherRole, otherScope, alreadyHeld, invalid].map((grant) => provider.sweeps(grant))).toEqual([
      false,
      false,
      false,
      false,
    ]);

    fake.denied.clear();
    await provider.findGrants([readerAssignment, readerPim]);
    expect(provider.sweeps(pim)).toBe(true);
  });
});
