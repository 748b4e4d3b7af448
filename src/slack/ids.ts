/** Identifiers shared by the listeners and the Block Kit builders; the manifest declares the same ones. */
export const SLASH_COMMAND = '/jit';

export const ACTION_IDS = {
  approve: 'jit_approve',
  deny: 'jit_deny',
} as const;
