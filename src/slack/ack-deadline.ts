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
