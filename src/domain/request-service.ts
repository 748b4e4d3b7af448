/** The use cases people start from Slack, in one facade over the parts that own them (intake, decisions, …). */
import type { AccessRequest } from './access-request';
import type { DomainError } from './errors';
import type { Role } from './policy';
import { RequestAdmin } from './request-admin';
import type { RequestServiceDeps, RequestView } from './request-checks';
import { type ApprovalOutcome, type ClickContext, RequestDecisions } from './request-decisions';
import { type ExtensionInput, type ExtensionOptions, RequestExtensions } from './request-extensions';
import { type RequestAccessInput, RequestIntake } from './request-intake';
import { type RequestForm, RequestQueries } from './request-queries';
import { RequestWithdrawals } from './request-withdrawals';

export type { Origin, RequestServiceDeps, RequestView } from './request-checks';
export { type ApprovalOutcome, type ClickContext, MAX_DENIAL_REASON_LENGTH } from './request-decisions';
export type { ExtensionInput, ExtensionOptions } from './request-extensions';
export { MAX_REASON_LENGTH, type RequestAccessInput } from './request-intake';
export type { RequestForm } from './request-queries';

/**
 * The things people do with requests, each checked against the policy in force and committed atomically. Each
 * method hands over to the part that owns it; callers need only this class.
 */
export class RequestService {
  private readonly intake: RequestIntake;
  private readonly extensions: RequestExtensions;
  private readonly decisions: RequestDecisions;
  private readonly withdrawals: RequestWithdrawals;
  private readonly admin: RequestAdmin;
  private readonly queries: RequestQueries;

  constructor(deps: RequestServiceDeps) {
    this.intake = new RequestIntake(deps);
    this.extensions = new RequestExtensions(deps);
    this.decisions = new RequestDecisions(deps);
    this.withdrawals = new RequestWithdrawals(deps);
    this.admin = new RequestAdmin(deps);
    this.queries = new RequestQueries(deps);
  }

  /** Records a refusal in the audit trail: who tried what, and why it was refused. */
  recordRefusal(actorId: string, action: string, error: DomainError): Promise<void> {
    return this.admin.recordRefusal(actorId, action, error);
  }

  /** Roles the person may request, in policy order. */
  requestableRoles(userId: string): Promise<Role[]> {
    return this.queries.requestableRoles(userId);
  }

  requestForm(userId: string): Promise<RequestForm> {
    return this.queries.requestForm(userId);
  }

  /** Files a request; auto-approving roles go straight to granting. Nothing is stored if any check fails. */
  requestAccess(input: RequestAccessInput): Promise<{ request: AccessRequest; role: Role }> {
    return this.intake.requestAccess(input);
  }

  /** The limits of an extension of this person's active grant; refuses when it cannot be extended. */
  extensionOptions(requestId: string, actorId: string): Promise<ExtensionOptions> {
    return this.extensions.extensionOptions(requestId, actorId);
  }

  /** Asks for more time on an active grant; see {@link RequestExtensions.requestExtension}. */
  requestExtension(input: ExtensionInput): Promise<{ request: AccessRequest; role: Role }> {
    return this.extensions.requestExtension(input);
  }

  /**
   * Records one approver's yes, optionally for a shorter `durationMs`; the request is approved once the role's
   * number of distinct approvals is met, for the shortest duration any approver chose.
   */
  approve(requestId: string, actorId: string, click: ClickContext = {}, durationMs?: number): Promise<ApprovalOutcome> {
    return this.decisions.approve(requestId, actorId, click, durationMs);
  }

  deny(requestId: string, actorId: string, click: ClickContext = {}, reason = ''): Promise<AccessRequest> {
    return this.decisions.deny(requestId, actorId, click, reason);
  }

  /** The requester withdraws a request nobody has decided yet. */
  cancel(requestId: string, actorId: string): Promise<AccessRequest> {
    return this.withdrawals.cancel(requestId, actorId);
  }

  /** Ends an active grant before its expiry; see {@link RequestWithdrawals.revoke}. */
  revoke(requestId: string, actorId: string): Promise<AccessRequest> {
    return this.withdrawals.revoke(requestId, actorId);
  }

  /** A request as its requester or the role's approvers may see it. */
  status(requestId: string, actorId: string): Promise<RequestView> {
    return this.queries.status(requestId, actorId);
  }

  /** The person's pending, approved and active requests, newest first. */
  openRequests(userId: string): Promise<AccessRequest[]> {
    return this.queries.openRequests(userId);
  }

  /** An admin asks for a failing revocation to be tried again now instead of after its backoff. */
  retryRevocation(requestId: string, actorId: string): Promise<AccessRequest> {
    return this.admin.retryRevocation(requestId, actorId);
  }

  /** An admin records that they reviewed a break-glass grant after the fact. */
  reviewBreakGlass(requestId: string, actorId: string): Promise<AccessRequest> {
    return this.admin.reviewBreakGlass(requestId, actorId);
  }

  /** Checks, without changing anything, that the actor may decide the request now (before a Deny reason is typed). */
  checkMayDecide(
    requestId: string,
    actorId: string,
    action: 'approve' | 'deny',
    click: ClickContext,
  ): Promise<AccessRequest> {
    return this.decisions.checkMayDecide(requestId, actorId, action, click);
  }

  /** Asks for the approval message to be redrawn from the stored state (after a click on a stale message). */
  refreshApprovalMessage(requestId: string): Promise<void> {
    return this.decisions.refreshApprovalMessage(requestId);
  }
}
