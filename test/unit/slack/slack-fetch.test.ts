/** The Web API client's transport, under the real `WebClient`, against a local HTTP server. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { slackFetch } from '../../../src/slack/slack-fetch';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Answer = (request: Received, response: http.ServerResponse) => void;

const okJson: Answer = (_request, response) => {
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.setHeader('x-oauth-scopes', 'chat:write, users:read');
  response.end(JSON.stringify({ ok: true, channel: 'C0APPROVALS', ts: '1700000000.000100' }));
};

describe('slackFetch under WebClient', () => {
  let server: http.Server;
  let answer: Answer;
  const received: Received[] = [];
  let connections = 0;
  let transport: ReturnType<typeof slackFetch>;
  let slackApiUrl: string;

  beforeEach(async () => {
    received.length = 0;
    connections = 0;
    answer = okJson;
    server = http.createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        const seen = { method: request.method, url: request.url, headers: request.headers, body };
        received.push(seen);
        answer(seen, response);
      });
    });
    server.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    slackApiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    transport = slackFetch();
  });

  afterEach(async () => {
    transport.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (options: ConstructorParameters<typeof WebClient>[1] = {}) =>
    new WebClient('xoxb-test-token', {
      slackApiUrl,
      fetch: transport,
      retryConfig: { retries: 0 },
      logLevel: LogLevel.ERROR,
      ...options,
    });

  it('posts the form the SDK builds and gives back the answer, with the headers it reads', async () => {
    const result = await client().chat.postMessage({
      channel: 'C0APPROVALS',
      text: 'Approve?',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Approve *prod-admin*? café' } }],
    });
    expect(result).toMatchObject({ ok: true, ts: '1700000000.000100' });
    expect(result.response_metadata?.scopes).toEqual(['chat:write', 'users:read']);
    const [request] = received;
    expect(request).toMatchObject({ method: 'POST', url: '/api/chat.postMessage' });
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer xoxb-test-token',
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(request?.body ?? '')),
    });
    const form = new URLSearchParams(request?.body);
    expect(form.get('text')).toBe('Approve?');
    expect(JSON.parse(form.get('blocks') ?? '[]')).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'Approve *prod-admin*? café' } },
    ]);
  });

  it('keeps the connection for the next call', async () => {
    const web = client();
    for (let call = 0; call < 3; call += 1) await web.auth.test();
    expect(received).toHaveLength(3);
    expect(connections).toBe(1);
  });

  it("a 429 gives the SDK's rate-limit error with Slack's Retry-After", async () => {
    answer = (_request, response) => {
      response.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    };
    await expect(
      client({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: 'C1', text: 'x' }),
    ).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
  });

  it('another status gives the SDK its HTTP error, with the status, headers and body', async () => {
    answer = (_request, response) => {
      response.writeHead(503, 'Service Unavailable', { 'content-type': 'text/plain', 'x-slack-req-id': 'abc' });
      response.end('upstream down');
    };
    await expect(client().chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 503,
      statusMessage: 'Service Unavailable',
      headers: expect.objectContaining({ 'x-slack-req-id': 'abc' }),
      body: 'upstream down',
    });
  });

  it("an answer slower than the client's timeout aborts the call", async () => {
    answer = (_request, response) => {
      setTimeout(() => okJson(_request, response), 2_000).unref();
    };
    await expect(client({ timeout: 50 }).auth.test()).rejects.toMatchObject({ code: ErrorCode.RequestError });
  });

  it('an answer slower than the idle-connection time still arrives; a connection silent too long fails', async () => {
    transport.close();
    transport = slackFetch({ idleConnectionMs: 50, silentAnswerMs: 400 });
    answer = (request, response) => {
      setTimeout(() => okJson(request, response), 150).unref();
    };
    await expect(client().auth.test()).resolves.toMatchObject({ ok: true });
    answer = () => {};
    await expect(client().auth.test()).rejects.toMatchObject({
      code: ErrorCode.RequestError,
      original: expect.objectContaining({ name: 'SlackAnswerTimedOut' }),
    });
  });

  it('a refused connection is the SDK request error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await expect(client({ slackApiUrl: `http://127.0.0.1:${port}/api/` }).auth.test()).rejects.toMatchObject({
      code: ErrorCode.RequestError,
    });
  });

  it('a multipart body (a file upload) goes through the built-in fetch, which writes the boundary', async () => {
    const form = new FormData();
    form.append('channels', 'C1');
    form.append('file', new Blob(['hello']), 'hello.txt');
    const response = await transport(`${slackApiUrl}files.upload`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(received[0]?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(received[0]?.body).toContain('hello');
  });
});
