import { App, HTTPReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { EnvConfig } from '../config/env-schema';
import type { Clock } from '../domain/ports';
import { healthRoutes } from '../http/health-routes';
import type { Logger } from '../lib/logger';
import { toBoltLogger } from './bolt-logger';
import type { BotIdentityResolver } from './bot-identity';
import { isFromTheFuture } from './request-freshness';

/** Where Slack sends events, commands and interactions in HTTP mode. */
export const EVENTS_PATH = '/slack/events';

export interface SlackAppHandle {
  app: App;
  /** Starts receiving: the HTTP server on `port` (0 picks a free one), or the Socket Mode connection. */
  start(port: number): Promise<{ port: number | undefined }>;
  stop(): Promise<void>;
}

/**
 * The Bolt app: HTTP receiver at `/slack/events` (with `/healthz` beside it), or Socket Mode when an app token is
 * set. Transport only; listeners are registered by the caller.
 */
export function createSlackApp(
  env: EnvConfig,
  logger: Logger,
  clientOptions: WebClientOptions,
  clock: Clock,
  identity: BotIdentityResolver,
): SlackAppHandle {
  const boltLogger = toBoltLogger(logger);
  // Our own authorize instead of Bolt's token verification, whose start-up auth.test rejects unhandled (and
  // kills the process) when Slack is briefly unreachable.
  const authorize = async () => ({ botToken: env.SLACK_BOT_TOKEN, ...(await identity.resolve()) });
  if (env.SLACK_APP_TOKEN !== undefined) {
    const app = new App({
      authorize,
      appToken: env.SLACK_APP_TOKEN,
      socketMode: true,
      logger: boltLogger,
      clientOptions,
      customRoutes: healthRoutes(),
      installerOptions: { port: env.PORT },
    });
    return {
      app,
      async start() {
        await app.start();
        return { port: env.PORT };
      },
      stop: () => app.stop().then(() => undefined),
    };
  }
  const receiver = new HTTPReceiver({
    signingSecret: env.SLACK_SIGNING_SECRET ?? '',
    endpoints: EVENTS_PATH,
    customRoutes: healthRoutes(),
    logger: boltLogger,
  });
  const verifyAndDispatch = receiver.requestListener;
  receiver.requestListener = (request, response) => {
    if (isFromTheFuture(request, clock.now())) {
      logger.warn({ url: request.url }, 'refused a Slack request timestamped in the future');
      response.writeHead(401).end();
      return;
    }
    verifyAndDispatch(request, response);
  };
  const app = new App({ authorize, receiver, logger: boltLogger, clientOptions });
  return {
    app,
    async start(port: number) {
      const server = await app.start(port);
      const address = server.address();
      return { port: typeof address === 'object' && address !== null ? address.port : undefined };
    },
    stop: () => receiver.stop().then(() => undefined),
  };
}
