import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from '../lib/logger';

const TO_BOLT: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
  silent: LogLevel.ERROR,
};

/** Bolt and the Web API client log through pino, so their lines are structured and redacted like ours. */
export function toBoltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'slack' });
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: () => {},
    getLevel: () => TO_BOLT[child.level] ?? LogLevel.INFO,
    setName: () => {},
  };
}
