/** The Google Cloud provider: time-limited access as conditional role bindings in allow policies. */
import { parseResourceManagerEndpoint } from '../../config/resource-manager-endpoint';
import { CloudProviderError } from '../../domain/errors';
import type {
  CloudProvider,
  FoundGrant,
  GrantOutcome,
  GrantPrincipal,
  GrantSpec,
  ResourceTurns,
  RoleTargetRef,
} from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { inProcessPacing } from '../in-process-pacer';
import { InProcessTurns } from '../in-process-turns';
import { DEFAULT_CALL_RETRY, type ProviderPacing, providerError, retryTransient } from '../retry';
import { type CallOptions, type Policy, ResourceManagerClients } from './crm-clients';
import { classifyFailure, describeFailure, isPolicyRefusal, truncate, turnFailure } from './gcp-errors';
import { GcpGrantSweep } from './gcp-sweep';
import { type GcpTarget, parseGcpTarget } from './gcp-target';
import {
  findJitBinding,
  type JitBindingKey,
  jitCondition,
  jitConditionTitle,
  withJitBinding,
  withoutJitMember,
} from './iam-policy-edit';
import { assertWithinPolicyLimits } from './iam-policy-limits';
import { type PolicyEditBatch, PolicyEditBatcher } from './policy-edit-batcher';
import { gcpMember } from './principal-member';
import { SharedPolicyReads } from './shared-policy-reads';

export { gcpMember } from './principal-member';

export interface GcpProviderOptions {
  logger: Logger;
  /**
   * `host:port` (https), `https://host:port`, or `http://host:port` for a local endpoint such as an emulator;
   * Google's public endpoint when absent.
   */
  resourceManagerEndpoint?: string;
  /**
   * Turns on each allow policy shared by every bot process, so their batched read-modify-writes do not race on the
   * etag; turns within this process when absent.
   */
  turns?: ResourceTurns;
  /**
   * The pace of Resource Manager calls, shared by every bot process (the registry passes the Redis pacer and the
   * policy's `settings.cloudRates`); default: paced within this process at the documented default rate.
   */
  pacing?: ProviderPacing;
}

/** Whose edit of an allow policy a batch carries, for its caller's log lines. */
interface EditOwner {
  requestId: string;
  action: 'grant' | 'revoke';
}

/**
 * Our retries: few and short, so a throttled grant gives its worker back soon and the job's own backoff takes
 * over. They cover a whole read-modify-write, so a lost etag race re-reads before writing again.
 */
const RETRY = DEFAULT_CALL_RETRY;

/**
 * Per call: no gax retries (its defaults retry UNAVAILABLE reads for up to ten minutes and would multiply ours;
 * retryTransient owns backoff), and a bound on each call so a hung connection cannot hold a worker.
 */
const CALL_OPTIONS: CallOptions = { retry: null, timeout: 30_000 };

/**
 * Grants a Google Cloud role for a limited time as one conditional binding in the allow policy of a project,
 * folder or organization: titled `jit-<requestId>`, holding the requester, and conditioned on
 * `request.time < timestamp("<expiry>")`, so IAM itself stops honouring it at expiry even if the bot is down.
 * Every write carries the etag it read and policy version 3, so nobody else's binding or condition is lost; a
 * concurrent writer makes the bot re-read and try again. Grants and revocations due together on one resource are
 * written as one read-modify-write, in turns every process of the bot shares (docs/clouds/gcp.md, "Coalesced writes").
 */
export class GcpProvider implements CloudProvider {
  readonly name = 'gcp';
  readonly identifiesPeopleByEmail = true;
  /**
   * Revocations wait in their allow policy's batch, which becomes one read-modify-write: given 200 at a time, a
   * sweep of 1,000 grants over 10 projects made five writes per project, one per wave. The cap bounds what one
   * process holds at once; the calls themselves are paced by `settings.cloudRates`.
   */
  readonly revocationsAtOnce = 5_000;

