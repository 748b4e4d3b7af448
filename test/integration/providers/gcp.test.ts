import { Writable } from 'node:stream';
import { ProjectsClient } from '@google-cloud/resource-manager';
import { CloudProviderError } from '../../../src/domain/errors';
import type { FoundGrant, GrantSpec, RoleTargetRef } from '../../../src/domain/ports';
import { createLogger } from '../../../src/lib/logger';
import { createGcpProvider, type GcpProvider } from '../../../src/providers/gcp/gcp-provider';
import { overrideEnv } from '../../support/env-override';
import { type FakeBinding, FakeGcpCrm, letGoogleClientsFetchInJest } from '../../support/fake-gcp-crm';

const PROJECT = 'projects/jit-sandbox';
const ROLE = 'roles/compute.instanceAdmin.v1';
const EXPIRY = '2031-05-01T12:00:00.000Z';
const LATER = '2031-05-01T14:30:00.000Z';

/** Bindings somebody else made: the bot must leave each exactly as it is. */
const THEIRS: FakeBinding[] = [
  { role: ROLE, members: ['user:bob@example.com'] },
  {
    role: ROLE,
    members: ['user:carol@example.com'],
    condition: {
      title: 'weekday-only',
      description: 'set by hand',
      expression: 'request.time.getDayOfWeek("Europe/Berlin") < 5',
    },
  },
  {
    role: 'roles/storage.objectViewer',
    members: ['group:ops@example.com', 'serviceAccount:ci@p.iam.gserviceaccount.com'],
  },
];

function spec(overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: 'k7m2xq9d',
    roleId: 'gce-admin',
    target: { resource: PROJECT, role: ROLE },
    principal: { slackUserId: 'U0ALICE', identities: {}, email: 'alice@example.com' },
    expiresAt: Date.parse(EXPIRY),
    ...overrides,
  };
}

function ourBinding(requestId: string, expiry: string, member = 'user:alice@example.com', role = ROLE): FakeBinding {
  return {
    role,
    members: [member],
    condition: {
      title: `jit-${requestId}`,
      description: `jit ${requestId} until ${expiry}`,
      expression: `request.time < timestamp("${expiry}")`,
    },
  };
}

const FOLDER = 'folders/123456789012';
const PUBSUB = 'roles/pubsub.viewer';

/** The roles of a policy that grant on the project and the folder. */
const ROLES: RoleTargetRef[] = [
  { roleId: 'gce-admin', target: { resource: PROJECT, role: ROLE } },
  { roleId: 'folder-gce-admin', target: { resource: FOLDER, role: ROLE } },
];

/** Conditional bindings of others whose titles look like the bot's but are not `jit-<requestId>`. */
const LOOK_ALIKES: FakeBinding[] = ['jit-', 'jit-ABC', 'JIT-k7m2xq9d', 'jit-k7m2xq9d-old', 'jit k7m2xq9d'].map(
  (title) => ({
    role: ROLE,
    members: ['user:alice@example.com'],
    condition: { title, expression: `request.time < timestamp("${EXPIRY}")` },
  }),
);

/** An account Google keeps in its own case: the fake's default directory holds it so, as Google would. */
const JANE = 'user:Jane.Doe@example.com';

/** A grant to Jane, whose Slack profile gives her address in lowercase. */
function janeSpec(overrides: Partial<GrantSpec> = {}): GrantSpec {
  return spec({
    requestId: 'j4n3d0e1',
    principal: { slackUserId: 'U0JANE', identities: {}, email: 'jane.doe@example.com' },
    ...overrides,
  });
}

/** `count` conditional bindings of `role` for `member`, each a grant of the bot's for another request. */
function grantsOf(member: string, count: number, role = ROLE): FakeBinding[] {
  return Array.from({ length: count }, (_, i) => ourBinding(`old${i}`, EXPIRY, member, role));
}

/** Found grants in a stable order (by request ID): the sweep reads resources in parallel. */
function sorted(found: FoundGrant[]): FoundGrant[] {
  return [...found].sort((a, b) => a.requestId.localeCompare(b.requestId));
}

