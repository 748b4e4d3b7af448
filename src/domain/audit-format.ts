import type { AuditEntry } from './audit-event';

/** The export formats: one JSON object per line, or RFC 4180 CSV with a header row. */
export const AUDIT_FORMATS = ['jsonl', 'csv'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

export function isAuditFormat(text: string): text is AuditFormat {
  return (AUDIT_FORMATS as readonly string[]).includes(text);
}

/** CSV columns, in order; a note leaves `from` and `to` empty, and `requestId` when it names no request. */
export const AUDIT_CSV_COLUMNS = ['streamId', 'at', 'type', 'requestId', 'from', 'to', 'actor', 'reason'] as const;
type Column = (typeof AUDIT_CSV_COLUMNS)[number];

/** RFC 4180 ends every record with CRLF, also inside a file that otherwise uses LF in quoted fields. */
const CRLF = '\r\n';

/** One entry as flat fields, `at` as an ISO time; fields an entry lacks are absent. */
function fieldsOf(entry: AuditEntry): Partial<Record<Column, string>> {
  return {
    streamId: entry.streamId,
    at: new Date(entry.at).toISOString(),
    type: entry.type,
    ...(entry.requestId !== undefined && { requestId: entry.requestId }),
    ...(entry.type === 'transition' && { from: entry.from, to: entry.to }),
    actor: entry.actor,
    reason: entry.reason,
  };
}

/** One entry as the export's JSON object, keys in the CSV column order (also the `data` of its audit CloudEvent). */
export function auditRecord(entry: AuditEntry): Partial<Record<Column, string>> {
  return fieldsOf(entry);
}

/** One entry as a JSON line (LF-terminated), keys in the CSV column order; a verbatim copy of the entry. */
export function toJsonLine(entry: AuditEntry): string {
  return `${JSON.stringify(fieldsOf(entry))}\n`;
}

/** The CSV header record. */
export function csvHeader(): string {
  return `${AUDIT_CSV_COLUMNS.join(',')}${CRLF}`;
}

/** One entry as a CSV record. */
export function toCsvRow(entry: AuditEntry): string {
  const fields = fieldsOf(entry);
  return `${AUDIT_CSV_COLUMNS.map((column) => csvField(fields[column] ?? '')).join(',')}${CRLF}`;
}

/**
 * One CSV field: quoted when it holds a comma, a quote, CR or LF, with quotes doubled (RFC 4180). A field a
 * spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`: reasons
 * are typed by requesters, and the export is opened by admins (OWASP "CSV injection"). A field already starting
 * with `'` gets one more, so stripping one leading `'` always gives the original back. JSON lines stay verbatim.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r']/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The export as a stream of text chunks (CSV starts with its header), for piping with backpressure. */
export async function* formatAuditEntries(
  entries: AsyncIterable<AuditEntry> | Iterable<AuditEntry>,
  format: AuditFormat,
): AsyncGenerator<string> {
  if (format === 'csv') yield csvHeader();
  const line = format === 'csv' ? toCsvRow : toJsonLine;
  for await (const entry of entries) yield line(entry);
}

/** A whole (bounded) export as one text, e.g. for a file upload. */
export function formatAuditExport(entries: readonly AuditEntry[], format: AuditFormat): string {
  const line = format === 'csv' ? toCsvRow : toJsonLine;
  return (format === 'csv' ? csvHeader() : '') + entries.map(line).join('');
}
