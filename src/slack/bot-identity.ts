import type { WebClient } from '@slack/web-api';

/** Who the bot is in Slack, from `auth.test`. */
export interface BotIdentity {
  botId: string;
  botUserId: string;
}

/** Slack errors that mean the token itself is wrong: retrying cannot help, the operator must fix it. */
const TOKEN_ERRORS = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired']);

/** The bot token was refused by Slack. */
export class BotTokenRefused extends Error {
  override readonly name = 'BotTokenRefused';
}

/**
 * Looks the bot up once and remembers it. A failure is not remembered, so a Slack outage at start-up does not
 * stop the bot: the next request tries again, and meanwhile the job workers go on revoking.
 */
export class BotIdentityResolver {
  private resolved: BotIdentity | undefined;

  constructor(private readonly client: WebClient) {}

  async resolve(): Promise<BotIdentity> {
    if (this.resolved) return this.resolved;
    try {
      const result = await this.client.auth.test();
      if (typeof result.bot_id !== 'string' || typeof result.user_id !== 'string') {
        throw new BotTokenRefused(
          'SLACK_BOT_TOKEN is not a bot token: auth.test returned no bot_id; use the xoxb- token',
        );
      }
      this.resolved = { botId: result.bot_id, botUserId: result.user_id };
      return this.resolved;
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      if (code !== undefined && TOKEN_ERRORS.has(code)) {
        throw new BotTokenRefused(
          `SLACK_BOT_TOKEN was refused by Slack (${code}): copy the current Bot User OAuth Token from OAuth & Permissions`,
        );
      }
      throw error;
    }
  }
}
