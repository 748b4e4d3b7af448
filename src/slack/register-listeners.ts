import type { App } from '@slack/bolt';
import { registerApproveAction } from './actions/approve-action';
import { registerDenyAction } from './actions/deny-action';
import { registerRetryRevocationAction } from './actions/retry-revocation-action';
import { registerReviewBreakGlassAction } from './actions/review-break-glass-action';
import { registerJitCommand } from './commands/jit-command';
import type { SlackDeps } from './slack-deps';

/** Every listener, registered in one place. */
export function registerListeners(app: App, deps: SlackDeps): void {
  registerJitCommand(app, deps);
  registerApproveAction(app, deps);
  registerDenyAction(app, deps);
  registerRetryRevocationAction(app, deps);
  registerReviewBreakGlassAction(app, deps);
}
