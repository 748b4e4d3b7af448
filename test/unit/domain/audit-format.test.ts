import fc from 'fast-check';
import type { AuditEntry } from '../../../src/domain/audit-event';
import {
  AUDIT_CSV_COLUMNS,
  csvField,
  csvHeader,
  formatAuditEntries,
  formatAuditExport,
  toCsvRow,
  toJsonLine,
} from '../../../src/domain/audit-format';
import { readCsv } from '../../support/csv-reader';
import { T0 } from '../fixtures';

const transition: AuditEntry = {
  type: 'transition',
  streamId: '1773133200000-0',
  requestId: 'k7m2xq9d',
  from: 'none',
  to: 'pending',
  actor: 'U0ALICE',
  reason: 'debugging INC-42',
  at: T0,
};

const note: AuditEntry = {
  type: 'refusal',
  streamId: '1773133200001-0',
  actor: 'U0MALLORY',
  reason: 'audit export refused: not an admin',
  at: T0 + 1,
};

async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe('CSV', () => {
  it('has a header row naming the columns, CRLF-terminated', () => {
    expect(csvHeader()).toBe('streamId,at,type,requestId,from,to,actor,reason\r\n');
  });

  it('writes a transition with an ISO time, and a note with empty from, to and request ID', () => {
    expect(toCsvRow(transition)).toBe(
      '1773133200000-0,2026-03-10T09:00:00.000Z,transition,k7m2xq9d,none,pending,U0ALICE,debugging INC-42\r\n',
    );
    expect(toCsvRow(note)).toBe(
      '1773133200001-0,2026-03-10T09:00:00.001Z,refusal,,,,U0MALLORY,audit export refused: not an admin\r\n',
    );
  });

  it.each([
    ['a, b', '"a, b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['line one\nline two', '"line one\nline two"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['crlf\r\ninside', '"crlf\r\ninside"'],
    ['plain text', 'plain text'],
    ['', ''],
    ['trailing space ', 'trailing space '],
    ["it's", "it's"],
  ])('quotes %j as %j (RFC 4180)', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it.each([
    ['=HYPERLINK("http://evil.example","click")', `"'=HYPERLINK(""http://evil.example"",""click"")"`],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
  ])('keeps spreadsheets from running %j as a formula', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('reads back field for field, whatever the reason holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 30 }), (reason, actor) => {
        const entry = { ...transition, reason, actor };
        const [record] = readCsv(toCsvRow(entry));
        expect(record).toHaveLength(AUDIT_CSV_COLUMNS.length);
        const unguard = (field: string | undefined) => field?.replace(/^'(?=[=+\-@\t\r'])/, '');
        expect(unguard(record?.[7])).toBe(reason);
        expect(unguard(record?.[6])).toBe(actor);
      }),
      { numRuns: 500 },
    );
  });
});

describe('JSON lines', () => {
  it('writes one object per line in the column order, leaving out what a note lacks', () => {
    expect(toJsonLine(transition)).toBe(
      '{"streamId":"1773133200000-0","at":"2026-03-10T09:00:00.000Z","type":"transition","requestId":"k7m2xq9d","from":"none","to":"pending","actor":"U0ALICE","reason":"debugging INC-42"}\n',
    );
    expect(JSON.parse(toJsonLine(note))).toEqual({
      streamId: '1773133200001-0',
      at: '2026-03-10T09:00:00.001Z',
      type: 'refusal',
      actor: 'U0MALLORY',
      reason: 'audit export refused: not an admin',
    });
  });

  it('keeps reasons verbatim (no formula guard) and on one line', () => {
    const reason = '=1+1, "quoted"\nnext line\u2028';
    const line = toJsonLine({ ...transition, reason });
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toMatchObject({ reason });
  });
});

describe('formatAuditEntries', () => {
  async function* trail(): AsyncGenerator<AuditEntry> {
    yield transition;
    yield note;
  }

  it('streams CSV with its header first', async () => {
    expect(await collect(formatAuditEntries(trail(), 'csv'))).toBe(csvHeader() + toCsvRow(transition) + toCsvRow(note));
  });

  it('streams JSON lines without a header', async () => {
    expect(await collect(formatAuditEntries(trail(), 'jsonl'))).toBe(toJsonLine(transition) + toJsonLine(note));
  });

  it('writes only the CSV header for an empty trail', async () => {
    expect(await collect(formatAuditEntries([], 'csv'))).toBe(csvHeader());
    expect(await collect(formatAuditEntries([], 'jsonl'))).toBe('');
  });

  it('gives the same text as formatAuditExport', async () => {
    for (const format of ['csv', 'jsonl'] as const) {
      expect(formatAuditExport([transition, note], format)).toBe(
        await collect(formatAuditEntries([transition, note], format)),
      );
    }
  });
});
