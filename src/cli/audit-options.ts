import { parseArgs } from 'node:util';
import { AUDIT_FORMATS, type AuditFormat, isAuditFormat } from '../domain/audit-format';
import { DEFAULT_AUDIT_SINCE, parsePointInTime } from '../domain/audit-service';
import { isDomainError } from '../domain/errors';
import { CliError } from './cli-error';

/** What `npm run audit -- …` asked for, with times resolved to epoch milliseconds. */
export interface AuditExportOptions {
  sinceMs: number;
  untilMs: number;
  format: AuditFormat;
  requestId?: string;
}

export const AUDIT_EXPORT_USAGE = `Usage: npm run -s audit -- [options]   (or: npx jit-access-bot audit [options])

Writes the audit trail (state changes and notes, oldest first) from Redis to standard output.

Options:
  --since <when>     where to start: a time back from now (30m, 12h, 7d, 1d12h) or an ISO date or
                     date-time (2025-01-31, 2025-01-31T08:00:00Z); default ${DEFAULT_AUDIT_SINCE}
  --until <when>     where to stop, in the same forms; default now
  --format <format>  jsonl (one JSON object per line; the default) or csv (RFC 4180 with a header row)
  --request <id>     only the entries about this request
  -h, --help         this text

Reads REDIS_URL (default redis://127.0.0.1:6379) and JIT_REDIS_PREFIX (default jit) from the environment or
from .env in the working directory. Use npm's -s so its banner does not end up in the output.
Exit status: 0 done, 64 bad option, 69 Redis unreachable, 78 bad environment.
`;

/**
 * Parses the export's arguments (without `node` and the script).
 * @returns the options, or `'help'` when help was asked for
 * @throws CliError `usage` naming the bad option and what it accepts
 */
export function parseAuditExportArgs(args: readonly string[], now: number): AuditExportOptions | 'help' {
  let values: { since?: string; until?: string; format?: string; request?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        format: { type: 'string' },
        request: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';

  const format = (values.format ?? 'jsonl').trim().toLowerCase();
  if (!isAuditFormat(format)) {
    throw usage(`--format "${values.format}" is not a format; use ${AUDIT_FORMATS.join(' or ')}.`);
  }
  const sinceMs = pointInTime('--since', values.since ?? DEFAULT_AUDIT_SINCE, now);
  const untilMs = values.until === undefined ? now : pointInTime('--until', values.until, now);
  if (untilMs < sinceMs) {
    throw usage(
      `--until (${new Date(untilMs).toISOString()}) is before --since (${new Date(sinceMs).toISOString()}); swap them.`,
    );
  }
  const requestId = values.request?.trim().toLowerCase();
  if (requestId === '') throw usage('--request needs a request ID, e.g. --request k7m2xq9d.');
  return { sinceMs, untilMs, format, ...(requestId !== undefined && { requestId }) };
}

function pointInTime(option: string, text: string, now: number): number {
  try {
    return parsePointInTime(text, now);
  } catch (error) {
    // The domain refuses by code (the only one here is `invalid_duration`); the CLI writes its own sentence.
    if (isDomainError(error)) {
      throw usage(
        `${option} "${text.trim()}" is neither a time back from now (30m, 12h, 7d, 1d12h) nor a date (2025-01-31 or 2025-01-31T08:00:00Z).`,
      );
    }
    throw error;
  }
}

function usage(problem: string): CliError {
  return new CliError('usage', `${problem}\nRun with --help for the options.`);
}