  private readonly logger: Logger;
  private readonly pacing: ProviderPacing;
  private readonly clients: ResourceManagerClients;
  private readonly sweep: GcpGrantSweep;
  /** Grants and revocations due together on one resource: one read-modify-write per batch, see policy-edit-batcher. */
  private readonly edits: PolicyEditBatcher<Policy, EditOwner>;
  private readonly reads = new SharedPolicyReads<Policy>();

  /** @throws Error when `resourceManagerEndpoint` is not a usable endpoint. */
  constructor(options: GcpProviderOptions) {
    this.logger = options.logger;
    this.pacing = options.pacing ?? inProcessPacing();
    this.clients = new ResourceManagerClients(
      options.resourceManagerEndpoint === undefined
        ? undefined
        : parseResourceManagerEndpoint(options.resourceManagerEndpoint),
    );
    this.sweep = new GcpGrantSweep(
      (resource) => this.run(undefined, resource, 'sweep', () => this.readPolicy(resource)),
      this.logger,
    );
    this.edits = new PolicyEditBatcher<Policy, EditOwner>({
      turns: options.turns ?? new InProcessTurns(),
      turnKey: (resource) => `gcp-policy:${resource}`,
      write: (resource, batch) => this.writeBatch(resource, batch),
      refusal: (resource, owner, error) => this.editRefused(resource, owner, error),
      batchFailure: (resource, owners, error) => this.batchFailed(resource, owners, error),
      mayBeOneEditsFault: (error) => isPolicyRefusal(error),
      turnFailure: (resource, owners, error) => this.turnFailed(resource, owners, error),
    });
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = parseGcpTarget(spec.target);
    const member = gcpMember(spec.principal, this.name);
    const condition = jitCondition(spec.requestId, spec.expiresAt);
    const owner: EditOwner = { requestId: spec.requestId, action: 'grant' };
    const written = await this.edits.edit(target.resource, owner, (policy) => {
      const edit = withJitBinding(policy, { role: target.role, member }, condition);
      if (edit.changed) assertWithinPolicyLimits(this.name, edit.policy, target.resource, target.role, member);
      return edit;
    });
    this.logger.info(
      { provider: this.name, requestId: spec.requestId, resource: target.resource, role: target.role, member, written },
      written
        ? `gcp: granted ${target.role} on ${target.resource} to ${member} until ${new Date(spec.expiresAt).toISOString()}`
        : `gcp: ${member} already holds ${target.role} on ${target.resource} for ${spec.requestId} with this expiry`,
    );
    return {
      memo: { resource: target.resource, role: target.role, member, conditionTitle: condition.title },
      instructions: grantInstructions(target),
    };
  }

  async revoke(spec: GrantSpec): Promise<void> {
    const { resource, role } = this.artefactTarget(spec);
    const member = spec.memo?.member ?? this.memberIfKnown(spec.principal);
    if (member === undefined) {
      // No memo and no identity: no grant of this request can exist (granting needs the same identity), which
      // is the cleanup after a grant that failed for exactly that reason.
      this.logger.info(
        { provider: this.name, requestId: spec.requestId, resource, role },
        `gcp: no Google identity for ${spec.principal.slackUserId}; nothing of ${spec.requestId} to revoke`,
      );
      return;
    }
    const key: JitBindingKey = { role, member, title: jitConditionTitle(spec.requestId) };
    const owner: EditOwner = { requestId: spec.requestId, action: 'revoke' };
    const written = await this.edits.edit(resource, owner, (policy) => withoutJitMember(policy, key));
    this.logger.info(
      { provider: this.name, requestId: spec.requestId, resource, role, member, alreadyGone: !written },
      written
        ? `gcp: revoked ${role} on ${resource} from ${member}`
        : `gcp: nothing of ${spec.requestId} left on ${resource}; no write`,
    );
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    const { resource, role } = this.artefactTarget(spec);
    const member = spec.memo?.member ?? gcpMember(spec.principal, this.name);
    // Read-backs of many grants on one resource (after one coalesced write) share one call.
    const policy = await this.reads.read(resource, () =>
      this.run(spec.requestId, resource, 'verify', () => this.readPolicy(resource)),
    );
    const binding = findJitBinding(policy, { role, member, title: jitConditionTitle(spec.requestId) });
    const present = binding?.condition?.expression === jitCondition(spec.requestId, spec.expiresAt).expression;
    this.logger.debug(
      { provider: this.name, requestId: spec.requestId, resource, role, member, present },
      'gcp: verified',
    );
    return present;
  }

