import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Alert, Alerter, Clock } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { escapeMrkdwn } from './blocks/format';
import { alertText } from './domain-text';
import { ACTION_IDS } from './ids';

/** The same alert (kind and request) is posted at most once in this window per process. */
export const ALERT_REPEAT_WINDOW_MS = 60 * 60_000;

const TITLES: Record<Alert['kind'], string> = {
  'revocation-failing': ':rotating_light: Revocation failing',
  'access-remains': ':rotating_light: Access still in place after revocation',
  drift: ':warning: Cloud and store disagree',
  'break-glass': ':fire_engine: Break-glass access',
  'policy-rejected': ':no_entry: Policy change refused',
  'audit-event-rejected': ':warning: Audit webhook refused an event',
};

export interface SlackAlerterOptions {
  /** The policy's admin channel, read at each alert so a reloaded policy applies. */
  adminChannel: () => string | undefined;
}

/**
 * Posts alerts to the admin channel, with the error and, for a failing revocation, a "Retry now" button. Run by
 * the notify queue, which has already logged the alert (all that happens when no admin channel is set); a post
 * Slack refuses throws, so the queue retries it.
 */
export class SlackAlerter implements Alerter {
  private readonly lastPosted = new Map<string, number>();

  constructor(
    private readonly client: WebClient,
    private readonly options: SlackAlerterOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async alert(alert: Alert): Promise<void> {
    const channel = this.options.adminChannel();
    if (channel === undefined) return;
    const key = `${alert.kind}:${alert.requestId ?? ''}`;
    const now = this.clock.now();
    const last = this.lastPosted.get(key);
    if (last !== undefined && now - last < ALERT_REPEAT_WINDOW_MS && alert.kind === 'drift') return;
    await this.client.chat.postMessage({
      channel,
      text: `${TITLES[alert.kind]}: ${alertText(alert)}`,
      blocks: alertBlocks(alert),
    });
    this.lastPosted.set(key, now);
    this.logger.debug({ alert, channel }, 'alert posted');
  }
}

/** The alert message: what happened, the error, and the retry button when it applies. */
export function alertBlocks(alert: Alert): KnownBlock[] {
  const blocks: KnownBlock[] = [
    // alertText escapes what people and clouds wrote, and keeps its own mentions live.
    { type: 'section', text: { type: 'mrkdwn', text: `*${TITLES[alert.kind]}*\n${alertText(alert)}` } },
  ];
  if (alert.error !== undefined) {
    blocks.push({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `Last error: \`${escapeMrkdwn(alert.error.replace(/`/g, "'").slice(0, 500))}\`` },
      ],
    });
  }
  if (alert.review && alert.requestId !== undefined) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ACTION_IDS.reviewBreakGlass,
          text: { type: 'plain_text', text: 'Mark reviewed' },
          style: 'primary',
          value: alert.requestId,
        },
      ],
    });
  }
  if (alert.retryRevocation && alert.requestId !== undefined) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ACTION_IDS.retryRevocation,
          text: { type: 'plain_text', text: 'Retry now' },
          style: 'danger',
          value: alert.requestId,
        },
      ],
    });
  }
  return blocks;
}
