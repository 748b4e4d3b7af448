import { z } from 'zod';
import { type Alert, NOTICE_KINDS, type NoticeKind } from '../domain/ports';
import { isRequestId } from '../domain/request-id';

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
  /** Sends the audit trail to `settings.auditWebhook`, one entry after another. */
  auditWebhook: 'jit-audit-webhook',
} as const;
export type QueueKey = keyof typeof QUEUE_NAMES;

const requestId = z.string().refine(isRequestId, { error: 'must be a request ID' });

/** Payload of grant, revoke and approval-timeout jobs: only the request ID; everything else is in the store. */
export const requestJobSchema = z.object({ requestId }).strict();
export type RequestJob = z.infer<typeof requestJobSchema>;

/** A revoke job: its request, and how many of its attempts have failed so far (none when absent). */
export const revokeJobSchema = requestJobSchema
  .extend({ failedAttempts: z.number().int().positive().optional() })
  .strict();
export type RevokeJob = z.infer<typeof revokeJobSchema>;

/** An expiry sweep: the stretch of expiries `(after, until]` it was handed (see `RedisExpiryWatermark`). */
export const expirySweepJobSchema = z
  .object({ after: z.number().int().nonnegative(), until: z.number().int().positive() })
  .strict()
  .refine((stretch) => stretch.after < stretch.until, { error: 'after must come before until' });
export type ExpirySweepJob = z.infer<typeof expirySweepJobSchema>;

export const noticeJobSchema = z
  .object({ requestId, kind: z.enum(NOTICE_KINDS), version: z.number().int().positive() })
  .strict();
export type NoticeJob = z.infer<typeof noticeJobSchema>;

/** Fields every alert may carry besides its kind and details. */
const alertOptions = {
  requestId,
  error: z.string().optional(),
  retryRevocation: z.boolean().optional(),
  review: z.boolean().optional(),
};

const driftDetailsSchema = z.discriminatedUnion('situation', [
  z
    .object({
      situation: z.literal('missing-in-cloud'),
      provider: z.string(),
      roleId: z.string(),
      requesterId: z.string(),
    })
    .strict(),
  z
    .object({
      situation: z.literal('unknown-to-store'),
      provider: z.string(),
      description: z.string(),
      endsAt: z.number().optional(),
    })
    .strict(),
  z
    .object({ situation: z.literal('left-behind'), provider: z.string(), description: z.string(), state: z.string() })
    .strict(),
]);

/** One alert: its kind and the details that kind carries (see `AlertDetailsByKind`). */
const alertSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('revocation-failing'),
      details: z.object({ attempts: z.number().int().positive() }).strict(),
      ...alertOptions,
    })
    .strict(),
  z
    .object({
      kind: z.literal('access-remains'),
      details: z.object({ requesterId: z.string(), roleId: z.string(), provider: z.string() }).strict(),
      ...alertOptions,
    })
    .strict(),
  z.object({ kind: z.literal('drift'), details: driftDetailsSchema, ...alertOptions }).strict(),
  z
    .object({
      kind: z.literal('break-glass'),
      details: z
        .object({ requesterId: z.string(), roleId: z.string(), durationMs: z.number(), reason: z.string() })
        .strict(),
      ...alertOptions,
    })
    .strict(),
  z
    .object({
      kind: z.literal('policy-rejected'),
      details: z
        .object({ file: z.string(), trigger: z.enum(['SIGHUP', 'file-change']), problems: z.array(z.string()) })
        .strict(),
      ...alertOptions,
      requestId: requestId.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('audit-event-rejected'),
      details: z
        .object({
          status: z.number().int(),
          eventId: z.string(),
          eventType: z.string(),
          requestId: z.string().optional(),
        })
        .strict(),
      ...alertOptions,
      requestId: requestId.optional(),
    })
    .strict(),
]) satisfies z.ZodType<Alert>;

/** An alert for the admin channel, queued so that a slow or rate-limited Slack never holds up the job raising it. */
export const alertJobSchema = z.object({ alert: alertSchema }).strict();
export type AlertJob = z.infer<typeof alertJobSchema>;

