import { z } from 'zod';
import { NOTICE_KINDS, type NoticeKind } from '../domain/ports';

/** Each kind of deferred work has its own queue, so a backlog of notices never delays a revocation. */
export const QUEUE_NAMES = {
  grant: 'jit-grant',
  revoke: 'jit-revoke',
  approvalTimeout: 'jit-approval-timeout',
  notify: 'jit-notify',
  /** Reads the cloud back after a revocation has propagated. */
  verify: 'jit-verify',
  /** The periodic sweep of the store and the clouds. */
  reconcile: 'jit-reconcile',
} as const;
export type QueueKey = keyof typeof QUEUE_NAMES;

const requestId = z.string().regex(/^[a-z0-9]{1,64}$/, { error: 'must be a request ID' });

/** Payload of grant, revoke and approval-timeout jobs: only the request ID; everything else is in the store. */
export const requestJobSchema = z.object({ requestId }).strict();
export type RequestJob = z.infer<typeof requestJobSchema>;

export const noticeJobSchema = z
  .object({ requestId, kind: z.enum(NOTICE_KINDS), version: z.number().int().positive() })
  .strict();
export type NoticeJob = z.infer<typeof noticeJobSchema>;

/** Deterministic job IDs (BullMQ forbids `:` in them): adding the same work twice is a no-op. */
export const jobIds = {
  grant: (id: string) => `grant-${id}`,
  revoke: (id: string) => `revoke-${id}`,
  approvalTimeout: (id: string) => `approval-timeout-${id}`,
  notice: (id: string, kind: NoticeKind, version: number) => `notice-${id}-${kind}-v${version}`,
  revocationCheck: (id: string) => `verify-${id}`,
  reminder: (id: string, kind: NoticeKind, at: number) => `reminder-${id}-${kind}-${at}`,
};

/** The job scheduler (BullMQ repeatable) that runs the reconciler. */
export const RECONCILE_SCHEDULER_ID = 'reconcile-every';
