import { Writable } from 'node:stream';
import { CloudProviderError } from '../../../src/domain/errors';
import type { GrantSpec } from '../../../src/domain/ports';
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

    it('refuses a malformed target without calling Google', async () => {
      const error = await failureOf(provider.grant(spec({ target: { resource: PROJECT, role: 'roles/owner' } })));

      expect(error.retryable).toBe(false);
      expect(error.message).toContain('basic role');
      expect(fake.calls).toHaveLength(0);
    });
  });
});
