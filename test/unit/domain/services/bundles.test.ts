import { SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import type { AuditEntry } from '../../../../src/domain/audit-event';
import { bundleOwnerId, bundlePartId } from '../../../../src/domain/bundle';
import { CloudProviderError } from '../../../../src/domain/errors';
import { parseStoredRequest } from '../../../../src/store/stored-request';
import { WORLD_START } from '../../../support/in-memory';
import { expectRefusal, HOUR, MINUTE, POLICY, type ServiceWorld, serviceWorld, transitions } from './service-world';

/** The service world's policy plus roles with their own approvers and channels, to bundle. */
const BUNDLE_POLICY = `${POLICY}
  - id: db-reader
    description: Read the database
    provider: dryrun
    maxDuration: 2h
    defaultDuration: 30m
    approvalChannel: C0DBA
    approvers:
      users: [U0SEC]
  - id: logs-reader
    description: Read the logs
    provider: dryrun
    autoApprove: true
`;

function world(): ServiceWorld {
  return serviceWorld({ policy: BUNDLE_POLICY });
}

const fileBundle = (w: ServiceWorld, bundle: string[], overrides: Record<string, string> = {}) =>
  w.file({ roleId: bundle[0] ?? '', bundle, ...overrides });

describe('bundles: filing', () => {
  it('keeps the first role as roleId and every role in bundle; the duration defaults to the shortest default', async () => {
    const w = world();
    const request = await fileBundle(w, ['sandbox-admin', 'db-reader']);
    expect(request).toMatchObject({
      roleId: 'sandbox-admin',
      bundle: ['sandbox-admin', 'db-reader'],
      state: 'pending',
      durationMs: 30 * MINUTE,
      approvals: [],
    });
    expect(await transitions(w, request.id)).toEqual([
      'none→pending by U0ALICE: bundle of sandbox-admin, db-reader: debugging INC-42',
    ]);
  });

  it('refuses a duration over the shortest role maximum, naming that role', async () => {
    const w = world();
    await expectRefusal(
      w,
      () => fileBundle(w, ['sandbox-admin', 'db-reader'], { duration: '3h' }),
      'duration_too_long',
      {
        roleId: 'db-reader',
        input: '3h',
        limit: '2h',
        durationMs: 3 * HOUR,
        maxMs: 2 * HOUR,
      },
    );
  });

  it('refuses the whole bundle when one role may not be requested, naming it', async () => {
    const w = world();
    const error = await expectRefusal(w, () => fileBundle(w, ['sandbox-admin', 'restricted']), 'role_not_requestable');
    expect(error.details).toMatchObject({ roleId: 'restricted' });
    await expectRefusal(w, () => fileBundle(w, ['sandbox-admin', 'nope']), 'unknown_role');
  });

  it('refuses break-glass roles in a bundle', async () => {
    const w = world();
    await expectRefusal(w, () => fileBundle(w, ['sandbox-admin', 'emergency']), 'invalid_bundle', {
      problem: 'break-glass',
      roleIds: ['sandbox-admin', 'emergency'],
      roleId: 'emergency',
    });
  });

  it('approves at once only when every role is auto-approved', async () => {
    const w = world();
    const both = await fileBundle(w, ['staging-deployer', 'logs-reader']);
    expect(both.state).toBe('approved');

    // The roles waiting for approvers come first, so the approval message goes to a channel that has them.
    const mixed = await fileBundle(w, ['logs-reader', 'sandbox-admin']);
    expect(mixed).toMatchObject({
      state: 'pending',
      roleId: 'sandbox-admin',
      bundle: ['sandbox-admin', 'logs-reader'],
    });
    expect(mixed.approvals).toEqual([{ userId: SYSTEM_ACTORS.autoApprove, at: WORLD_START, roles: ['logs-reader'] }]);
    const outcome = await w.requests.approve(mixed.id, 'U0LEAD', { fromAppHome: true });
    expect(outcome).toMatchObject({ approvalsMissing: 0, request: { state: 'approved' } });
  });
});

describe('bundles: approvals', () => {
  it("counts an approver's yes only for the roles they approve; approved once every role has its approvals", async () => {
    const w = world();
    const request = await fileBundle(w, ['sandbox-admin', 'db-reader']);
    const first = await w.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
    expect(first).toMatchObject({ approvalsMissing: 1, request: { state: 'pending' } });
    expect(first.request.approvals).toEqual([{ userId: 'U0LEAD', at: WORLD_START, roles: ['sandbox-admin'] }]);

    const second = await w.requests.approve(request.id, 'U0SEC', { fromAppHome: true });
    expect(second).toMatchObject({ approvalsMissing: 0, request: { state: 'approved', decidedBy: 'U0SEC' } });
    expect(w.scheduler.find(`grant-${request.id}`)).toBeDefined();
  });

  it('a high-risk role in a bundle still needs its two approvals', async () => {
    const w = world();
    const request = await fileBundle(w, ['db-reader', 'prod-admin']);
    // U0SEC approves both roles: one yes for each.
    expect(await w.requests.approve(request.id, 'U0SEC', { fromAppHome: true })).toMatchObject({ approvalsMissing: 1 });
    expect(await w.requests.approve(request.id, 'U0LEAD', { fromAppHome: true })).toMatchObject({
      approvalsMissing: 0,
      request: { state: 'approved' },
    });
  });

  it('refuses someone who approves none of the roles', async () => {
    const w = world();
    const request = await fileBundle(w, ['sandbox-admin', 'db-reader']);
    await expectRefusal(w, () => w.requests.approve(request.id, 'U0BOB', { fromAppHome: true }), 'not_allowed');
  });
});

/** A bundle of sandbox-admin and db-reader, approved by both roles' approvers. */
async function approvedBundle(w: ServiceWorld, bundle = ['sandbox-admin', 'db-reader']) {
  const request = await fileBundle(w, bundle, { duration: '1h' });
  await w.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
  await w.requests.approve(request.id, 'U0SEC', { fromAppHome: true });
  return w.stored(request.id);
}

describe('bundles: granting and ending', () => {
  it('grants every role with one expiry, each its own artefact, and ends them all at expiry', async () => {
    const w = world();
    const request = await approvedBundle(w);
    const outcome = await w.lifecycle.activate(request.id);
    expect(outcome.kind).toBe('done');
    const expiresAt = WORLD_START + HOUR;
    const active = await w.stored(request.id);
    expect(active).toMatchObject({ state: 'active', expiresAt, grant: { provider: 'dryrun' } });
    expect(Object.keys(active.bundleGrants ?? {})).toEqual(['db-reader']);
    expect(
      w
        .cloud()
        .grants()
        .map((grant) => [grant.requestId, grant.roleId, grant.expiresAt]),
    ).toEqual([
      [request.id, 'sandbox-admin', expiresAt],
      [bundlePartId(request.id, 1), 'db-reader', expiresAt],
    ]);

    await w.scheduler.advanceTo(expiresAt, w.handlers);
    expect(await w.stored(request.id)).toMatchObject({ state: 'expired' });
    expect(w.cloud().grants()).toEqual([]);
  });

  it('revokes every role when the bundle is ended early', async () => {
    const w = world();
    const request = await approvedBundle(w);
    await w.lifecycle.activate(request.id);
    await w.requests.revoke(request.id, 'U0ALICE');
    await w.scheduler.runDue(w.handlers);
    expect(await w.stored(request.id)).toMatchObject({ state: 'revoked' });
    expect(w.cloud().grants()).toEqual([]);
  });

  it("an approver of any of the bundle's roles may see and end it; someone else may not", async () => {
    const w = world();
    const request = await approvedBundle(w);
    await w.lifecycle.activate(request.id);
    // U0SEC approves db-reader only, the bundle's second role.
    await expect(w.requests.status(request.id, 'U0SEC')).resolves.toMatchObject({ request: { id: request.id } });
    await expect(w.requests.revoke(request.id, 'U0STRANGER')).rejects.toMatchObject({ code: 'not_allowed' });
    await w.requests.revoke(request.id, 'U0SEC');
    await w.scheduler.runDue(w.handlers);
    expect(await w.stored(request.id)).toMatchObject({ state: 'revoked', endedBy: 'U0SEC' });
  });

  it('rolls back what was granted when one role fails, each rollback audited, and fails the request', async () => {
    const w = world();
    const request = await fileBundle(w, ['sandbox-admin', 'broken'], { duration: '1h' });
    await w.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
    const error = await w.lifecycle.activate(request.id).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CloudProviderError);
    expect(w.cloud().grants()).toEqual([]);
    const notes: AuditEntry[] = [];
    for await (const entry of w.auditLog.entries()) if (entry.type === 'rollback') notes.push(entry);
    expect(notes).toEqual([
      expect.objectContaining({
        requestId: request.id,
        actor: SYSTEM_ACTORS.grantJob,
        reason:
          'took back sandbox-admin (granted through dryrun): the bundle is granted whole or not at all, and broken could not be granted: the sandbox account is closed',
      }),
    ]);
    expect(await w.stored(request.id)).toMatchObject({ state: 'approved' });

    await w.lifecycle.failGrant(request.id, (error as Error).message);
    expect(await w.stored(request.id)).toMatchObject({ state: 'failed' });
    expect(w.cloud().grants()).toEqual([]);
  });

  it('extends the whole bundle: every artefact gets the later expiry', async () => {
    const w = world();
    const request = await approvedBundle(w);
    await w.lifecycle.activate(request.id);
    const { request: extension } = await w.requests.requestExtension({
      requesterId: 'U0ALICE',
      teamId: 'T0HOME',
      requestId: request.id,
      duration: '30m',
    });
    expect(extension).toMatchObject({ bundle: ['sandbox-admin', 'db-reader'], state: 'pending' });
    await w.requests.approve(extension.id, 'U0LEAD', { fromAppHome: true });
    await w.requests.approve(extension.id, 'U0SEC', { fromAppHome: true });
    await w.lifecycle.activate(extension.id);
    const expiresAt = WORLD_START + 90 * MINUTE;
    expect(await w.stored(request.id)).toMatchObject({ state: 'active', expiresAt });
    expect(
      w
        .cloud()
        .grants()
        .map((grant) => grant.expiresAt),
    ).toEqual([expiresAt, expiresAt]);
  });

  it('the reconciler knows a bundle part artefact as its request (no drift while active)', async () => {
    const w = world();
    const request = await approvedBundle(w);
    await w.lifecycle.activate(request.id);
    w.clock.advance(10 * MINUTE);
    const report = await w.reconciler.reconcile();
    expect(report).toMatchObject({ found: 2, drift: 0, revokedFromCloud: 0 });
  });
});

describe('bundles: data model', () => {
  it('reads part IDs back to their request', () => {
    expect(bundlePartId('k7m2xq9d', 0)).toBe('k7m2xq9d');
    expect(bundleOwnerId(bundlePartId('k7m2xq9d', 2))).toEqual({ requestId: 'k7m2xq9d', index: 2 });
    expect(bundleOwnerId('k7m2xq9d')).toBeUndefined();
  });

  it('stores bundles and per-role approvals, and still reads requests stored before bundles', async () => {
    const w = world();
    const request = await approvedBundle(w);
    expect(parseStoredRequest(JSON.stringify(request))).toEqual(request);
    const { bundle: _bundle, ...old } = request;
    const oldShape = { ...old, approvals: old.approvals.map(({ roles: _roles, ...approval }) => approval) };
    expect(parseStoredRequest(JSON.stringify(oldShape))).toEqual(oldShape);
  });
});
