import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  type App,
  type Logger as BoltLogger,
  HTTPModuleFunctions,
  HTTPReceiver,
  type HTTPReceiverOptions,
  type Receiver,
} from '@slack/bolt';
import type { Clock } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { type AckRecorder, timeHttpAck } from './ack-timing';
import { isFromTheFuture } from './request-freshness';

export interface SlackHttpReceiverOptions {
  /** Bolt's own receiver: signature checks, parsing, `ack()`, the operations routes (`customRoutes`). */
  bolt: HTTPReceiverOptions & { signingSecret: string; endpoints: string; logger: BoltLogger };
  clock: Clock;
  logger: Logger;
  acks: AckRecorder;
}

/**
 * A custom Bolt receiver (Bolt's `Receiver` contract) that owns the HTTP server and hands every request to Bolt's
 * `HTTPReceiver` through its public `requestListener`, after two things Bolt does not do:
 * - refuses a request timestamped in the future beyond Slack's skew (Bolt refuses only stale ones), so a request
 *   signed for later cannot be replayed until then;
 * - times each acknowledgement at `/slack/events`, from the request reaching the server to the response being
 *   finished, which is when Slack has it (signature check and body reading included).
 */
export class SlackHttpReceiver implements Receiver {
  private readonly bolt: HTTPReceiver;
  private server: Server | undefined;

  constructor(private readonly options: SlackHttpReceiverOptions) {
    this.bolt = new HTTPReceiver(options.bolt);
  }

  init(app: App): void {
    this.bolt.init(app);
  }

  /** Listens on `port` (0 picks a free one); resolves with the listening server. */
  start(port: number): Promise<Server> {
    if (this.server !== undefined) return Promise.reject(new Error('the Slack HTTP receiver is already started'));
    const server = createServer((request, response) => this.handle(request, response));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => {
        server.off('error', reject);
        this.server = server;
        resolve(server);
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error === undefined ? resolve() : reject(error)));
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const { bolt, clock, logger, acks } = this.options;
    if (request.method === 'POST' && request.url?.split('?')[0] === bolt.endpoints) {
      timeHttpAck(request, response, acks);
    }
    if (isFromTheFuture(request, clock.now())) {
      logger.warn({ url: request.url }, 'refused a Slack request timestamped in the future');
      response.writeHead(401).end();
      return;
    }
    try {
      this.bolt.requestListener(request, response);
    } catch (error) {
      // What Bolt's own server does with a path it does not route (404) or a listener that failed to start (500).
      HTTPModuleFunctions.defaultDispatchErrorHandler({
        error: error as Error,
        logger: bolt.logger,
        request,
        response,
      });
    }
  }
}
