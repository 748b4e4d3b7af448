import { App, type CustomRoute, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { EnvConfig } from '../config/env-schema';
import type { Clock } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { type AckRecorder, SocketModeAckTimer } from './ack-timing';
import { toBoltLogger } from './bolt-logger';
import type { BotIdentityResolver } from './bot-identity';
import { SlackHttpReceiver } from './slack-http-receiver';

/**
 * The bot keeps no per-conversation state in Bolt (everything lives in Redis), so Bolt's in-memory conversation
 * store is off: it looked up every event's conversation and built an Error (with its stack) for each miss.
 */
const APP_OPTIONS = { convoStore: false } as const;

/** Where Slack sends events, commands and interactions in HTTP mode. */
export const EVENTS_PATH = '/slack/events';

export interface SlackAppHandle {
  app: App;
  /** Starts receiving: the HTTP server on `port` (0 picks a free one), or the Socket Mode connection. */
  start(port: number): Promise<{ port: number | undefined }>;
  stop(): Promise<void>;
}

/**
 * The Bolt app on a receiver of our own making: {@link SlackHttpReceiver} at `/slack/events` (with the operations
 * `routes` beside it, refusing future-dated requests), or Bolt's Socket Mode receiver when an app token is set (the
 * routes then on `PORT`). Either way every acknowledgement is timed into `acks`. Transport only; listeners are
 * registered by the caller.
 */
export function createSlackApp(
  env: EnvConfig,
  logger: Logger,
  clientOptions: WebClientOptions,
  clock: Clock,
  identity: BotIdentityResolver,
  routes: CustomRoute[],
  acks: AckRecorder,
): SlackAppHandle {
  const boltLogger = toBoltLogger(logger);
  // Our own authorize instead of Bolt's token verification, whose start-up auth.test rejects unhandled (and
  // kills the process) when Slack is briefly unreachable.
  const authorize = async () => ({ botToken: env.SLACK_BOT_TOKEN, ...(await identity.resolve()) });
  if (env.SLACK_APP_TOKEN !== undefined) {
    const timer = new SocketModeAckTimer(acks);
    const receiver = new SocketModeReceiver({
      appToken: env.SLACK_APP_TOKEN,
      logger: boltLogger,
      customRoutes: routes,
      // The Socket Mode client opens its connection through the same Web API settings as the app's client.
      installerOptions: { port: env.PORT, clientOptions },
      customPropertiesExtractor: timer.received,
    });
    timer.watch(receiver.client);
    const app = new App({ authorize, receiver, logger: boltLogger, clientOptions, ...APP_OPTIONS });
    return {
      app,
      async start() {
        await app.start();
        return { port: env.PORT };
      },
      stop: () => app.stop().then(() => undefined),
    };
  }
  const receiver = new SlackHttpReceiver({
    bolt: {
      signingSecret: env.SLACK_SIGNING_SECRET ?? '',
      endpoints: EVENTS_PATH,
      customRoutes: routes,
      logger: boltLogger,
    },
    clock,
    logger,
    acks,
  });
  const app = new App({ authorize, receiver, logger: boltLogger, clientOptions, ...APP_OPTIONS });
  return {
    app,
    async start(port: number) {
      // Bolt's start hands the port to our receiver, which resolves with its listening server.
      const address = (await app.start(port)).address();
      return { port: typeof address === 'object' && address !== null ? address.port : undefined };
    },
    stop: () => receiver.stop(),
  };
}
