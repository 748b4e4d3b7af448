import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { App, type CustomRoute, HTTPReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { EnvConfig } from '../config/env-schema';
import type { Clock } from '../domain/ports';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import { ackKindOf, ackKindOfRawBody } from './ack-kind';
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

/** Where acknowledgement latency goes. */
export type AckRecorder = Pick<Metrics, 'observeAckLatency'>;

/**
 * The Bolt app: HTTP receiver at `/slack/events` (with the operations `routes` beside it), or Socket Mode when an
 * app token is set (the routes then on `PORT`). Times every acknowledgement into `acks`. Transport only; listeners
 * are registered by the caller.
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
    const app = new App({
      authorize,
      appToken: env.SLACK_APP_TOKEN,
      socketMode: true,
      logger: boltLogger,
      clientOptions,
      customRoutes: routes,
      installerOptions: { port: env.PORT },
    });
    timeSocketModeAcks(app, acks);
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
    customRoutes: routes,
    logger: boltLogger,
  });
  const verifyAndDispatch = receiver.requestListener;
  receiver.requestListener = (request, response) => {
    if (request.method === 'POST' && request.url?.split('?')[0] === EVENTS_PATH) timeHttpAck(request, response, acks);
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

/**
 * HTTP mode: from the request reaching the receiver to the response being finished, which is when Slack has its
 * acknowledgement (signature checks and body reading included). The kind is read from the body Bolt buffered onto
 * the request, after the response is out.
 */
function timeHttpAck(request: IncomingMessage, response: ServerResponse, acks: AckRecorder): void {
  // A monotonic timer, not the Clock port: this measures a duration, and a test's fixed clock would make it 0.
  const started = performance.now();
  response.once('finish', () => {
    const elapsed = performance.now() - started;
    const { rawBody } = request as IncomingMessage & { rawBody?: unknown };
    const kind = Buffer.isBuffer(rawBody)
      ? ackKindOfRawBody(rawBody.toString('utf8'), request.headers['content-type'])
      : 'other';
    acks.observeAckLatency(elapsed, kind);
  });
}

/**
 * Socket Mode: from Bolt receiving the envelope to the ack being sent back over the socket. The receiver hands each
 * envelope to `app.processEvent` (Bolt's receiver contract), so wrapping it sees every envelope and its ack.
 */
function timeSocketModeAcks(app: App, acks: AckRecorder): void {
  const processEvent = app.processEvent.bind(app);
  app.processEvent = (event) => {
    const started = performance.now();
    const kind = ackKindOf(event.body);
    return processEvent({
      ...event,
      ack: async (response) => {
        await event.ack(response);
        acks.observeAckLatency(performance.now() - started, kind);
      },
    });
  };
}
