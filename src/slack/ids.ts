/** Identifiers shared by the listeners and the Block Kit builders; the manifest declares the same ones. */
export const SLASH_COMMAND = '/jit';

export const ACTION_IDS = {
  approve: 'jit_approve',
  deny: 'jit_deny',
  /** On an alert in the admin channel: run a failing revocation now. */
  retryRevocation: 'jit_retry_revocation',
  /** On a break-glass alert: an admin records the after-the-fact review. */
  reviewBreakGlass: 'jit_review_break_glass',
} as const;
