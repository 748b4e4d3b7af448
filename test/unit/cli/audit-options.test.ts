import { AUDIT_EXPORT_USAGE, parseAuditExportArgs } from '../../../src/cli/audit-options';
import { CliError } from '../../../src/cli/cli-error';
import { HOUR, T0 } from '../fixtures';

const DAY = 24 * HOUR;

function usageError(args: string[]): CliError {
  try {
    parseAuditExportArgs(args, T0);
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(args)}`);
}

describe('parseAuditExportArgs', () => {
  it('defaults to the last 7 days up to now, as JSON lines', () => {
    expect(parseAuditExportArgs([], T0)).toEqual({ sinceMs: T0 - 7 * DAY, untilMs: T0, format: 'jsonl' });
  });

  it('takes every option, in either spelling', () => {
    expect(
      parseAuditExportArgs(
        ['--since', '2026-03-01', '--until=2026-03-02T12:00:00Z', '--format', 'CSV', '--request', ' K7M2XQ9D '],
        T0,
      ),
    ).toEqual({
      sinceMs: Date.UTC(2026, 2, 1),
      untilMs: Date.UTC(2026, 2, 2, 12),
      format: 'csv',
      requestId: 'k7m2xq9d',
    });
    expect(parseAuditExportArgs(['--since=12h', '--until', '1h'], T0)).toMatchObject({
      sinceMs: T0 - 12 * HOUR,
      untilMs: T0 - HOUR,
    });
  });

  it.each([['--help'], ['-h'], ['--since', '7d', '--help']])('%j asks for help', (...args) => {
    expect(parseAuditExportArgs(args, T0)).toBe('help');
  });

  it('documents every option and the exit statuses', () => {
    for (const text of ['--since <when>', '--until <when>', '--format <format>', '--request <id>', '--help']) {
      expect(AUDIT_EXPORT_USAGE).toContain(text);
    }
    expect(AUDIT_EXPORT_USAGE).toContain('REDIS_URL');
    expect(AUDIT_EXPORT_USAGE).toContain('JIT_REDIS_PREFIX');
    expect(AUDIT_EXPORT_USAGE).toContain('64 bad option, 69 Redis unreachable, 78 bad environment');
  });

  it.each([
    [['--format', 'xml'], '--format "xml" is not a format; use jsonl or csv.'],
    [['--since', '7days'], '--since "7days" is neither a time back from now (30m, 12h, 7d, 1d12h) nor a date'],
    [['--until', 'tomorrow'], '--until "tomorrow" is neither a time back from now'],
    [
      ['--since', '1d', '--until', '2d'],
      '--until (2026-03-08T09:00:00.000Z) is before --since (2026-03-09T09:00:00.000Z); swap them.',
    ],
    [['--request', ' '], '--request needs a request ID'],
    [['--verbose'], "Unknown option '--verbose'"],
    [['--since'], "Option '--since <value>' argument missing"],
    [['7d'], "Unexpected argument '7d'"],
    [['--help=yes'], "Option '-h, --help' does not take an argument"],
  ])('%j is a usage error: %s', (args, message) => {
    const error = usageError(args);
    expect(error.code).toBe('usage');
    expect(error.exitStatus).toBe(64);
    expect(error.message).toContain(message);
    expect(error.message).toMatch(/Run with --help for the options\.$/);
  });
});
