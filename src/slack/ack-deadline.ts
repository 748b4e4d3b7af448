import type { AckFn, ViewResponseAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../lib/logger';

/** Slack waits 3 s for an acknowledgement; answering in place is only attempted for this long. */
export const ACK_DEADLINE_MS = 2_000;

/**
 * Resolves with the work's result if it is ready before the deadline, or with `undefined` when it is not (the
 * caller then acknowledges at once and sends the result later). The work keeps running either way.
 */
export async function withinAckDeadline<T>(work: Promise<T>, deadlineMs = ACK_DEADLINE_MS): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), deadlineMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers a slash command privately: in the acknowledgement itself when the work is done in time, else with
 * `workingText` at once and the answer through the response URL. Resolves with the work's result.
 */
export async function answerEphemerally<T>(
  work: Promise<T>,
  textOf: (result: T) => string,
  slack: {
    ack: (message: { response_type: 'ephemeral'; text: string }) => Promise<void>;
    respond: (message: { response_type: 'ephemeral'; replace_original: boolean; text: string }) => Promise<unknown>;
    workingText: string;
  },
): Promise<T> {
  const ready = await withinAckDeadline(work);
  if (ready !== undefined) {
    await slack.ack({ response_type: 'ephemeral', text: textOf(ready) });
    return ready;
  }
  await slack.ack({ response_type: 'ephemeral', text: slack.workingText });
  const result = await work;
  await slack.respond({ response_type: 'ephemeral', replace_original: true, text: textOf(result) });
  return result;
}

/** How a piece of work ended, its failure caught so that it can be raced against the deadline and reported. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The work's {@link Outcome}; never rejects. */
export function outcomeOf<T>(work: Promise<T>): Promise<Outcome<T>> {
  return work.then(
    (value): Outcome<T> => ({ ok: true, value }),
    (error: unknown): Outcome<T> => ({ ok: false, error }),
  );
}

/** What {@link answerViewSubmission} needs from the listener and how it words each outcome. */
export interface ViewSubmissionReply<T> {
  ack: AckFn<ViewResponseAction>;
  client: WebClient;
  /** Who submitted the form; a late outcome goes to them as a DM. */
  userId: string;
  logger: Logger;
  /** The form, for the log line when the DM cannot be sent, e.g. `deny form`. */
  form: string;
  /** The acknowledgement for an outcome known in time: field errors, an updated view, or undefined to close it. */
  inForm(outcome: Outcome<T>): Promise<ViewResponseAction | undefined>;
  /** The DM for an outcome known only after the form closed; undefined sends none. */
  inDm(outcome: Outcome<T>): Promise<string | undefined>;
}

/**
 * Answers a modal submission within Slack's deadline: in the form itself when the work settles in time (so a
 * refusal shows next to its field), else by closing the form at once and sending the outcome as a DM once known.
 * Resolves with the work's outcome after the answer is out.
 */
export async function answerViewSubmission<T>(work: Promise<T>, reply: ViewSubmissionReply<T>): Promise<Outcome<T>> {
  const settled = outcomeOf(work);
  const ready = await withinAckDeadline(settled);
  if (ready !== undefined) {
    await reply.ack(await reply.inForm(ready));
    return ready;
  }
  await reply.ack();
  const late = await settled;
  const text = await reply.inDm(late);
  if (text !== undefined) {
    await reply.client.chat.postMessage({ channel: reply.userId, text }).catch((error: unknown) => {
      reply.logger.warn({ err: error, userId: reply.userId }, `could not send the outcome of a slow ${reply.form}`);
    });
  }
  return late;
}
