import type { App } from '@slack/bolt';
import { registerApprovalDurationAction } from './actions/approval-duration-action';
import { registerApproveAction } from './actions/approve-action';
import { registerDenyAction } from './actions/deny-action';
import { registerGrantActions } from './actions/grant-actions';
import { registerRetryRevocationAction } from './actions/retry-revocation-action';
import { registerReviewBreakGlassAction } from './actions/review-break-glass-action';
import { registerJitCommand } from './commands/jit-command';
import { registerAppHomeOpened } from './events/app-home-opened';
import { registerSubteamMembersChanged } from './events/subteam-members-changed';
import type { SlackDeps } from './slack-deps';
import { registerDenySubmission } from './views/deny-submission';
import { registerExtendSubmission } from './views/extend-submission';
import { registerRequestModal } from './views/request-modal-flow';

/** Every listener, registered in one place; the manifest test checks each against `manifest.yml`. */
export function registerListeners(app: App, deps: SlackDeps): void {
  registerJitCommand(app, deps);
  registerRequestModal(app, deps);
  registerApproveAction(app, deps);
  registerApprovalDurationAction(app);
  registerDenyAction(app, deps);
  registerDenySubmission(app, deps);
  registerGrantActions(app, deps);
  registerExtendSubmission(app, deps);
  registerAppHomeOpened(app, deps);
  registerSubteamMembersChanged(app, deps);
  registerRetryRevocationAction(app, deps);
  registerReviewBreakGlassAction(app, deps);
}
