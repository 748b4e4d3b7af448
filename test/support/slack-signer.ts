import { createHmac } from 'node:crypto';

/** The two headers Slack adds to every request it sends to an app. */
export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

/** Options for {@link postSigned}. */
export interface PostSignedOptions {
  /** Request timestamp in Unix seconds (signed and sent). Default: now. */
  timestamp?: number;
  /** Send this signature instead of the computed one (to test rejection). */
  signature?: string;
  /** Content type. Default `application/x-www-form-urlencoded`. */
  contentType?: string;
  /** Extra request headers (e.g. `x-slack-retry-num`). */
  headers?: Record<string, string>;
}

/** What {@link postSigned} got back. */
export interface SignedPostResult {
  status: number;
  /** Raw response body ('' when empty). */
  text: string;
  /** Parsed body when the response was JSON (by content type, or a body that parses as JSON). */
  json?: unknown;
  headers: Record<string, string>;
}

/**
 * Computes Slack's v0 request signature:
 * `v0=` + hex HMAC-SHA256(secret, `v0:<ts>:<body>`).
 *
 * @param timestampSeconds - Unix seconds; defaults to now.
 */
export function signSlackRequest(
  secret: string,
  body: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const ts = String(timestampSeconds);
  const hex = createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${hex}`, 'x-slack-request-timestamp': ts };
}

/**
 * POSTs `body` to `url` signed like Slack would sign it, and returns the status,
 * raw text and (when JSON) the parsed body.
 */
export async function postSigned(
  url: string,
  body: string,
  secret: string,
  opts: PostSignedOptions = {},
): Promise<SignedPostResult> {
  const signed = signSlackRequest(secret, body, opts.timestamp);
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    ...signed,
    ...(opts.signature !== undefined ? { 'x-slack-signature': opts.signature } : {}),
    ...opts.headers,
  };
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  const result: SignedPostResult = {
    status: response.status,
    text,
    headers: Object.fromEntries(response.headers.entries()),
  };
  const contentType = response.headers.get('content-type') ?? '';
  const trimmed = text.trim();
  if (trimmed !== '' && (/\bjson\b/i.test(contentType) || /^[[{]/.test(trimmed))) {
    try {
      result.json = JSON.parse(trimmed) as unknown;
    } catch (err) {
      if (/\bjson\b/i.test(contentType)) {
        throw new Error(`postSigned: response declared ${contentType} but is not JSON: ${text.slice(0, 500)}`, {
          cause: err,
        });
      }
    }
  }
  return result;
}
