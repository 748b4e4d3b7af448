import { findRole } from './policy';
import type { NoticeKind, Notifier, PolicySource, RequestStore } from './ports';

export interface NoticeServiceDeps {
  store: RequestStore;
  policy: PolicySource;
  notifier: Notifier;
}

/** Delivers one lifecycle notice from the request as stored now, and remembers the approval message it posts. */
export class NoticeService {
  constructor(private readonly deps: NoticeServiceDeps) {}

  /** @returns false when the request no longer exists (nothing to tell). */
  async deliver(
    requestId: string,
    kind: NoticeKind,
    options: { mayWaitForApprovalMessage: boolean },
  ): Promise<boolean> {
    const request = await this.deps.store.get(requestId);
    if (!request) return false;
    const { approvalMessage } = await this.deps.notifier.deliver({
      kind,
      request,
      role: findRole(this.deps.policy.current(), request.roleId),
      approvalMessage: await this.deps.store.getApprovalMessage(requestId),
      mayWaitForApprovalMessage: options.mayWaitForApprovalMessage,
    });
    if (approvalMessage) await this.deps.store.setApprovalMessage(requestId, approvalMessage);
    return true;
  }
}
