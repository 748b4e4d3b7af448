import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line: tokens, secrets and credentials wherever they appear. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_APP_TOKEN',
  '*.SLACK_SIGNING_SECRET',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  '*.*.token',
  '*.*.authorization',
  '*.*.signingSecret',
  'password',
  '*.password',
  'redisUrl',
  '*.redisUrl',
];

/** Matches secrets that may hide inside free text (error messages, URLs), so they are masked too. */
const SECRET_IN_TEXT = /(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|redis(s)?:\/\/[^@\s]*@)/g;

export function maskSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, (match) =>
    match.startsWith('redis') ? match.replace(/\/\/[^@]*@/, '//***@') : `${match.slice(0, 5)}***`,
  );
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; standard output by default. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
}

/** Structured JSON logs with secrets redacted by path and masked inside messages. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'jit-access-bot' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const masked: unknown[] = args.map((arg) => (typeof arg === 'string' ? maskSecrets(arg) : arg));
          // Given an error and no message, pino copies the error's raw message into `msg`, out of the serializer's
          // reach; supplying the masked message ourselves keeps secrets out of that copy too.
          const errorMessage = args.length === 1 ? unloggedErrorMessage(args[0]) : undefined;
          if (errorMessage !== undefined) masked.push(maskSecrets(errorMessage));
          method.apply(this, masked as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (error: unknown) => {
          const serialized = pino.stdSerializers.err(error as Error);
          if (typeof serialized.message === 'string') serialized.message = maskSecrets(serialized.message);
          if (typeof serialized.stack === 'string') serialized.stack = maskSecrets(serialized.stack);
          return serialized;
        },
      },
    },
    options.destination,
  );
}

/** The message pino would log as `msg` for `log.error(err)` or `log.error({ err })` without a message. */
function unloggedErrorMessage(arg: unknown): string | undefined {
  if (arg instanceof Error) return arg.message;
  if (typeof arg !== 'object' || arg === null || (arg as { msg?: unknown }).msg !== undefined) return undefined;
  const { err } = arg as { err?: unknown };
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : undefined;
}
