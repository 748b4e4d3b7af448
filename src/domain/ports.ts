/**
 * The domain's ports: every interface between the domain and the world outside it (store, jobs, clouds, Slack,
 * clock), kept in one file so the boundary reads as one list; hence its length.
 */
import type { AccessRequest, MessageRef } from './access-request';
import type { AuditEntry, AuditEvent, AuditNote } from './audit-event';
import type { Policy, PrincipalIdentities, Role } from './policy';

/** The only source of the current time (epoch milliseconds), so tests can drive it. */
export interface Clock {
  now(): number;
}

/** Makes request IDs people can type: short, lowercase, unambiguous. */
export interface IdGenerator {
  newRequestId(): string;
}

/** The policy in force; read at each decision so a reloaded policy applies at once. */
export interface PolicySource {
  current(): Policy;
}

/** How many open requests one person may have: those in `states`, extensions not counted. */
export interface OpenRequestCap {
  max: number;
  states: readonly AccessRequest['state'][];
}

/** `at-cap`: the requester already has `open` open requests, as many as the cap allows; nothing was stored. */
export type CreateOutcome = { kind: 'created' } | { kind: 'id-taken' } | { kind: 'at-cap'; open: number };

/** Requests, their indexes and their audit trail, changed only by compare-and-set. */
export interface RequestStore {
  /** Stores a new request with its first audit event; false when the ID is taken. */
  create(request: AccessRequest, audit: AuditEvent): Promise<boolean>;
  /**
   * {@link create}, only while the requester has fewer than `cap.max` open requests, counted in the same atomic
   * step, so two requests filed at once cannot both pass the cap.
   */
  createWithinCap(request: AccessRequest, audit: AuditEvent, cap: OpenRequestCap): Promise<CreateOutcome>;
  get(id: string): Promise<AccessRequest | undefined>;
  /**
   * Replaces the request and appends the audit event, both or neither, only if the stored version is still
   * `expectedVersion`. False when someone else changed it first.
   */
  update(next: AccessRequest, expectedVersion: number, audit: AuditEvent): Promise<boolean>;
  /** A person's requests, newest first, optionally only those in the given states. */
  listByRequester(userId: string, states?: readonly AccessRequest['state'][]): Promise<AccessRequest[]>;
  /**
   * Requests in one state whose index score (expiry when active, deadline when pending, the later of the last change
   * and the scheduled start when approved, else the last change) is at most `maxScore` and, when given, above
   * `aboveScore`.
   */
  listByState(state: AccessRequest['state'], maxScore?: number, aboveScore?: number): Promise<AccessRequest[]>;
  /**
   * Keeps where the request's approval message is; with `postedBy`, the notice that posted it, records that
   * notice's `approval-message` part as delivered in the same write (see {@link recordNoticeStep}).
   */
  setApprovalMessage(id: string, ref: MessageRef, postedBy?: string): Promise<void>;
  getApprovalMessage(id: string): Promise<MessageRef | undefined>;
  /**
   * What one notice starts from, in one round trip: the request as stored now, its approval message, and the parts
   * of this notice already delivered. `notice` names the notice among the request's own (its kind and version).
   * Undefined when the request is not stored.
   */
  forNotice(id: string, notice: string): Promise<NoticeContext | undefined>;
  /**
   * Records one part of a notice as delivered, for the request's life, so the same notice run again (a retry, or
   * the notice queued again once its job is gone) does not post it twice. Nothing is recorded for a request not
   * stored.
   */
  recordNoticeStep(id: string, notice: string, step: NoticeStep): Promise<void>;
}

/** See {@link RequestStore.forNotice}. */
export interface NoticeContext {
  request: AccessRequest;
  approvalMessage: MessageRef | undefined;
  done: ReadonlySet<NoticeStep>;
}

/** The append-only audit trail, for what is not a state change (state changes are audited by the store). */
export interface AuditLog {
  note(note: AuditNote): Promise<void>;
  /** Every entry at or after `sinceMs` (epoch ms), oldest first, streamed a page at a time. */
  entries(sinceMs?: number): AsyncIterable<AuditEntry>;
  /** Drops entries older than `olderThanMs`; returns how many went. */
  trim(olderThanMs: number): Promise<number>;
}

