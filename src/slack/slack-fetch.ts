/** The Slack Web API client's transport: `node:http(s)` over kept-alive connections instead of Node's built-in fetch. */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { FetchFunction } from '@slack/web-api';

type FetchResponse = Awaited<ReturnType<FetchFunction>>;
type FetchRequestInit = NonNullable<Parameters<FetchFunction>[1]>;

/** How long connections are kept, and how long an answer may take; both default to what undici's fetch does. */
export interface SlackFetchTimeouts {
  /**
   * An idle connection is kept this long for the next call: 4 s, as undici keeps them. A server announcing a
   * shorter `Keep-Alive: timeout` shortens it (Node's agent honours the hint only below a timeout of its own).
   */
  idleConnectionMs: number;
  /**
   * A call whose connection stays silent this long fails (the SDK retries it): 300 s, undici's `headersTimeout`
   * and `bodyTimeout`. Without it a call Slack never answers would hold its notice job for ever.
   */
  silentAnswerMs: number;
}

const UNDICI_TIMEOUTS: SlackFetchTimeouts = { idleConnectionMs: 4_000, silentAnswerMs: 300_000 };

/** The call's connection was silent for longer than {@link SlackFetchTimeouts.silentAnswerMs}. */
export class SlackAnswerTimedOut extends Error {
  override readonly name = 'SlackAnswerTimedOut';
}

/**
 * A fetch for `WebClient`'s `fetch` option. The SDK calls it with a form-encoded string body and reads the status,
 * headers and text of the answer; `node:http` does that at about two thirds of the CPU per call of Node's built-in
 * fetch, whose WHATWG streams cost more than the request itself (measured in docs/BENCHMARKS.md). Each call to
 * `slackFetch()` gets connections of its own. A multipart body (a file upload) goes through the built-in fetch,
 * which builds the form's boundary.
 */
export function slackFetch(timeouts: SlackFetchTimeouts = UNDICI_TIMEOUTS): FetchFunction & { close(): void } {
  const kept = { keepAlive: true, timeout: timeouts.idleConnectionMs, scheduling: 'lifo' } as const;
  const agents = { 'http:': new http.Agent(kept), 'https:': new https.Agent(kept) };
  const fetchOverHttp = (input: string | URL, init: FetchRequestInit = {}): Promise<FetchResponse> => {
    const { body } = init;
    if (body !== undefined && typeof body !== 'string') return fetch(input, init);
    const url = new URL(input);
    const agent = url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : undefined;
    if (agent === undefined) return Promise.reject(new TypeError(`slackFetch cannot reach ${url.protocol} URLs`));
    const headers: Record<string, string | number> = { ...init.headers };
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          agent,
          // While a call is under way its connection waits this long, not the idle time; the agent restores that.
          timeout: timeouts.silentAnswerMs,
          ...(init.signal && { signal: init.signal }),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => resolve(bufferedResponse(url.href, response, Buffer.concat(chunks))));
        },
      );
      request.on('error', reject);
      request.on('timeout', () =>
        request.destroy(new SlackAnswerTimedOut(`no answer from ${url.host} within ${timeouts.silentAnswerMs} ms`)),
      );
      request.end(body);
    });
  };
  return Object.assign(fetchOverHttp, {
    close: () => {
      for (const agent of Object.values(agents)) agent.destroy();
    },
  });
}

function bufferedResponse(url: string, response: http.IncomingMessage, body: Buffer): FetchResponse {
  const status = response.statusCode ?? 0;
  const text = async () => body.toString('utf8');
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: response.statusMessage ?? '',
    url,
    headers: fetchHeaders(response.headers),
    text,
    json: async () => JSON.parse(await text()) as unknown,
    arrayBuffer: async () => new Uint8Array(body).buffer,
  };
}

/** Node gives header names lower-cased, as `Headers` does; repeated ones are joined with `, ` as `Headers.get` does. */
function fetchHeaders(headers: IncomingHttpHeaders): FetchResponse['headers'] {
  const value = (raw: string | string[] | undefined) => (Array.isArray(raw) ? raw.join(', ') : raw);
  return {
    get: (name) => value(headers[name.toLowerCase()]) ?? null,
    entries: () =>
      Object.entries(headers).flatMap(([name, raw]): [string, string][] => {
        const joined = value(raw);
        return joined === undefined ? [] : [[name, joined]];
      }),
  };
}
