import type { AccessRequest, MessageRef } from '../../../src/domain/access-request';
import type { Role } from '../../../src/domain/policy';
import type {
  Alert,
  Alerter,
  GrantCheckpoints,
  HomeViewers,
  IrrevocableGrants,
  NoticeKind,
  Notifier,
  PersonalOverview,
} from '../../../src/domain/ports';

/** An `Alerter` that keeps every alert, in order. */
export class RecordingAlerter implements Alerter {
  readonly alerts: Alert[] = [];

  async alert(alert: Alert): Promise<void> {
    this.alerts.push({ ...alert });
  }
}

/** One call a `RecordingNotifier` received. */
export type NotifierCall =
  | { method: 'showApprovalMessage'; request: AccessRequest; role: Role | undefined; existing: MessageRef | undefined }
  | { method: 'replyInThread'; message: MessageRef; kind: NoticeKind; request: AccessRequest }
  | { method: 'tellRequester'; kind: NoticeKind; request: AccessRequest }
  | { method: 'recordInAuditChannel'; kind: NoticeKind; request: AccessRequest }
  | { method: 'showHome'; overview: PersonalOverview }
  | { method: 'tellEscalationApprovers'; userIds: string[]; request: AccessRequest };

/**
 * A `Notifier` that records every call. Like the Slack one, it posts the approval message in the role's approval
 * channel (a new `ts` each time) or redraws it where it already is, and has nowhere to post without a channel.
 */
export class RecordingNotifier implements Notifier {
  readonly calls: NotifierCall[] = [];
  private posted = 0;

  async showApprovalMessage(
    request: AccessRequest,
    role: Role | undefined,
    existing: MessageRef | undefined,
  ): Promise<MessageRef | undefined> {
    this.calls.push({ method: 'showApprovalMessage', request, role, existing });
    if (existing) return existing;
    if (role?.approvalChannel === undefined) return undefined;
    this.posted += 1;
    return { channel: role.approvalChannel, ts: `1700000000.${String(this.posted).padStart(6, '0')}` };
  }

  async replyInThread(message: MessageRef, kind: NoticeKind, request: AccessRequest): Promise<boolean> {
    this.calls.push({ method: 'replyInThread', message, kind, request });
    return true;
  }

  async tellRequester(kind: NoticeKind, request: AccessRequest): Promise<boolean> {
    this.calls.push({ method: 'tellRequester', kind, request });
    return true;
  }

  async recordInAuditChannel(kind: NoticeKind, request: AccessRequest): Promise<boolean> {
    this.calls.push({ method: 'recordInAuditChannel', kind, request });
    return true;
  }

  async showHome(overview: PersonalOverview): Promise<void> {
    this.calls.push({ method: 'showHome', overview });
  }

  async tellEscalationApprovers(userIds: readonly string[], request: AccessRequest): Promise<void> {
    this.calls.push({ method: 'tellEscalationApprovers', userIds: [...userIds], request });
  }

  /** The calls of one method, typed. */
  callsOf<M extends NotifierCall['method']>(method: M): Extract<NotifierCall, { method: M }>[] {
    return this.calls.filter((call): call is Extract<NotifierCall, { method: M }> => call.method === method);
  }
}

/** `GrantCheckpoints` in a map (copies in and out, as the JSON in Redis would be). */
export class InMemoryGrantCheckpoints implements GrantCheckpoints {
  private readonly checkpoints = new Map<string, Readonly<Record<string, string>>>();

  async get(requestId: string): Promise<Readonly<Record<string, string>> | undefined> {
    const found = this.checkpoints.get(requestId);
    return found === undefined ? undefined : { ...found };
  }

  async set(requestId: string, checkpoint: Readonly<Record<string, string>>): Promise<void> {
    this.checkpoints.set(requestId, { ...checkpoint });
  }
}

/** `HomeViewers` as a set, as the Redis one is. */
export class InMemoryHomeViewers implements HomeViewers {
  readonly viewers = new Set<string>();

  async opened(userId: string): Promise<void> {
    this.viewers.add(userId);
  }

  async amongThem(userIds: readonly string[]): Promise<string[]> {
    return userIds.filter((userId) => this.viewers.has(userId));
  }
}

/** `IrrevocableGrants` as a set (adding twice keeps one, removing what is absent is fine, as with a Redis set). */
export class InMemoryIrrevocableGrants implements IrrevocableGrants {
  private readonly ids = new Set<string>();

  async add(requestId: string): Promise<void> {
    this.ids.add(requestId);
  }

  async remove(requestId: string): Promise<void> {
    this.ids.delete(requestId);
  }

  async list(): Promise<string[]> {
    return [...this.ids].sort();
  }
}