  /** The sweep: every `jit-<requestId>` binding member; see {@link GcpGrantSweep.findGrants}. */
  findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    return this.sweep.findGrants(roles);
  }

  /** True when the last sweep read this grant's allow policy; see {@link GcpGrantSweep.sweeps}. */
  sweeps(spec: GrantSpec): boolean {
    return this.sweep.sweeps(spec);
  }

  /** Closes the clients' connections; the provider builds new ones if used again. */
  close(): Promise<void> {
    return this.clients.close();
  }

  /**
   * One read-modify-write for a batch of edits: reads the policy at version 3, applies every edit, and writes the
   * result back once with the etag it read, retrying the whole cycle (re-read, re-apply, plus edits queued
   * meanwhile) when someone else wrote in between.
   */
  private async writeBatch(resource: string, batch: PolicyEditBatch<Policy, EditOwner>): Promise<void> {
    const [first, ...rest] = batch.metas;
    // A batch of one logs as its request did before batching; a larger one under no single request.
    const requestId = rest.length === 0 ? first?.requestId : undefined;
    const action = first?.action ?? 'revoke';
    await this.run(requestId, resource, action, async (stage) => {
      stage.current = 'read';
      const read = await this.readPolicy(resource);
      const next = batch.applyTo(read);
      if (!next.changed) return;
      if (read.etag === undefined || read.etag === null || read.etag.length === 0) {
        // Writing without an etag could silently drop someone else's conditions: refuse rather than guess.
        throw providerError(this.name, `Google Cloud returned the policy of ${resource} without an etag`, true);
      }
      stage.current = 'write';
      try {
        await this.clients
          .for(resource)
          .setIamPolicy({ resource, policy: { ...next.policy, version: 3, etag: read.etag } }, CALL_OPTIONS);
      } finally {
        this.reads.wrote(resource);
      }
    });
  }

  /** A batch's read or write failed for good: each of its edits fails with it, logged as its own. */
  private batchFailed(resource: string, owners: EditOwner[], error: unknown): unknown {
    // A batch of one was logged by run(), under its request, as before batching.
    if (owners.length > 1) {
      for (const owner of owners) {
        this.logger.info(
          { provider: this.name, ...owner, resource, batch: owners.length },
          `gcp: ${owner.action} on ${resource} failed with the ${owners.length} edits written with it`,
        );
      }
    }
    return error;
  }

  /** An edit its batch left out (a limit it would break): its caller's failure, logged as its own. */
  private editRefused(resource: string, owner: EditOwner, error: unknown): Error {
    const refused = classifyFailure(this.name, error, resource, 'write');
    this.logger.info(
      { provider: this.name, ...owner, resource, retryable: refused.retryable },
      `gcp: ${owner.action} on ${resource} failed: ${refused.message}`,
    );
    return refused;
  }

  /** No turn on the policy could be had: nothing was written; each caller retries later. */
  private turnFailed(resource: string, owners: EditOwner[], error: unknown): Error {
    const failure = turnFailure(this.name, resource, error);
    for (const owner of owners) {
      this.logger.info({ provider: this.name, ...owner, resource }, `gcp: ${owner.action} failed: ${failure.message}`);
    }
    return failure;
  }

  private async readPolicy(resource: string): Promise<Policy> {
    const [policy] = await this.clients
      .for(resource)
      .getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } }, CALL_OPTIONS);
    return policy;
  }

  /** Runs `operation` with our retries and turns what still fails into a CloudProviderError people can act on. */
  private async run<T>(
    /** Undefined for the sweep, which reads on behalf of no one request. */
    requestId: string | undefined,
    resource: string,
    action: 'grant' | 'revoke' | 'verify' | 'sweep',
    operation: (stage: { current: 'read' | 'write' }) => Promise<T>,
  ): Promise<T> {
    const stage: { current: 'read' | 'write' } = { current: 'read' };
    const { pacer, rateOf, maxThrottledMs } = this.pacing;
    try {
      return await retryTransient(() => operation(stage), {
        ...RETRY,
        isTransient: (error) => !(error instanceof CloudProviderError) && describeFailure(error).transient,
        // One slot per try of the whole operation: at most one policy read and one write, each within the quota
        // the rate is set to (one key for the bot: Resource Manager counts per API consumer project).
        pacing: {
          pacer,
          key: 'gcp-resource-manager',
          rate: () => rateOf('gcp-resource-manager'),
          isThrottled: (error) => {
            if (error instanceof CloudProviderError) return false;
            const failure = describeFailure(error);
            return failure.transient && (failure.httpStatus === 429 || failure.rpcStatus === 'RESOURCE_EXHAUSTED');
          },
          ...(maxThrottledMs !== undefined && { maxThrottledMs }),
          onThrottled: (error, details) =>
            this.logger.info(
              { provider: this.name, requestId, resource, action, failure: describeFailure(error).summary, ...details },
              `gcp: ${action} on ${resource} was throttled; every bot process slows down and it is tried again`,
            ),
          onPacerError: (error) =>
            this.logger.warn(
              { provider: this.name, requestId, resource, action, err: error },
              `gcp: the shared pace of Resource Manager calls could not be read; ${action} on ${resource} goes unpaced`,
            ),
        },
        onRetry: (error, attempt, delayMs) =>
          this.logger.info(
            {
              provider: this.name,
              requestId,
              resource,
              action,
              attempt,
              delayMs,
              failure: describeFailure(error).summary,
            },
            `gcp: ${action} on ${resource} failed transiently; retrying`,
          ),
      });
    } catch (error) {
      const classified = classifyFailure(this.name, error, resource, stage.current);
      const failure = describeFailure(error);
      this.logger.info(
        {
          provider: this.name,
          requestId,
          resource,
          action,
          retryable: classified.retryable,
          failure: failure.summary,
          detail: truncate(failure.message, 500),
          // The raw error (with its request body, the whole policy) only when Google did not say what went wrong.
          ...(failure.httpStatus === undefined && failure.rpcStatus === undefined && { err: error }),
        },
        `gcp: ${action} on ${resource} failed: ${classified.message}`,
      );
      throw classified;
    }
  }

  private memberIfKnown(principal: GrantPrincipal): string | undefined {
    try {
      return gcpMember(principal, this.name);
    } catch {
      return undefined;
    }
  }

  /** The resource and role the grant used (from its memo), else the role's target as the policy says now. */
  private artefactTarget(spec: GrantSpec): { resource: string; role: string } {
    const { resource, role } = spec.memo ?? {};
    if (resource !== undefined && role !== undefined) return { resource, role };
    return parseGcpTarget(spec.target);
  }
}

/**
 * Builds the provider from the environment (`GCP_RESOURCE_MANAGER_ENDPOINT`), with what the running bot shares
 * between its processes (`shared`: the turns on each policy, …).
 */
export function createGcpProvider(
  logger: Logger,
  env: { GCP_RESOURCE_MANAGER_ENDPOINT?: string },
  shared: Omit<GcpProviderOptions, 'logger' | 'resourceManagerEndpoint'> = {},
): GcpProvider {
  const endpoint = env.GCP_RESOURCE_MANAGER_ENDPOINT?.trim();
  return new GcpProvider({ ...shared, logger, ...(endpoint ? { resourceManagerEndpoint: endpoint } : {}) });
}

function grantInstructions(target: GcpTarget): string {
  const project = /^projects\/(.+)$/.exec(target.resource)?.[1];
  const console = project ? ` Console: https://console.cloud.google.com/home/dashboard?project=${project}` : '';
  return `You have \`${target.role}\` on \`${target.resource}\`. IAM changes usually take effect within two minutes, occasionally up to seven.${console}`;
}