export const ALERT_KINDS = [
  'revocation-failing',
  'access-remains',
  'drift',
  'break-glass',
  'policy-rejected',
  'audit-event-rejected',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
/** Alerts about the bot itself rather than one request: their request ID is optional. */
export type BotAlertKind = Extract<AlertKind, 'policy-rejected' | 'audit-event-rejected'>;

/** The cloud and the store disagree about one request's grant. */
export type DriftDetails =
  /** The store has the grant active, but the cloud holds no artefact for it (removed by hand?). */
  | { situation: 'missing-in-cloud'; provider: string; roleId: string; requesterId: string }
  /**
   * The cloud holds an artefact for a request the store does not know (Redis emptied?). `endsAt` is when it ends
   * by itself; absent when it is past its expiry and is being revoked now.
   */
  | { situation: 'unknown-to-store'; provider: string; description: string; endsAt?: number }
  /** The cloud still holds an artefact of a request that has ended (`state`); it is being revoked. */
  | { situation: 'left-behind'; provider: string; description: string; state: string };

/** What each kind of alert is about: the facts the Slack layer writes its sentence from (plain IDs). */
export interface AlertDetailsByKind {
  /** A revocation has failed `attempts` times; the bot keeps retrying. */
  'revocation-failing': { attempts: number };
  /** Access was still in place after its revocation had time to propagate; it was revoked again. */
  'access-remains': { requesterId: string; roleId: string; provider: string };
  drift: DriftDetails;
  /** Break-glass access was granted at once and must be reviewed by an admin. */
  'break-glass': { requesterId: string; roleId: string; durationMs: number; reason: string };
  /** A changed policy file was refused (invalid, or it needs a restart); the policy in force stays. */
  'policy-rejected': { file: string; trigger: 'SIGHUP' | 'file-change'; problems: string[] };
  /**
   * The audit webhook refused an event with a 4xx no retry can change, so it was skipped (it stays in the audit
   * trail). `requestId` is the request the event is about, if any.
   */
  'audit-event-rejected': { status: number; eventId: string; eventType: string; requestId?: string };
}

/** Something a person must look at now: its kind and facts; the Slack layer writes the sentence. */
export type Alert = {
  [K in AlertKind]: {
    kind: K;
    details: AlertDetailsByKind[K];
    /** The error behind it, if any, as text. */
    error?: string;
    /** Offer a "Retry now" for the request's revocation. */
    retryRevocation?: boolean;
    /** Offer "Mark reviewed" for break-glass access. */
    review?: boolean;
  } & (K extends BotAlertKind ? { requestId?: string } : { requestId: string });
}[AlertKind];

/** Tells the operators (the admin channel). */
export interface Alerter {
  alert(alert: Alert): Promise<void>;
}

/** Lifecycle events people are told about; each becomes one deferred notice. */
export const NOTICE_KINDS = [
  'requested',
  'approval-recorded',
  'approved',
  'activated',
  'denied',
  'cancelled',
  'timed-out',
  'failed',
  'expired',
  'revoked',
  /** Re-render the approval message from the stored state, e.g. after a click on a stale message. */
  'refresh',
  /** On an active request: an approved extension moved its expiry later. */
  'extended',
  /** On an extension request: its extra time was added to the grant it extends. */
  'applied',
  /** Before the approval timeout: approvers who have not acted are reminded in the thread. */
  'approval-reminder',
  /** Nobody decided within the role's `escalateAfter`: its escalation approvers are mentioned and DMed. */
  'escalated',
  /** Before expiry: the requester is reminded, with Extend and I'm done. */
  'expiry-reminder',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];
export type ReminderKind = Extract<NoticeKind, 'approval-reminder' | 'expiry-reminder'>;

/** Deferred work. Every method is idempotent for the same request (deterministic job IDs). */
export interface JobScheduler {
  /** Grants at `at` (a scheduled start), or now when absent or past. */
  scheduleGrant(requestId: string, at?: number): Promise<void>;
  /** Drops a grant that has not started yet (a scheduled start cancelled); a running one finds the request ended. */
  cancelGrant(requestId: string): Promise<void>;
  /**
   * Makes the request's one revoke job wake at `at`, moving an already scheduled one (after an extension). It wakes
   * at the expiry reminder or the expiry: woken before the expiry it reminds when due and sleeps on until then.
   */
  scheduleRevocation(requestId: string, at: number): Promise<void>;
  /**
   * Runs the request's revocation now instead of at expiry. `failedAttempts`: attempts that already failed
   * elsewhere (an expiry sweep), so the job counts its own failures on from them.
   */
  revokeNow(requestId: string, failedAttempts?: number): Promise<void>;
  scheduleApprovalTimeout(requestId: string, at: number): Promise<void>;
  cancelApprovalTimeout(requestId: string): Promise<void>;
  /** Escalates the request at `at` if nobody has decided by then (the job checks when it runs). */
  scheduleEscalation(requestId: string, at: number): Promise<void>;
  /** `version` is the request version the notice is about, so the same event is never told twice. */
  scheduleNotice(requestId: string, kind: NoticeKind, version: number): Promise<void>;
  /**
   * Redraws the person's App Home shortly; every refresh asked for within the same short window is done once,
   * reading the state at the end of the window, so a burst of changes costs one redraw.
   */
  scheduleHomeRefresh(userId: string): Promise<void>;
  /**
   * A reminder notice at `at`; one per request, kind and time. Approval reminders only now: the expiry reminder is
   * sent by the revoke job (jobs of this shape queued for it by earlier versions are still delivered).
   */
  scheduleReminder(requestId: string, kind: ReminderKind, at: number, version: number): Promise<void>;
  /** Reads the cloud back at `at`, once a revocation has had time to propagate. */
  scheduleRevocationCheck(requestId: string, at: number): Promise<void>;
}

/** Who a grant is for: the Slack user, their cloud identities from the policy's `principals` map, their email. */
export interface GrantPrincipal {
  slackUserId: string;
  identities: PrincipalIdentities;
  /**
   * The person's email: `principals.<user>.email` from the policy, else their Slack profile email when Slack
   * confirmed it and the policy lets profile emails name people (`settings.identity: email`). A provider that
   * needs it and finds none refuses.
   */
  email?: string;
}

/** Everything a provider needs to grant, revoke or check one request's access. */
export interface GrantSpec {
  requestId: string;
  roleId: string;
  target: Readonly<Record<string, unknown>>;
  principal: GrantPrincipal;
  /** When the access must end; providers that can make the cloud enforce it do so. */
  expiresAt: number;
  /** What the provider's grant returned in `memo`, for revoke and verify (absent before the first grant). */
  memo?: Readonly<Record<string, string>>;
}

/** What a grant made, as far as later steps and people need to know. */
export interface GrantOutcome {
  /**
   * Facts the provider wants back on revoke and verify (resolved principal IDs, the exact artefact), so those
   * need no lookups and still work if the directory changes. Stored with the request.
   */
  memo?: Readonly<Record<string, string>>;
  /** How the requester uses the access (e.g. the `aws sts assume-role` command); Slack mrkdwn, shown in the DM. */
  instructions?: string;
}

/**
 * One cloud (or the dry run). Grant and revoke are idempotent: granting what exists replaces its expiry on the
 * same artefact, and revoking what is gone succeeds. Throw `CloudProviderError` to say whether a retry can help.
 */
export interface CloudProvider {
  readonly name: string;
  /** True when the provider names people by email unless the policy maps them; the grant then looks it up. */
  readonly identifiesPeopleByEmail: boolean;
  grant(spec: GrantSpec): Promise<GrantOutcome>;
  revoke(spec: GrantSpec): Promise<void>;
  /** Reads the cloud back: true when the access is in place. */
  verify(spec: GrantSpec): Promise<boolean>;
  /**
   * How many revocations an expiry sweep may put to this provider at once, when that is more than the process's
   * revoke concurrency: a provider that gathers the revocations due on one resource into one write does better
   * the more of them it is given together. Absent: the process's revoke concurrency.
   */
  readonly revocationsAtOnce?: number;
  /**
   * True when this grant added nothing because the person already held the access outside the bot (e.g. a
   * standing assignment): its revocation leaves that access in place on purpose, so finding it afterwards is no
   * alarm. Providers that never record such grants omit it.
   */
  heldBefore?(spec: GrantSpec): Promise<boolean>;
  /** Releases connections on shutdown, for providers that hold any. */
  close?(): Promise<void>;
  /**
   * Lists the artefacts this bot created under the given roles' targets, found by their `jit-<requestId>` name,
   * title or description, so expired ones can be revoked even when the store has lost them. Providers whose
   * artefacts carry no such mark omit it.
   */
  findGrants?(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]>;
  /**
   * True when `findGrants` would list this grant's artefact, so its absence from the sweep means it is missing
   * in the cloud (false for kinds the sweep cannot see, and for access that was already held, not ours).
   */
  sweeps?(spec: GrantSpec): boolean;
}

/** A role's target, as the sweep needs it. */
export interface RoleTargetRef {
  roleId: string;
  target: Readonly<Record<string, unknown>>;
}

/** A grant artefact found in the cloud. */
export interface FoundGrant {
  requestId: string;
  /** The expiry the artefact names; undefined when it names none (the store's record then decides). */
  expiresAt?: number;
  /** Exactly what `revoke` needs to remove this artefact, built by the provider. */
  spec: GrantSpec;
  /** Where it is, for logs and alerts, e.g. "inline policy jit-k7m2xq9d on IAM user alice". */
  description: string;
}

export interface CloudProviders {
  /** @throws Error when no provider of that name is configured (the policy loader prevents this). */
  get(name: string): CloudProvider;
  /** Every configured provider. */
  list(): readonly CloudProvider[];
}

/**
 * What a provider decided about one request's grant, written before it changes the cloud so that a retry after a
 * crash (or a later grant of the same request) decides as the first attempt did. Needed where the cloud artefact
 * cannot carry the decision itself, e.g. whether an Identity Center assignment was there before the bot. Entries
 * outlive any grant; the domain never reads them.
 */
export interface GrantCheckpoints {
  get(requestId: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Replaces the request's checkpoint; resolves only once it is durable. */
  set(requestId: string, checkpoint: Readonly<Record<string, string>>): Promise<void>;
}

/** How fast calls on one key (a cloud API, as the bot's identity there) may go: a steady rate and a burst. */
export interface CallRate {
  /** Calls per second, on average, across every process. */
  perSecond: number;
  /** Calls that may go at once after a quiet spell (at least 1). */
  burst: number;
}

/**
 * Paces cloud calls per key across every process of the deployment, so that together they stay under what the
 * cloud accepts from the bot's identity, and a throttled answer slows everyone down rather than one caller.
 */
export interface CallPacer {
  /** Resolves when the next call on `key` may be sent at `rate`; callers are served in the order they asked. */
  take(key: string, rate: CallRate): Promise<void>;
  /** The cloud throttled a call on `key`: no process sends another on it for `ms`. */
  holdOff(key: string, ms: number): Promise<void>;
}

/**
 * Takes turns on a key across every process: at most one `work` per key runs at a time anywhere. A turn held by a
 * process that died ends after a lease, so a crash never blocks the key for good.
 */
export interface ResourceTurns {
  withTurn<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Slots for operations a cloud counts while they run, shared by every process: at most `size` works hold a slot on
 * `key` at once anywhere. A slot held by a process that died is freed after a lease.
 */
export interface OperationSlotPool {
  use<T>(key: string, size: number, work: () => Promise<T>): Promise<T>;
}

/** Request IDs whose revocation keeps failing: the "irrevocable grants" the operators must see. */
export interface IrrevocableGrants {
  add(requestId: string): Promise<void>;
  remove(requestId: string): Promise<void>;
}

/**
 * Who has ever opened the bot's App Home. Only their App Homes are redrawn when a request changes: one nobody has
 * opened is drawn fresh when it is first opened, and redrawing it before that would only spend Slack's
 * `views.publish` rate limit (Tier 4) and the bot's time.
 */
export interface HomeViewers {
  /** Records that `userId` opened their App Home. */
  opened(userId: string): Promise<void>;
  /** Those of `userIds` who have opened their App Home, in the same order. */
  amongThem(userIds: readonly string[]): Promise<string[]>;
}

/** Slack's directory as far as decisions need it. */
export interface PeopleDirectory {
  usergroupMembers(usergroupId: string): Promise<readonly string[]>;
  /** The email on the person's Slack profile, if Slack has one for them, and whether Slack confirmed it. */
  userEmail(userId: string): Promise<ProfileEmail | undefined>;
  /** Whether the account may take part in decisions: undefined when Slack does not know the user. */
  userStanding(userId: string): Promise<UserStanding | undefined>;
}

/** An email from a Slack profile. Only a confirmed one may name the person in a cloud. */
export interface ProfileEmail {
  address: string;
  /** Slack's `is_email_confirmed`: the person proved they own the address; false when Slack does not say so. */
  confirmed: boolean;
}

/** What Slack says about an account, as far as trusting its decisions goes. */
export interface UserStanding {
  deactivated: boolean;
  /** A multi-channel or single-channel guest (`is_restricted` / `is_ultra_restricted`). */
  guest: boolean;
}

/** The parts of one notice; each is delivered once even when the notice is retried. */
export const NOTICE_STEPS = [
  'approval-message',
  'thread-reply',
  'requester-dm',
  'audit-channel',
  'app-home',
  /** The escalation approvers' DMs, with Approve and Deny. */
  'escalation-dm',
] as const;
export type NoticeStep = (typeof NOTICE_STEPS)[number];

/**
 * Tells people. Each method is one independent part of a notice and decides itself whether the event needs it
 * (e.g. no DM for a cancellation the requester made); a method with nothing to say does nothing.
 */
export interface Notifier {
  /**
   * Posts the approval message showing the request's current state, or redraws it where it already is.
   * @returns where the message is, or undefined when the role has no approval channel.
   */
  showApprovalMessage(
    request: AccessRequest,
    role: Role | undefined,
    existing: MessageRef | undefined,
    /** On a bundle: every role with the approvals it still needs; the message goes to the first role's channel. */
    bundle?: readonly BundleRoleView[],
  ): Promise<MessageRef | undefined>;
  /** These three resolve to false when the event has nothing to say there, so nothing was posted. */
  replyInThread(
    message: MessageRef,
    kind: NoticeKind,
    request: AccessRequest,
    role: Role | undefined,
  ): Promise<boolean>;
  tellRequester(kind: NoticeKind, request: AccessRequest, role: Role | undefined): Promise<boolean>;
  recordInAuditChannel(kind: NoticeKind, request: AccessRequest): Promise<boolean>;
  /** DMs each of these people (the escalation approvers) the request with Approve and Deny. */
  tellEscalationApprovers(userIds: readonly string[], request: AccessRequest, role: Role): Promise<void>;
  /** Publishes one person's App Home: their grants, their requests, and what waits for their decision. */
  showHome(overview: PersonalOverview): Promise<void>;
}

/** A request with its role as the policy has it now (undefined when the role was removed). */
export interface OverviewItem {
  request: AccessRequest;
  role: Role | undefined;
  /** On an active grant: the ID of its extension request still waiting for approval, if any. */
  pendingExtension?: string;
}

/** What one person sees on their App Home. */
export interface PersonalOverview {
  userId: string;
  /** When it was drawn; time left is counted from here. */
  at: number;
  /** Their active grants, soonest expiry first. */
  active: OverviewItem[];
  /** Their requests waiting for approval or being granted (extensions included), newest first. */
  pending: OverviewItem[];
  /** Other people's pending requests this person may approve or deny and has not approved yet, oldest first. */
  awaitingDecision: OverviewItem[];
}

/** One role of a bundle as its approval message shows it. */
export interface BundleRoleView {
  roleId: string;
  /** Undefined when the role left the policy. */
  role?: Role;
  /** Approvals still needed for this role. */
  missing: number;
}
