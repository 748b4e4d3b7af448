/** Reading a bot-written AWS policy document back: the expiry it names and the role target it holds. */
import { isDeepStrictEqual } from 'node:util';
import { assumeRoleStatements } from './aws-target';

/** `2031-01-02T12:00:00Z` as the bot writes it, or with fractions of a second. */
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
/** Epoch seconds, which AWS date conditions also take. */
const EPOCH_SECONDS = /^\d{1,12}$/;

/** A date as AWS date conditions take it (ISO 8601 in UTC, or epoch seconds), in epoch ms; undefined otherwise. */
export function parseAwsDate(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  if (EPOCH_SECONDS.test(value)) return Number(value) * 1000;
  const match = ISO_UTC.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const time = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2031-02-30 over into March; such a date is not one AWS would accept either.
  const back = new Date(time);
  const exact =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second;
  return exact ? time : undefined;
}

function statementsOf(document: unknown): unknown[] {
  if (typeof document !== 'object' || document === null) return [];
  const statement = (document as { Statement?: unknown }).Statement;
  if (Array.isArray(statement)) return statement;
  return statement === undefined ? [] : [statement];
}

/**
 * The `DateLessThan aws:CurrentTime` value of one statement, in epoch ms. Condition keys are case-insensitive in
 * AWS; several values are ORed, so the latest is the one that holds.
 */
function statementExpiry(statement: unknown): number | undefined {
  if (typeof statement !== 'object' || statement === null) return undefined;
  const condition = (statement as { Condition?: unknown }).Condition;
  if (typeof condition !== 'object' || condition === null) return undefined;
  const dateLessThan = (condition as Record<string, unknown>).DateLessThan;
  if (typeof dateLessThan !== 'object' || dateLessThan === null) return undefined;
  let latest: number | undefined;
  for (const [key, value] of Object.entries(dateLessThan)) {
    if (key.toLowerCase() !== 'aws:currenttime') continue;
    for (const each of Array.isArray(value) ? value : [value]) {
      const time = parseAwsDate(each);
      if (time !== undefined && (latest === undefined || time > latest)) latest = time;
    }
  }
  return latest;
}

/**
 * The expiry a policy document names: the earliest `DateLessThan aws:CurrentTime` among its statements (the bot
 * writes the same one on each). Undefined when no statement names one.
 */
export function policyDocumentExpiry(document: unknown): number | undefined {
  let earliest: number | undefined;
  for (const statement of statementsOf(document)) {
    const time = statementExpiry(statement);
    if (time !== undefined && (earliest === undefined || time < earliest)) earliest = time;
  }
  return earliest;
}

/** The statements with our `aws:CurrentTime` bound taken out again: what the role's target said. */
function withoutExpiry(statements: unknown[]): unknown[] {
  return statements.map((statement) => {
    if (typeof statement !== 'object' || statement === null) return statement;
    const { Condition, ...rest } = statement as { Condition?: Record<string, unknown> };
    if (typeof Condition !== 'object' || Condition === null) return statement;
    const { DateLessThan, ...otherOperators } = Condition;
    const remaining =
      typeof DateLessThan === 'object' && DateLessThan !== null
        ? Object.fromEntries(Object.entries(DateLessThan).filter(([key]) => key.toLowerCase() !== 'aws:currenttime'))
        : DateLessThan;
    const condition = {
      ...otherOperators,
      ...(remaining === undefined || (typeof remaining === 'object' && Object.keys(remaining as object).length === 0)
        ? {}
        : { DateLessThan: remaining }),
    };
    return Object.keys(condition).length === 0 ? rest : { ...rest, Condition: condition };
  });
}

/**
 * The target the artefact itself describes, for when no role of the policy in force wrote it (its role changed or
 * went): `assume-role` when it is exactly the statement that kind writes for this request (or, from versions
 * before session names were required, that statement without its `sts:RoleSessionName` condition), else
 * `iam-policy` with its statements. Revoking needs only the kind (and for `assume-role` the role, whose revoked
 * session is denied), the user and the request ID.
 */
export function targetOfDocument(document: unknown, requestId: string): Record<string, unknown> {
  const statements = withoutExpiry(statementsOf(document));
  const [only] = statements;
  if (statements.length === 1 && typeof only === 'object' && only !== null) {
    const resource = (only as { Resource?: unknown }).Resource;
    if (typeof resource === 'string') {
      const [written] = assumeRoleStatements(resource, requestId);
      const { Condition: _, ...unpinned } = written ?? {};
      if (isDeepStrictEqual(only, written) || isDeepStrictEqual(only, unpinned)) {
        return { kind: 'assume-role', roleArn: resource };
      }
    }
  }
  return { kind: 'iam-policy', statements };
}