/** The rejection a promise ends with, failing the test when it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<CloudProviderError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CloudProviderError);
  return error as CloudProviderError;
}

describe('GcpProvider against a local Cloud Resource Manager', () => {
  let fake: FakeGcpCrm;
  let provider: GcpProvider;
  let restoreFetch: () => void;
  let restoreEnv: () => void;
  const logLines: string[] = [];

  beforeAll(async () => {
    restoreFetch = letGoogleClientsFetchInJest();
    fake = await FakeGcpCrm.start();
    // Real Application Default Credentials: the file the environment names, exchanged at the fake's /token.
    // The project saves the credentials' project lookup, which would go to Google's public endpoint.
    restoreEnv = overrideEnv({
      GOOGLE_APPLICATION_CREDENTIALS: fake.credentialsFile,
      GOOGLE_CLOUD_PROJECT: 'jit-bot-home',
    });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    provider = createGcpProvider(createLogger({ level: 'debug', destination }), {
      GCP_RESOURCE_MANAGER_ENDPOINT: fake.endpoint,
    });
  });

  afterAll(async () => {
    await provider.close();
    await fake.close();
    restoreFetch();
    restoreEnv();
  });

  beforeEach(() => {
    fake.reset();
    logLines.length = 0;
  });

  it('names itself gcp and identifies people by email', () => {
    expect(provider.name).toBe('gcp');
    expect(provider.identifiesPeopleByEmail).toBe(true);
  });

  describe('grant', () => {
    it('adds exactly one conditional binding at version 3 with the etag it read, leaving every other binding as it was', async () => {
      const seeded = fake.seed(PROJECT, THEIRS);

      const outcome = await provider.grant(spec());

      const policy = fake.policy(PROJECT);
      expect(policy.version).toBe(3);
      expect(policy.bindings).toEqual([...THEIRS, ourBinding('k7m2xq9d', EXPIRY)]);
      expect(policy.etag).not.toBe(seeded.etag);

      const [read] = fake.callsOf('getIamPolicy', PROJECT);
      expect(read?.body).toEqual({ options: { requestedPolicyVersion: 3 } });
      const writes = fake.callsOf('setIamPolicy', PROJECT);
      expect(writes).toHaveLength(1);
      const written = writes[0]?.body.policy as { version: number; etag: string };
      expect(written.version).toBe(3);
      expect(written.etag).toBe(seeded.etag);

      expect(outcome.memo).toEqual({
        resource: PROJECT,
        role: ROLE,
        member: 'user:alice@example.com',
        conditionTitle: 'jit-k7m2xq9d',
      });
      expect(outcome.instructions).toContain(ROLE);
      await expect(provider.verify({ ...spec(), memo: outcome.memo })).resolves.toBe(true);
    });

    it('authenticates every call with a token from Application Default Credentials, and logs no token', async () => {
      await provider.grant(spec());

      const crmCalls = fake.calls.filter((call) => call.method !== 'token');
      expect(crmCalls.length).toBeGreaterThanOrEqual(2);
      for (const call of crmCalls) expect(fake.issued(call.bearer)).toBe(true);
      const log = logLines.join('');
      expect(log).toContain('k7m2xq9d');
      for (const call of crmCalls) expect(log).not.toContain(call.bearer);
    });

    it('granting again keeps one binding and replaces its expiry', async () => {
      fake.seed(PROJECT, THEIRS);
      await provider.grant(spec());

      await provider.grant(spec({ expiresAt: Date.parse(LATER) }));

      expect(fake.policy(PROJECT).bindings).toEqual([...THEIRS, ourBinding('k7m2xq9d', LATER)]);
      await expect(provider.verify(spec({ expiresAt: Date.parse(LATER) }))).resolves.toBe(true);
      await expect(provider.verify(spec())).resolves.toBe(false);
    });

    it('granting again with the same expiry writes nothing', async () => {
      await provider.grant(spec());
      await provider.grant(spec());

      expect(fake.writes(PROJECT)).toBe(1);
      expect(fake.policy(PROJECT).bindings).toEqual([ourBinding('k7m2xq9d', EXPIRY)]);
    });

    it('keeps grants of other requests for the same role and person apart', async () => {
      await provider.grant(spec());
      await provider.grant(spec({ requestId: 'p3q4r5s6', expiresAt: Date.parse(LATER) }));

      expect(fake.policy(PROJECT).bindings).toEqual([ourBinding('k7m2xq9d', EXPIRY), ourBinding('p3q4r5s6', LATER)]);
    });

    it('uses the gcp identity from the principals map, adding user: to a bare email', async () => {
      await provider.grant(spec({ principal: { slackUserId: 'U0ALICE', identities: { gcp: 'a.l@example.com' } } }));
      await provider.grant(
        spec({
          requestId: 'g2h3j4k5',
          principal: {
            slackUserId: 'U0ALICE',
            identities: { gcp: 'group:oncall@example.com' },
            email: 'x@example.com',
          },
        }),
      );

      expect(fake.policy(PROJECT).bindings).toEqual([
        ourBinding('k7m2xq9d', EXPIRY, 'user:a.l@example.com'),
        ourBinding('g2h3j4k5', EXPIRY, 'group:oncall@example.com'),
      ]);
    });

    it('refuses without calling Google when the person has neither a gcp identity nor an email', async () => {
      const error = await failureOf(
        provider.grant(spec({ principal: { slackUserId: 'U0NOBODY', identities: { aws: 'nobody' } } })),
      );

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('gcp: "user:<email>"');
      expect(error.message).toContain('principals.U0NOBODY');
      expect(fake.calls).toHaveLength(0);
    });

    it('grants on folders and organizations through their own endpoints', async () => {
      const folder = 'folders/123456789012';
      const organization = 'organizations/987654321098';
      fake.seed(folder, THEIRS);

      await provider.grant(spec({ target: { resource: folder, role: ROLE } }));
      await provider.grant(
        spec({
          requestId: 'm5n6p7q8',
          target: { resource: organization, role: 'organizations/987654321098/roles/jitAuditor' },
        }),
      );

      expect(fake.policy(folder).bindings).toEqual([...THEIRS, ourBinding('k7m2xq9d', EXPIRY)]);
      expect(fake.policy(organization).bindings).toEqual([
        ourBinding('m5n6p7q8', EXPIRY, 'user:alice@example.com', 'organizations/987654321098/roles/jitAuditor'),
      ]);
      expect(fake.policy(PROJECT).bindings).toEqual([]);
      expect(fake.writes(folder)).toBe(1);
      expect(fake.writes(organization)).toBe(1);

      await provider.revoke(spec({ target: { resource: folder, role: ROLE } }));
      expect(fake.policy(folder).bindings).toEqual(THEIRS);
    });
  });

  describe('revoke', () => {
    it('removes exactly the bot binding and leaves the rest unchanged', async () => {
      fake.seed(PROJECT, THEIRS);
      const { memo } = await provider.grant(spec());

      await provider.revoke({ ...spec(), ...(memo && { memo }) });

      const policy = fake.policy(PROJECT);
      expect(policy.bindings).toEqual(THEIRS);
      expect(
        fake.callsOf('setIamPolicy', PROJECT).every((call) => (call.body.policy as { version: number }).version === 3),
      ).toBe(true);
      await expect(provider.verify(spec())).resolves.toBe(false);
    });

    it('revoking twice succeeds and the second time writes nothing', async () => {
      fake.seed(PROJECT, THEIRS);
      await provider.grant(spec());
      await provider.revoke(spec());
      const writesAfterFirst = fake.writes(PROJECT);

      await provider.revoke(spec());

      expect(fake.writes(PROJECT)).toBe(writesAfterFirst);
      expect(fake.policy(PROJECT).bindings).toEqual(THEIRS);
    });

    it('revoking what was never granted succeeds without a write, even next to look-alike bindings', async () => {
      const lookAlikes: FakeBinding[] = [
        ...THEIRS,
        // Our title but another role, and our role and member without a condition: neither is this grant.
        { ...ourBinding('k7m2xq9d', EXPIRY), role: 'roles/pubsub.viewer' },
        { role: ROLE, members: ['user:alice@example.com'] },
      ];
      fake.seed(PROJECT, lookAlikes);

      await provider.revoke(spec());

      expect(fake.callsOf('setIamPolicy')).toHaveLength(0);
      expect(fake.policy(PROJECT).bindings).toEqual(lookAlikes);
    });

    it('uses the member the grant recorded, even if the principals map changed since', async () => {
      const { memo } = await provider.grant(spec());

      await provider.revoke({
        ...spec({ principal: { slackUserId: 'U0ALICE', identities: { gcp: 'user:new-address@example.com' } } }),
        ...(memo && { memo }),
      });

      expect(fake.policy(PROJECT).bindings).toEqual([]);
    });

    it('succeeds without calling Google when no identity is known (cleanup of a grant that never happened)', async () => {
      await provider.revoke(spec({ principal: { slackUserId: 'U0NOBODY', identities: {} } }));

      expect(fake.calls).toHaveLength(0);
    });
  });

  describe('an account Google keeps in its own case', () => {
    it('grants, verifies, re-grants, finds and revokes a person whose Slack email differs in case', async () => {
      fake.seed(PROJECT, THEIRS);

      const { memo } = await provider.grant(janeSpec());

      // Google stored the grant under the account's own spelling, not the address the bot sent.
      expect(fake.policy(PROJECT).bindings).toEqual([...THEIRS, ourBinding('j4n3d0e1', EXPIRY, JANE)]);
      expect(memo?.member).toBe('user:jane.doe@example.com');
      await expect(provider.verify({ ...janeSpec(), ...(memo && { memo }) })).resolves.toBe(true);

      // Granting again finds her already there; a new expiry replaces the old one on the same member.
      await provider.grant(janeSpec());
      expect(fake.writes(PROJECT)).toBe(1);
      const later = janeSpec({ expiresAt: Date.parse(LATER) });
      await provider.grant(later);
      expect(fake.policy(PROJECT).bindings).toEqual([...THEIRS, ourBinding('j4n3d0e1', LATER, JANE)]);
      await expect(provider.verify({ ...later, ...(memo && { memo }) })).resolves.toBe(true);

      const found = await provider.findGrants(ROLES.slice(0, 1));
      expect(found.map((grant) => [grant.requestId, grant.expiresAt, grant.spec.memo?.member])).toEqual([
        ['j4n3d0e1', Date.parse(LATER), JANE],
      ]);

      // The memo recorded at grant time names her in lowercase; revoke still takes her out.
      await provider.revoke({ ...later, ...(memo && { memo }) });

      expect(fake.policy(PROJECT).bindings).toEqual(THEIRS);
      await expect(provider.verify({ ...later, ...(memo && { memo }) })).resolves.toBe(false);
      await expect(provider.findGrants(ROLES.slice(0, 1))).resolves.toEqual([]);
    });

    it('revokes what the sweep found in the account’s own case, and only that request', async () => {
      await provider.grant(janeSpec());
      await provider.grant(janeSpec({ requestId: 'p3q4r5s6', expiresAt: Date.parse(LATER) }));
      const [first] = await provider.findGrants(ROLES.slice(0, 1));
      if (first === undefined) throw new Error('expected a found grant');

      await provider.revoke(first.spec);

      expect(fake.policy(PROJECT).bindings).toEqual([ourBinding('p3q4r5s6', LATER, JANE)]);
      await expect(provider.verify(janeSpec({ requestId: 'p3q4r5s6', expiresAt: Date.parse(LATER) }))).resolves.toBe(
        true,
      );
    });

    it('takes a deleted principal of the same address for someone else', async () => {
      const deleted = 'deleted:user:Jane.Doe@example.com?uid=123456789012345678901';
      const theirs = ourBinding('j4n3d0e1', EXPIRY, deleted);
      fake.seed(PROJECT, [theirs]);

      await expect(provider.verify(janeSpec())).resolves.toBe(false);
      await provider.revoke(janeSpec());
      expect(fake.writes(PROJECT)).toBe(0);

      await provider.grant(janeSpec());
      expect(fake.policy(PROJECT).bindings).toEqual([{ ...theirs, members: [deleted, JANE] }]);
      await provider.revoke(janeSpec());
      expect(fake.policy(PROJECT).bindings).toEqual([theirs]);
    });
  });

  describe('concurrency and transient failures', () => {
    it('re-reads and retries when someone else wrote between the read and the write, keeping both changes', async () => {
      fake.seed(PROJECT, THEIRS);
      const theirNewBinding: FakeBinding = { role: 'roles/pubsub.viewer', members: ['user:dave@example.com'] };
      fake.writeConcurrentlyAfterNextRead(PROJECT, (policy) => policy.bindings.push(theirNewBinding));

      await provider.grant(spec());

      expect(fake.callsOf('setIamPolicy', PROJECT).map((call) => call.status)).toEqual([409, 200]);
      expect(fake.callsOf('getIamPolicy', PROJECT)).toHaveLength(2);
      expect(fake.policy(PROJECT).bindings).toEqual([...THEIRS, theirNewBinding, ourBinding('k7m2xq9d', EXPIRY)]);
    });

    it('re-reads and retries a revoke that lost the race, keeping the other writer change', async () => {
      await provider.grant(spec());
      const theirNewBinding: FakeBinding = { role: ROLE, members: ['user:erin@example.com'] };
      fake.writeConcurrentlyAfterNextRead(PROJECT, (policy) => policy.bindings.unshift(theirNewBinding));

      await provider.revoke(spec());

      expect(fake.callsOf('setIamPolicy', PROJECT).map((call) => call.status)).toEqual([200, 409, 200]);
      expect(fake.policy(PROJECT).bindings).toEqual([theirNewBinding]);
    });

    it.each([429, 503])('retries HTTP %i and then succeeds', async (status) => {
      fake.failNext(1, status, { only: 'getIamPolicy' });
      fake.failNext(1, status, { only: 'setIamPolicy' });

      await provider.grant(spec());

      expect(fake.policy(PROJECT).bindings).toEqual([ourBinding('k7m2xq9d', EXPIRY)]);
      expect(fake.callsOf('setIamPolicy').map((call) => call.status)).toEqual([status, 200]);
    });

    it('gives up after a few attempts with a retryable error when Google stays unavailable', async () => {
      fake.failNext(20, 503);

      const error = await failureOf(provider.grant(spec()));

      expect(error.retryable).toBe(true);
      expect(error.message).toContain(PROJECT);
      expect(fake.callsOf('getIamPolicy')).toHaveLength(4);
      expect(fake.callsOf('setIamPolicy')).toHaveLength(0);
    });

    it('surfaces a race lost on every attempt as retryable, after re-reading each time', async () => {
      fake.failNext(4, 409, { only: 'setIamPolicy' });

      const error = await failureOf(provider.grant(spec()));

      expect(error.retryable).toBe(true);
      expect(fake.callsOf('getIamPolicy')).toHaveLength(4);
      expect(fake.writes(PROJECT)).toBe(0);
    });
  });

  describe('permanent failures', () => {
    it('names the missing permission when the bot may read but not write the policy', async () => {
      fake.seed(PROJECT, THEIRS);
      fake.denyPermission('resourcemanager.projects.setIamPolicy');

      const error = await failureOf(provider.grant(spec()));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('resourcemanager.projects.setIamPolicy');
      expect(error.message).toContain(PROJECT);
      expect(fake.callsOf('setIamPolicy')).toHaveLength(1);
      expect(fake.policy(PROJECT).bindings).toEqual(THEIRS);
    });

    it('names the read permission for a folder it may not read', async () => {
      fake.denyPermission('resourcemanager.folders.getIamPolicy');

      const error = await failureOf(provider.grant(spec({ target: { resource: 'folders/42', role: ROLE } })));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('resourcemanager.folders.getIamPolicy');
      expect(fake.callsOf('getIamPolicy')).toHaveLength(1);
    });

    it('passes on Google’s reason for an invalid argument such as an unknown member', async () => {
      fake.markMemberUnknown('user:ghost@example.com');

      const error = await failureOf(
        provider.grant(spec({ principal: { slackUserId: 'U0GHOST', identities: {}, email: 'ghost@example.com' } })),
      );

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('ghost@example.com does not exist');
      expect(error.message).toContain('principals');
      expect(fake.callsOf('setIamPolicy')).toHaveLength(1);
      expect(fake.policy(PROJECT).bindings).toEqual([]);
    });

    it('refuses without writing when the policy is at the 1,500-principal limit', async () => {
      const crowd = Array.from({ length: 1500 }, (_, i) => `user:person${i}@example.com`);
      fake.seed(PROJECT, [{ role: 'roles/viewer', members: crowd }]);

      const error = await failureOf(provider.grant(spec()));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('1500');
      expect(fake.callsOf('setIamPolicy')).toHaveLength(0);
    });

    it('grants up to 20 conditional bindings of one role to one person, then refuses, naming the limit', async () => {
      // Google counts the account, whatever case each binding spells it in.
      fake.seed(PROJECT, [...THEIRS, ...grantsOf(JANE, 19), ...grantsOf('user:alice@example.com', 20)]);
      await provider.grant(janeSpec());
      const writes = fake.writes(PROJECT);

      const error = await failureOf(provider.grant(janeSpec({ requestId: 'p3q4r5s6' })));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain(
        `user:jane.doe@example.com already holds 20 conditional bindings of ${ROLE} on ${PROJECT}`,
      );
      expect(error.message).toContain('wait for one of them to end');
      expect(fake.writes(PROJECT)).toBe(writes);
      expect(fake.callsOf('setIamPolicy')).toHaveLength(1);
      // Another role for her is another count.
      await provider.grant(janeSpec({ requestId: 'p3q4r5s6', target: { resource: PROJECT, role: PUBSUB } }));
      expect(fake.writes(PROJECT)).toBe(writes + 1);
    });

    it('grants up to 100 conditional bindings in one allow policy, then refuses, naming the limit', async () => {
      // THEIRS holds one conditional binding: with these, 99.
      const crowd = Array.from({ length: 98 }, (_, i) => ourBinding(`old${i}`, EXPIRY, `user:person${i}@example.com`));
      fake.seed(PROJECT, [...THEIRS, ...crowd]);
      await provider.grant(spec());
      const writes = fake.writes(PROJECT);

      const error = await failureOf(provider.grant(janeSpec()));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`The allow policy of ${PROJECT} already holds 100 conditional role bindings`);
      expect(error.message).toContain('wait for some grants');
      expect(fake.writes(PROJECT)).toBe(writes);
    });

    it('refuses a malformed target without calling Google', async () => {
      const error = await failureOf(provider.grant(spec({ target: { resource: PROJECT, role: 'roles/owner' } })));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('basic role');
      expect(fake.calls).toHaveLength(0);
    });
  });

  describe('the fake Resource Manager, spoken to directly', () => {
    let client: ProjectsClient;
    beforeAll(() => {
      client = new ProjectsClient({ fallback: true, apiEndpoint: '127.0.0.1', port: fake.port, protocol: 'http' });
    });
    afterAll(async () => {
      await client.close();
    });

    async function write(bindings: FakeBinding[]): Promise<unknown> {
      const [read] = await client.getIamPolicy({ resource: PROJECT, options: { requestedPolicyVersion: 3 } });
      return client.setIamPolicy({ resource: PROJECT, policy: { version: 3, etag: read.etag ?? '', bindings } });
    }

    it.each<[string, FakeBinding[], RegExp]>([
      [
        'a 21st conditional binding of one role for one principal',
        [...grantsOf(JANE, 20), ourBinding('extra', LATER, 'user:jane.doe@example.com')],
        /at most 20 role bindings with the same role and the same principal/,
      ],
      [
        'a 101st conditional binding in the policy',
        Array.from({ length: 101 }, (_, i) => ourBinding(`r${i}`, EXPIRY, `user:person${i}@example.com`)),
        /101 conditional role bindings: an allow policy can include at most 100/,
      ],
      [
        'a 1,501st principal',
        [{ role: PUBSUB, members: Array.from({ length: 1501 }, (_, i) => `user:person${i}@example.com`) }],
        /The number of members in the policy \(1,501\) is larger than the maximum allowed size 1,500\./,
      ],
      [
        'one account in two spellings in one binding',
        [{ role: PUBSUB, members: [JANE, 'user:jane.doe@example.com'] }],
        /Request contains an invalid argument\./,
      ],
    ])('refuses %s with 400 INVALID_ARGUMENT, writing nothing', async (_what, bindings, message) => {
      const error = (await write(bindings).then(
        () => undefined,
        (reason: unknown) => reason,
      )) as { message?: string } | undefined;

      expect(error?.message).toMatch(message);
      expect(fake.callsOf('setIamPolicy').map((call) => call.status)).toEqual([400]);
      expect(fake.policy(PROJECT).bindings).toEqual([]);
    });

    it('stores and returns a known account in its own case, and an unknown one as sent', async () => {
      await write([{ role: PUBSUB, members: ['user:JANE.DOE@EXAMPLE.COM', 'group:platform-oncall@example.com'] }]);
      await write([...fake.policy(PROJECT).bindings, { role: ROLE, members: ['user:Someone.Unknown@example.com'] }]);

      const [read] = await client.getIamPolicy({ resource: PROJECT, options: { requestedPolicyVersion: 3 } });
      expect(read.bindings?.map((binding) => binding.members)).toEqual([
        [JANE, 'group:Platform-Oncall@example.com'],
        ['user:Someone.Unknown@example.com'],
      ]);
    });
  });

  describe('findGrants (the sweep)', () => {
    it('finds what grant made on a project and a folder, with request ID, expiry and description, reading each resource once', async () => {
      fake.seed(PROJECT, [...THEIRS, ...LOOK_ALIKES]);
      fake.seed(FOLDER, THEIRS);
      const granted = await provider.grant(spec());
      await provider.grant(
        spec({
          requestId: 'p3q4r5s6',
          roleId: 'folder-gce-admin',
          target: { resource: FOLDER, role: ROLE },
          principal: { slackUserId: 'U0BOB', identities: { gcp: 'group:oncall@example.com' } },
          expiresAt: Date.parse(LATER),
        }),
      );
      // A grant of a role no role in force names any more: still the bot's to find, with no role ID.
      fake.seed(PROJECT, [
        ...fake.policy(PROJECT).bindings,
        ourBinding('z9y8x7w6', LATER, 'user:carol@example.com', PUBSUB),
      ]);
      const readsBefore = fake.callsOf('getIamPolicy').length;

      const found = sorted(await provider.findGrants(ROLES));

      expect(found).toEqual([
        {
          requestId: 'k7m2xq9d',
          expiresAt: Date.parse(EXPIRY),
          description: `conditional binding jit-k7m2xq9d on ${PROJECT}: ${ROLE} for user:alice@example.com until ${EXPIRY}`,
          spec: {
            requestId: 'k7m2xq9d',
            roleId: 'gce-admin',
            target: { resource: PROJECT, role: ROLE },
            principal: { slackUserId: '', identities: { gcp: 'user:alice@example.com' } },
            expiresAt: Date.parse(EXPIRY),
            memo: granted.memo,
          },
        },
        {
          requestId: 'p3q4r5s6',
          expiresAt: Date.parse(LATER),
          description: `conditional binding jit-p3q4r5s6 on ${FOLDER}: ${ROLE} for group:oncall@example.com until ${LATER}`,
          spec: {
            requestId: 'p3q4r5s6',
            roleId: 'folder-gce-admin',
            target: { resource: FOLDER, role: ROLE },
            principal: { slackUserId: '', identities: { gcp: 'group:oncall@example.com' } },
            expiresAt: Date.parse(LATER),
            memo: { resource: FOLDER, role: ROLE, member: 'group:oncall@example.com', conditionTitle: 'jit-p3q4r5s6' },
          },
        },
        {
          requestId: 'z9y8x7w6',
          expiresAt: Date.parse(LATER),
          description: `conditional binding jit-z9y8x7w6 on ${PROJECT}: ${PUBSUB} for user:carol@example.com until ${LATER}`,
          spec: {
            requestId: 'z9y8x7w6',
            roleId: '',
            target: { resource: PROJECT, role: PUBSUB },
            principal: { slackUserId: '', identities: { gcp: 'user:carol@example.com' } },
            expiresAt: Date.parse(LATER),
            memo: { resource: PROJECT, role: PUBSUB, member: 'user:carol@example.com', conditionTitle: 'jit-z9y8x7w6' },
          },
        },
      ]);
      const reads = fake.callsOf('getIamPolicy').slice(readsBefore);
      expect(reads.map((call) => call.resource).sort()).toEqual([FOLDER, PROJECT]);
      for (const read of reads) expect(read.body).toEqual({ options: { requestedPolicyVersion: 3 } });
      expect(fake.callsOf('setIamPolicy')).toHaveLength(2);
      // The expiry was read back exactly: verify, which compares the whole expression, agrees.
      for (const grant of found) await expect(provider.verify(grant.spec)).resolves.toBe(true);
    });

    it('revoke(found.spec) removes exactly each found grant, and is safe once it is gone', async () => {
      fake.seed(PROJECT, [...THEIRS, ...LOOK_ALIKES]);
      fake.seed(FOLDER, THEIRS);
      await provider.grant(spec());
      await provider.grant(spec({ requestId: 'p3q4r5s6', target: { resource: FOLDER, role: ROLE } }));
      const found = await provider.findGrants(ROLES);
      expect(found).toHaveLength(2);

      for (const grant of found) await provider.revoke(grant.spec);

      expect(fake.policy(PROJECT).bindings).toEqual([...THEIRS, ...LOOK_ALIKES]);
      expect(fake.policy(FOLDER).bindings).toEqual(THEIRS);
      const writes = fake.callsOf('setIamPolicy').length;
      for (const grant of found) await provider.revoke(grant.spec);
      expect(fake.callsOf('setIamPolicy')).toHaveLength(writes);
      await expect(provider.findGrants(ROLES)).resolves.toEqual([]);
    });

    it('reports each member of a shared jit binding, and revoking one leaves the others', async () => {
      const shared: FakeBinding = {
        ...ourBinding('k7m2xq9d', EXPIRY),
        members: ['user:alice@example.com', 'group:oncall@example.com', 'serviceAccount:ci@p.iam.gserviceaccount.com'],
      };
      fake.seed(PROJECT, [...THEIRS, shared]);

      const found = await provider.findGrants(ROLES);

      expect(found.map((grant) => [grant.requestId, grant.spec.memo?.member])).toEqual([
        ['k7m2xq9d', 'user:alice@example.com'],
        ['k7m2xq9d', 'group:oncall@example.com'],
        ['k7m2xq9d', 'serviceAccount:ci@p.iam.gserviceaccount.com'],
      ]);

      await provider.revoke((found[1] as FoundGrant).spec);

      expect(fake.policy(PROJECT).bindings).toEqual([
        ...THEIRS,
        { ...shared, members: ['user:alice@example.com', 'serviceAccount:ci@p.iam.gserviceaccount.com'] },
      ]);
      expect((await provider.findGrants(ROLES)).map((grant) => grant.spec.memo?.member)).toEqual([
        'user:alice@example.com',
        'serviceAccount:ci@p.iam.gserviceaccount.com',
      ]);
    });

    it('reads expiries exactly, past or future, and reports a jit binding with an unreadable expression without one', async () => {
      const past = '2020-01-01T00:00:00.001Z';
      const unreadable = 'request.time < timestamp("2031-02-30T00:00:00Z")';
      const widened = `request.time < timestamp("${EXPIRY}") || request.time > timestamp("2000-01-01T00:00:00Z")`;
      fake.seed(PROJECT, [
        ourBinding('a1', past),
        ourBinding('a2', EXPIRY),
        {
          role: ROLE,
          members: ['user:alice@example.com'],
          condition: { title: 'jit-a3', expression: "request.time < timestamp('2031-05-01T14:00:00+02:00')" },
        },
        { role: ROLE, members: ['user:alice@example.com'], condition: { title: 'jit-a4', expression: unreadable } },
        { role: ROLE, members: ['user:alice@example.com'], condition: { title: 'jit-a5', expression: widened } },
      ]);

      const found = await provider.findGrants(ROLES);

      expect(found.map((grant) => [grant.requestId, grant.expiresAt])).toEqual([
        ['a1', Date.parse(past)],
        ['a2', Date.parse(EXPIRY)],
        ['a3', Date.parse(EXPIRY)],
        ['a4', undefined],
        ['a5', undefined],
      ]);
      const [, , , fourth, fifth] = found as [FoundGrant, FoundGrant, FoundGrant, FoundGrant, FoundGrant];
      expect(fourth).not.toHaveProperty('expiresAt');
      expect(fourth.description).toBe(
        `conditional binding jit-a4 on ${PROJECT}: ${ROLE} for user:alice@example.com, whose condition names no expiry the bot can read (${JSON.stringify(unreadable)})`,
      );
      expect(fifth.description).toContain('no expiry the bot can read');

      await provider.revoke(fourth.spec);
      await provider.revoke(fifth.spec);

      expect(fake.policy(PROJECT).bindings.map((binding) => binding.condition?.title)).toEqual([
        'jit-a1',
        'jit-a2',
        'jit-a3',
      ]);
    });

    it('never reports bindings the bot did not make, and writes nothing', async () => {
      const others: FakeBinding[] = [
        ...THEIRS,
        ...LOOK_ALIKES,
        // The bot's description under someone else's title, and the bot's role and member unconditioned.
        {
          ...ourBinding('k7m2xq9d', EXPIRY),
          condition: { ...ourBinding('k7m2xq9d', EXPIRY).condition, title: 'extended' },
        },
        { role: ROLE, members: ['user:alice@example.com'] },
      ];
      fake.seed(PROJECT, others);
      fake.seed(FOLDER, LOOK_ALIKES);

      await expect(provider.findGrants(ROLES)).resolves.toEqual([]);

      expect(fake.callsOf('setIamPolicy')).toHaveLength(0);
      expect(fake.policy(PROJECT).bindings).toEqual(others);
    });

    it('reads a resource several roles share once, and no resource no role names', async () => {
      const elsewhere = 'projects/not-in-the-policy';
      fake.seed(PROJECT, [ourBinding('k7m2xq9d', EXPIRY)]);
      fake.seed(elsewhere, [ourBinding('m5n6p7q8', EXPIRY)]);

      const found = await provider.findGrants([
        { roleId: 'gce-admin', target: { resource: PROJECT, role: ROLE } },
        { roleId: 'pubsub-viewer', target: { resource: PROJECT, role: PUBSUB } },
        { roleId: 'gce-admin-long', target: { resource: PROJECT, role: ROLE } },
      ]);

      expect(found.map((grant) => [grant.requestId, grant.spec.roleId])).toEqual([['k7m2xq9d', 'gce-admin']]);
      expect(fake.callsOf('getIamPolicy').map((call) => call.resource)).toEqual([PROJECT]);
    });

    it('reads nothing for no roles', async () => {
      await expect(provider.findGrants([])).resolves.toEqual([]);

      expect(fake.calls).toHaveLength(0);
      expect(provider.sweeps(spec())).toBe(false);
    });

    it('retries throttling within the sweep', async () => {
      fake.seed(PROJECT, [ourBinding('k7m2xq9d', EXPIRY)]);
      fake.failNext(1, 429, { only: 'getIamPolicy' });

      const found = await provider.findGrants(ROLES.slice(0, 1));

      expect(found.map((grant) => grant.requestId)).toEqual(['k7m2xq9d']);
      expect(fake.callsOf('getIamPolicy').map((call) => call.status)).toEqual([429, 200]);
    });

    it('reports what it could read when one resource fails, and logs that failure as a warning', async () => {
      fake.seed(PROJECT, [ourBinding('k7m2xq9d', EXPIRY)]);
      fake.seed(FOLDER, [ourBinding('p3q4r5s6', EXPIRY)]);
      fake.denyPermission('resourcemanager.folders.getIamPolicy');

      const found = await provider.findGrants(ROLES);

      expect(found.map((grant) => grant.requestId)).toEqual(['k7m2xq9d']);
      // A grant on the folder is not known to be missing: the sweep did not see the folder.
      expect(provider.sweeps(spec({ target: { resource: FOLDER, role: ROLE } }))).toBe(false);
      expect(provider.sweeps(spec())).toBe(true);
      expect(provider.sweeps({ ...spec({ target: {} }), memo: { resource: PROJECT, role: ROLE } })).toBe(true);
      const warnings = logLines
        .map((line) => JSON.parse(line) as { level: string; msg: string })
        .filter((line) => line.level === 'warn');
      expect(warnings.map((line) => line.msg)).toEqual([
        expect.stringMatching(/could not read folders\/123456789012.*resourcemanager\.folders\.getIamPolicy/),
      ]);
    });

    it('throws when it could read nothing: retryable while Google is unavailable', async () => {
      fake.failNext(20, 503);

      const error = await failureOf(provider.findGrants(ROLES));

      expect(error.retryable).toBe(true);
      expect(error.message).toContain('could read none of the 2');
      // Each resource was tried the usual four times, and no more.
      expect(fake.callsOf('getIamPolicy')).toHaveLength(8);
    });

    it('throws a non-retryable error naming the permission when the bot may read nothing', async () => {
      fake.denyPermission('resourcemanager.projects.getIamPolicy');

      const error = await failureOf(provider.findGrants(ROLES.slice(0, 1)));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`resourcemanager.projects.getIamPolicy on ${PROJECT}`);
    });

    it('skips a malformed target, reading the others', async () => {
      fake.seed(PROJECT, [ourBinding('k7m2xq9d', EXPIRY)]);

      const found = await provider.findGrants([
        { roleId: 'broken', target: { resource: 'projects/X', role: ROLE } },
        ...ROLES.slice(0, 1),
      ]);

      expect(found.map((grant) => grant.requestId)).toEqual(['k7m2xq9d']);
      expect(logLines.join('')).toContain('the target of role broken');
    });
  });
});
