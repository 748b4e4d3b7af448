/** What a request's hash keeps beside the request itself: where its approval message is, and its notices' record. */
import type { MessageRef } from '../domain/access-request';
import type { NoticeStep } from '../domain/ports';

/** The hash fields: `json` and `version` are the request's own (see request-store.ts). */
export const EXTRA_FIELDS = { approvalMessage: 'message', notices: 'notices' } as const;

/** The approval message's place as stored, or undefined for anything else. */
export function parseMessageRef(json: string | null | undefined): MessageRef | undefined {
  if (typeof json !== 'string') return undefined;
  const parsed = JSON.parse(json) as Partial<MessageRef>;
  return typeof parsed.channel === 'string' && typeof parsed.ts === 'string'
    ? { channel: parsed.channel, ts: parsed.ts }
    : undefined;
}

/** Separates a notice from its step in one entry of the record, and ends the entry. */
const STEP_MARK = '=';
const ENTRY_END = ';';

/** Each part of a notice as the record writes it: one letter, as the record lasts as long as the request. */
const STEP_CODES = {
  'approval-message': 'm',
  'thread-reply': 't',
  'requester-dm': 'd',
  'audit-channel': 'a',
  'app-home': 'h',
  'escalation-dm': 'e',
} as const satisfies Record<NoticeStep, string>;

const STEPS_BY_CODE = new Map<string, NoticeStep>(
  Object.entries(STEP_CODES).map(([step, code]) => [code, step as NoticeStep]),
);

/**
 * One entry of the notices' record: the notice's name and one part delivered (`approved-v2=t;`). The record is
 * one string appended to, not a field per notice: a field costs Redis about 100 bytes in a request's hash.
 */
export function noticeRecordEntry(notice: string, step: NoticeStep): string {
  if (notice.includes(STEP_MARK) || notice.includes(ENTRY_END)) {
    throw new Error(`a notice's name may not hold "${STEP_MARK}" or "${ENTRY_END}": ${notice}`);
  }
  return `${notice}${STEP_MARK}${STEP_CODES[step]}${ENTRY_END}`;
}

/** The parts of `notice` the record says were delivered (entries of other notices, or unknown parts, ignored). */
export function noticeStepsDone(record: string | null | undefined, notice: string): Set<NoticeStep> {
  const done = new Set<NoticeStep>();
  for (const entry of (record ?? '').split(ENTRY_END)) {
    const mark = entry.lastIndexOf(STEP_MARK);
    const step = STEPS_BY_CODE.get(entry.slice(mark + 1));
    if (mark > 0 && step !== undefined && entry.slice(0, mark) === notice) done.add(step);
  }
  return done;
}
