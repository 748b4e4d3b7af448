/** Why a command-line tool stopped, by code; each maps to a `sysexits.h` status so scripts can tell them apart. */
export type CliErrorCode = 'usage' | 'config' | 'unavailable';

const EXIT_STATUS: Record<CliErrorCode, number> = {
  /** EX_USAGE: a bad option or value. */
  usage: 64,
  /** EX_UNAVAILABLE: a service it needs (Redis) cannot be reached. */
  unavailable: 69,
  /** EX_CONFIG: a bad setting in the environment or the policy file. */
  config: 78,
};

/** A failure the person running the tool can fix; its message says how. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitStatus(): number {
    return EXIT_STATUS[this.code];
  }
}
