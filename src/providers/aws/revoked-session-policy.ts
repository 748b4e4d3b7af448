/**
 * The inline deny policy the bot keeps on an `assume-role` target role: the sessions of revoked grants, each denied
 * everything until it could have ended by itself. Pure: building, reading and pruning the document.
 */
import { policyDocumentExpiry } from './policy-document';

/**
 * The one inline policy per role that holds every revoked session. One policy rewritten at each revocation, rather
 * than one per revocation, because all inline policies of a role share 10,240 characters (IAM and AWS STS quotas,
 * "Role policy size"): a session costs ~17 characters in a shared list, against ~180 for a policy of its own.
 */
export const REVOKED_SESSIONS_POLICY = 'jit-revoked-sessions';

/** Every inline role policy whose name starts so is the bot's to prune (the sweep's filter). */
export const REVOKED_POLICY_PREFIX = 'jit-revoked-';

/** The global condition key holding the caller's unique ID: `<role-id>:<role session name>` for an assumed role. */
const USER_ID_KEY = 'aws:userid';

/** Deny ends are rounded up to the hour so that sessions revoked within an hour share one statement. */
const BUCKET_MS = 3_600_000;

/**
 * IAM is eventually consistent: a session may still start for a few seconds after the grant's policy is deleted,
 * and then last its full duration from there.
 */
const PROPAGATION_MARGIN_MS = 5 * 60_000;

/** One statement of the deny policy as the bot writes it. */
interface DenyStatement {
  Sid: string;
  Effect: 'Deny';
  Action: '*';
  Resource: '*';
  Condition: { StringLike: { [USER_ID_KEY]: string[] }; DateLessThan: { 'aws:CurrentTime': string } };
}

/** The deny policy's content: each denied `aws:userid` pattern with the time its deny ends (epoch ms). */
export interface RevokedSessions {
  sessions: Map<string, number>;
  /** Statements of the policy the bot did not write in its shape, kept while they may still apply. */
  others: unknown[];
}

/** The `aws:userid` pattern of every session of a role named `sessionName`, whatever the role's ID. */
export function userIdPattern(sessionName: string): string {
  return `*:${sessionName}`;
}

/**
 * Until when a revoked grant's sessions must be denied: a session can start until the grant ends (its
 * `aws:CurrentTime` expiry, or its deletion now if earlier) and lasts at most the role's MaxSessionDuration, plus
 * IAM's propagation; rounded up to the hour (denying a revoked grant's own session name longer costs nothing).
 * `expiresAt` 0 means unknown (a swept policy without an expiry).
 */
export function denyUntil(revokedAt: number, expiresAt: number, maxSessionSeconds: number): number {
  const lastStart = expiresAt > 0 ? Math.min(revokedAt, expiresAt) : revokedAt;
  const end = lastStart + maxSessionSeconds * 1000 + PROPAGATION_MARGIN_MS;
  return Math.ceil(end / BUCKET_MS) * BUCKET_MS;
}

function statementsOf(document: unknown): unknown[] {
  if (typeof document !== 'object' || document === null) return [];
  const statement = (document as { Statement?: unknown }).Statement;
  if (Array.isArray(statement)) return statement;
  return statement === undefined ? [] : [statement];
}

/** The `aws:userid` patterns of a statement in the bot's shape; undefined for any other statement. */
function deniedUserIds(statement: unknown): string[] | undefined {
  if (typeof statement !== 'object' || statement === null) return undefined;
  const { Effect, Condition } = statement as { Effect?: unknown; Condition?: Record<string, unknown> };
  if (Effect !== 'Deny' || typeof Condition !== 'object' || Condition === null) return undefined;
  const stringLike = Condition.StringLike;
  if (typeof stringLike !== 'object' || stringLike === null) return undefined;
  const entry = Object.entries(stringLike).find(([key]) => key.toLowerCase() === USER_ID_KEY)?.[1];
  const values = Array.isArray(entry) ? entry : [entry];
  return values.every((value) => typeof value === 'string') ? (values as string[]) : undefined;
}

/** Reads a deny policy back (any JSON, as IAM returns it decoded); an unreadable one reads as empty. */
export function readRevokedSessions(document: unknown): RevokedSessions {
  const sessions = new Map<string, number>();
  const others: unknown[] = [];
  for (const statement of statementsOf(document)) {
    const userIds = deniedUserIds(statement);
    const until = policyDocumentExpiry({ Statement: [statement] });
    if (userIds === undefined || until === undefined) {
      others.push(statement);
      continue;
    }
    for (const userId of userIds) sessions.set(userId, Math.max(sessions.get(userId) ?? 0, until));
  }
  return { sessions, others };
}

/** The content without what ended at or before `now`; statements not in the bot's shape go once their expiry passed. */
export function pruneRevokedSessions(content: RevokedSessions, now: number): RevokedSessions {
  return {
    sessions: new Map([...content.sessions].filter(([, until]) => until > now)),
    others: content.others.filter((statement) => {
      const until = policyDocumentExpiry({ Statement: [statement] });
      return until === undefined || until > now;
    }),
  };
}

/** `2031-01-02T13:00:00Z`, as the bot writes AWS dates. */
function awsDate(time: number): string {
  return new Date(Math.floor(time / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The policy document: one statement per deny end, listing the sessions denied until then (sorted, so the same
 * content always writes the same text); undefined when nothing is left to deny.
 */
export function revokedSessionsDocument(content: RevokedSessions): Record<string, unknown> | undefined {
  const byEnd = new Map<number, string[]>();
  for (const [userId, until] of content.sessions) byEnd.set(until, [...(byEnd.get(until) ?? []), userId]);
  const statements: DenyStatement[] = [...byEnd]
    .sort(([a], [b]) => a - b)
    .map(([until, userIds]) => {
      const date = awsDate(until);
      return {
        Sid: `JitRevokedUntil${date.replace(/[^0-9A-Za-z]/g, '')}`,
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringLike: { [USER_ID_KEY]: userIds.sort() }, DateLessThan: { 'aws:CurrentTime': date } },
      };
    });
  if (statements.length === 0 && content.others.length === 0) return undefined;
  return { Version: '2012-10-17', Statement: [...content.others, ...statements] };
}
