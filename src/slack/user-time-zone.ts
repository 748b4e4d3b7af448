import type { WebClient } from '@slack/web-api';
import type { Logger } from '../lib/logger';

/** Where a time zone cannot be learnt from Slack, times people type are read in UTC. */
export const FALLBACK_TIME_ZONE = 'UTC';

/**
 * The person's time zone as their Slack profile sets it (`users.info` → `user.tz`, an IANA name such as
 * `Europe/Paris`), so a start they type reads as they meant it; UTC when Slack does not say or cannot be asked.
 */
export async function userTimeZone(client: WebClient, userId: string, logger: Logger): Promise<string> {
  try {
    const { user } = await client.users.info({ user: userId });
    const zone = user?.tz;
    if (typeof zone === 'string' && isTimeZone(zone)) return zone;
  } catch (error) {
    logger.warn({ err: error, userId }, 'could not read the time zone from Slack; reading the start in UTC');
  }
  return FALLBACK_TIME_ZONE;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
