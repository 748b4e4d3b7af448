/** How long and how often {@link eventually} and {@link eventuallyValue} look. */
export interface EventuallyOptions {
  /** Give up after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between looks. Default 20 ms. */
  intervalMs?: number;
  /**
   * Asked after each look that failed: a reason to stop waiting at once (e.g. "the bot exited"), or undefined to go
   * on. Turns a wait that can no longer succeed into an immediate, explained failure.
   */
  abortIf?: () => string | undefined;
  /** Appended to the failure message: what the test saw last (logs, stored state, recorded calls). */
  detail?: () => string | Promise<string>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns a value other than `undefined` (or `false`), and resolves with it. A probe that
 * throws counts as "not yet"; its last error is reported if the wait times out. Fails with
 * `timed out after N ms waiting until <description>` plus `options.detail`, so the failure says what was awaited.
 */
export async function eventuallyValue<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  description: string,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    // Asked after a look that failed, so what happened just before the end (a last log line) still counts.
    const aborted = options.abortIf?.();
    if (aborted !== undefined) {
      throw new Error(`stopped waiting until ${description}: ${aborted}${await detailOf(options)}`);
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const cause =
    lastError === undefined
      ? ''
      : `\nthe last check threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${description}${cause}${await detailOf(options)}`);
}

/** Polls `check` until it holds; see {@link eventuallyValue} for the failure it reports. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  description: string,
  options: EventuallyOptions = {},
): Promise<void> {
  await eventuallyValue(async () => (await check()) || undefined, description, options);
}

async function detailOf(options: EventuallyOptions): Promise<string> {
  if (!options.detail) return '';
  try {
    return `\n${await options.detail()}`;
  } catch (error) {
    return `\n(could not describe what was seen: ${error instanceof Error ? error.message : String(error)})`;
  }
}
