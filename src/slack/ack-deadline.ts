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
