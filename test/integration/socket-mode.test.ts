import { randomUUID } from 'node:crypto';
import { type WebSocket, WebSocketServer } from 'ws';
import { parseEnv } from '../../src/config/env-schema';
import { parsePolicy } from '../../src/config/policy-schema';
import { buildContainer, type Container } from '../../src/container';
import { isRequestIdShaped } from '../../src/domain/request-id';
import { createLogger } from '../../src/lib/logger';
import { PROVIDER_TARGET_SCHEMAS } from '../../src/providers/registry';
import { eventuallyValue } from '../support/eventually';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api';
import { freePort } from '../support/free-port';
import { waitForMetrics } from '../support/prometheus-text';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** Socket Mode: Slack's WebSocket endpoint, played by a local server the fake Web API points the bot to. */
describe('Socket Mode (SLACK_APP_TOKEN set)', () => {
  let slack: FakeSlackApi;
  let wss: WebSocketServer;
  let container: Container;
  let healthPort: number;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const address = wss.address();
    const wsPort = typeof address === 'object' && address !== null ? address.port : 0;
    wss.on('connection', (socket) => {
      sockets.push(socket);
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0APP' } }));
    });
    slack = await startFakeSlackApi({
      usergroups: USERGROUPS,
      handlers: { 'apps.connections.open': () => ({ ok: true, url: `ws://127.0.0.1:${wsPort}/link` }) },
    });
    healthPort = await freePort();
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-socket-test',
      SLACK_APP_TOKEN: 'xapp-1-socket-test',
      SLACK_API_URL: slack.url,
      REDIS_URL: process.env.JIT_TEST_REDIS_URL ?? '',
      JIT_REDIS_PREFIX: `jit-socket-${randomUUID().slice(0, 8)}`,
      PORT: String(healthPort),
      LOG_LEVEL: 'silent',
    });
    container = buildContainer({
      config: { env, policy: parsePolicy(TEST_POLICY, 'test policy', PROVIDER_TARGET_SCHEMAS) },
      logger: createLogger({ level: 'silent' }),
      slackClientOptions: { retryConfig: { retries: 0 } },
    });
    await container.start(healthPort);
  });

  afterAll(async () => {
    await container.stop();
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await slack.stop();
  });

  it('takes /jit over the socket, answers in the acknowledgement, and serves /healthz', async () => {
    const socket = await eventuallyValue(() => sockets[0], 'the bot opened the Socket Mode connection');

    const envelopeId = randomUUID();
    const acked = new Promise<{ envelope_id: string; payload?: { text?: string; response_type?: string } }>(
      (resolve) => {
        socket.on('message', (data: Buffer) => {
          const message = JSON.parse(data.toString('utf8')) as { envelope_id?: string };
          if (message.envelope_id === envelopeId) resolve(message as never);
        });
      },
    );
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          token: 'legacy',
          team_id: 'T0TEAM',
          team_domain: 'fake',
          channel_id: 'C0GENERAL',
          channel_name: 'general',
          user_id: 'U0ALICE',
          user_name: 'alice',
          command: '/jit',
          text: 'request sandbox-admin 1h socket mode works',
          api_app_id: 'A0APP',
          response_url: slack.responseUrl(),
          trigger_id: 'trigger',
        },
      }),
    );
    const ack = await acked;
    expect(ack.payload?.response_type).toBe('ephemeral');
    const filed = /Request `([^`]*)` for \*sandbox-admin\* \(1h\) is filed/.exec(ack.payload?.text ?? '');
    expect(isRequestIdShaped(filed?.[1] ?? '')).toBe(true);
    await slack.waitFor((call) => call.method === 'chat.postMessage' && call.args.channel === 'C0APPROVALS', {
      description: 'approval message posted in Socket Mode',
    });

    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(health.status).toBe(200);
  });

  it('serves /readyz and /metrics on PORT, with the Socket Mode ack timed', async () => {
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await waitForMetrics(
      `http://127.0.0.1:${healthPort}`,
      (m) => m.value('jit_slack_ack_seconds_count', { kind: 'command' }) === 1,
    );
    expect(metrics.value('jit_requests', { state: 'pending' })).toBe(1);
    expect(metrics.all('jit_slack_ack_seconds_count').map((sample) => sample.labels.kind)).toEqual(['command']);
  });
});