/**
 * An alert queued by a bot version before alerts carried details: its sentence was written when it was raised.
 * Jobs of this shape may wait in the queue across an upgrade; they are logged in full rather than dropped.
 */
export const writtenAlertJobSchema = z
  .object({ alert: z.object({ kind: z.string(), requestId: z.string().optional(), message: z.string() }).loose() })
  .strict();

/** The notify queue's job name for alerts; notices are named by their kind. */
export const ALERT_JOB_NAME = 'alert';

/** A redraw of one person's App Home. */
export const homeJobSchema = z
  .object({ userId: z.string().regex(/^[UW][A-Z0-9]{2,}$/, { error: 'must be a Slack user ID' }) })
  .strict();
export type HomeJob = z.infer<typeof homeJobSchema>;
export const HOME_JOB_NAME = 'home';

/** App Home redraws asked for within one window of this length are done once, after its end. */
export const HOME_REFRESH_WINDOW_MS = 500;

/**
 * When a person's App Home redraw asked for at `now` runs: once per window, within the window after it, at an
 * offset fixed per person. Were every redraw of a window due at its end, a busy bot would redraw dozens of App
 * Homes in one burst twice a second, and the slash commands arriving meanwhile would wait behind it.
 */
export function homeRefreshSlot(userId: string, now: number): { window: number; runAt: number } {
  const window = Math.floor(now / HOME_REFRESH_WINDOW_MS);
  // FNV-1a: user IDs differ in a character or two, and the offsets must still spread.
  let hash = 0x811c9dc5;
  for (let index = 0; index < userId.length; index++) hash = Math.imul(hash ^ userId.charCodeAt(index), 0x01000193);
  hash >>>= 0;
  return { window, runAt: (window + 1) * HOME_REFRESH_WINDOW_MS + (hash % HOME_REFRESH_WINDOW_MS) };
}

/** Deterministic job IDs (BullMQ forbids `:` in them): adding the same work twice is a no-op. */
export const jobIds = {
  grant: (id: string) => `grant-${id}`,
  revoke: (id: string) => `revoke-${id}`,
  approvalTimeout: (id: string) => `approval-timeout-${id}`,
  escalation: (id: string) => `escalation-${id}`,
  notice: (id: string, kind: NoticeKind, version: number) => `notice-${id}-${kind}-v${version}`,
  revocationCheck: (id: string) => `verify-${id}`,
  reminder: (id: string, kind: NoticeKind, at: number) => `reminder-${id}-${kind}-${at}`,
  homeRefresh: (userId: string, window: number) => `home-${userId}-${window}`,
  expirySweep: (until: number) => `expiry-sweep-${until}`,
};

/**
 * A notice's name among its request's notices: its job's ID without the request's part (`approved-v2`, or a
 * reminder's kind and time), so the same notice queued again finds what its earlier run delivered.
 */
export function noticeName(jobId: string, requestId: string): string {
  for (const prefix of [`notice-${requestId}-`, `reminder-${requestId}-`]) {
    if (jobId.startsWith(prefix)) return jobId.slice(prefix.length);
  }
  return jobId;
}

/**
 * The revoke queue's job name for expiry sweeps, which end every grant due in a stretch of time; a grant's own
 * revoke job (its reminder, its early end, its backstop) is named `revoke`.
 */
export const EXPIRY_SWEEP_JOB_NAME = 'expiry-sweep';

/**
 * The approval-timeout queue's job name for escalations: both act on a request still pending at a set time, so
 * they share the queue (and its retries); timeouts are named `approval-timeout`.
 */
export const ESCALATION_JOB_NAME = 'escalation';

/**
 * The one audit webhook job: a fixed ID, so that while it runs or waits out its backoff, asking for it again adds
 * nothing, and the trail is sent by one job at a time, in order.
 */
export const AUDIT_WEBHOOK_JOB_ID = 'audit-webhook';

/** The job scheduler (BullMQ repeatable) that runs the reconciler. */
export const RECONCILE_SCHEDULER_ID = 'reconcile-every';
