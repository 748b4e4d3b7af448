import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { messageBlocksProblems, viewProblems } from './block-kit-rules';

/** One request the fake received, in arrival order. */
export interface RecordedCall {
  /**
   * Web API method (`chat.postMessage`), `response_url` for posts to {@link FakeSlackApi.responseUrl}, or
   * {@link FILE_UPLOAD} for file bytes posted to an upload URL that `files.getUploadURLExternal` gave out.
   */
  method: string;
  /** Decoded arguments; `blocks`/`attachments`/`view`/… JSON strings are parsed back to objects. */
  args: Record<string, unknown>;
  /** Bearer token from the Authorization header (falls back to a `token` argument). */
  token?: string;
  /** Request path, e.g. `/api/chat.postMessage` or `/response/abc`. */
  path: string;
  /** HTTP status the fake answered with. */
  status: number;
  /** Body the fake answered with. */
  response: unknown;
}

/**
 * An injected answer for {@link FakeSlackApi.failNext}: a test control, not a claim about when Slack fails. The
 * defaults follow Slack: a 429 carries `Retry-After` and `ratelimited` (docs.slack.dev/apis/web-api/rate-limits);
 * `fatal_error` is one of the Web API's common errors (each method page's errors table).
 */
export interface FakeResponse {
  /** HTTP status. Default 200. */
  status?: number;
  /** JSON body (strings are sent raw). Default `{ ok: false, error: 'ratelimited' }` for 429, else `{ ok: false, error: 'fatal_error' }`. */
  body?: unknown;
  /** Extra headers. A 429 gets `Retry-After: 1` unless given. */
  headers?: Record<string, string>;
}

/** Shape of a `users.info` user; every field can be overridden with {@link FakeSlackApi.setUser}. */
export interface FakeSlackUser {
  id: string;
  name: string;
  real_name?: string;
  team_id?: string;
  deleted: boolean;
  is_bot?: boolean;
  is_restricted: boolean;
  is_ultra_restricted: boolean;
  profile: { email?: string; display_name?: string; real_name?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * A file uploaded the way `files.uploadV2` does it: `files.getUploadURLExternal` (an upload URL on the fake), the
 * bytes posted there, then `files.completeUploadExternal`.
 */
export interface FakeUpload {
  fileId: string;
  /** As given to `files.getUploadURLExternal`. */
  filename: string;
  /** The byte length declared to `files.getUploadURLExternal`. */
  length: number;
  /** The bytes posted to the upload URL; absent until they arrive. */
  content?: Buffer;
  /** True once `files.completeUploadExternal` named the file. */
  completed: boolean;
  /** Where `files.completeUploadExternal` shared it (`channel_id`, else the first of `channels`). */
  channelId?: string;
  title?: string;
  initialComment?: string;
}

/** The `method` recorded for bytes posted to an upload URL (and the key for {@link FakeSlackApi.failNext}). */
export const FILE_UPLOAD = 'file_upload';

/** Custom method implementation: returns the JSON body to answer with. */
export type FakeSlackHandler = (
  args: Record<string, unknown>,
  call: { method: string; token?: string },
) => unknown | Promise<unknown>;

/** Matches recorded calls. A string matches by method name. Predicates that throw count as "no match". */
export type CallMatcher = string | ((call: RecordedCall) => boolean);

/** Options for {@link FakeSlackApi.waitFor} / {@link FakeSlackApi.waitForCount}. */
export interface WaitOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** What is being waited for; shown in the timeout error. */
  description?: string;
}

/** Options for {@link startFakeSlackApi}. */
export interface FakeSlackApiOptions {
  /** Initial `usergroups.users.list` membership, by usergroup id. */
  usergroups?: Record<string, string[]>;
  /** Initial `users.info` overrides, by user id (`null` → `user_not_found`). */
  users?: Record<string, Partial<FakeSlackUser> | null>;
  /** Custom implementations by method name; they take precedence over the built-in answers. */
  handlers?: Record<string, FakeSlackHandler>;
}

/** Handle to a running fake Slack Web API. */
export interface FakeSlackApi {
  /** `http://127.0.0.1:PORT/api/`, for WebClient's `slackApiUrl`. */
  readonly url: string;
  /** Listening port. */
  readonly port: number;
  /** A URL that records POSTs as `response_url` calls (use as a slash command / action `response_url`). */
  responseUrl(id?: string): string;
  /** Sets the members returned by `usergroups.users.list` for `id`. */
  setUsergroup(id: string, members: string[]): void;
  /** Overrides `users.info` fields for `id` (profile is merged); `null` makes it `user_not_found`. */
  setUser(id: string, user: Partial<FakeSlackUser> | null): void;
  /** Installs (or with `undefined` removes) a custom implementation of `method`. */
  setHandler(method: string, handler: FakeSlackHandler | undefined): void;
  /**
   * Answers the next `times` calls of `method` with an error instead of the normal answer.
   * A string is shorthand for `{ body: { ok: false, error } }`. Queued failures are used in order.
   */
  failNext(method: string, errorOrResponse: string | FakeResponse, times?: number): void;
  /** Recorded calls (a copy), optionally only those of `method`. */
  calls(method?: string): RecordedCall[];
  /** Forgets recorded calls. */
  clear(): void;
  /** Forgets calls, queued failures, handlers, users, usergroups and uploads. */
  reset(): void;
  /** Resolves with the first (already or later) recorded call matching; rejects after the timeout. */
  waitFor(match: CallMatcher, opts?: WaitOptions): Promise<RecordedCall>;
  /** Resolves with the first `n` matching calls once there are at least `n`; rejects after the timeout. */
  waitForCount(match: CallMatcher, n: number, opts?: WaitOptions): Promise<RecordedCall[]>;
  /** Human-readable list of recorded calls (what timeout errors show). */
  describeCalls(): string;
  /** Files uploaded through `files.getUploadURLExternal` (copies), in the order their URLs were given out. */
  uploads(): FakeUpload[];
  /** Closes the server, destroys open sockets and rejects pending waits. Idempotent. */
  stop(): Promise<void>;
}

/** Form arguments that @slack/web-api JSON-encodes; decoded back to objects when recorded. */
const JSON_ARG_KEYS = new Set([
  'blocks',
  'attachments',
  'view',
  'metadata',
  'unfurls',
  'user_auth_blocks',
  'profile',
  'files',
]);

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_CALLS_SHOWN = 40;
const MAX_CALL_CHARS = 400;
const MAX_ARG_CHARS = 120;

type Json = Record<string, unknown>;

interface Waiter {
  check(): void;
  abort(err: Error): void;
}

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

function str(args: Json, key: string): string | undefined {
  const v = args[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function decodeJsonArgs(args: Json): Json {
  for (const [key, value] of Object.entries(args)) {
    if (!JSON_ARG_KEYS.has(key) || typeof value !== 'string') continue;
    const t = value.trim();
    if (!t.startsWith('{') && !t.startsWith('[')) continue;
    try {
      args[key] = JSON.parse(t) as unknown;
    } catch {
      // leave malformed JSON as the raw string so the test can see it
    }
  }
  return args;
}

async function parseArgs(raw: Buffer, contentType: string, query: URLSearchParams): Promise<Json> {
  const args: Json = Object.fromEntries(query.entries());
  const ct = contentType.toLowerCase();
  const text = raw.toString('utf8');
  if (ct.includes('application/json')) {
    if (text.trim() !== '') {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(args, parsed);
      else args._body = parsed;
    }
  } else if (ct.includes('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
    for (const [key, value] of form.entries()) {
      args[key] = typeof value === 'string' ? value : { filename: value.name, size: value.size, type: value.type };
    }
  } else if (text !== '') {
    for (const [key, value] of new URLSearchParams(text)) args[key] = value;
  }
  return decodeJsonArgs(args);
}

/** The file bytes of an upload: the first file part of a multipart body (as WebClient sends it), else the body. */
async function uploadedBytes(raw: Buffer, contentType: string): Promise<Buffer> {
  if (!contentType.toLowerCase().includes('multipart/form-data')) return raw;
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  for (const value of form.values()) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  }
  return raw;
}

/**
 * Slack takes only conversation IDs (C…, G…, D…, Z…) as `channel_id` of files.completeUploadExternal; a user ID
 * there is refused (the method page asks for a channel ID; the error name invalid_arguments is an assumption).
 */
function isConversationId(id: string): boolean {
  return /^[CGDZ][A-Z0-9]+$/.test(id);
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  return m?.[1];
}

function abbreviate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function describeCall(call: RecordedCall, index: number): string {
  let outcome = '';
  const body = call.response as { ok?: unknown; error?: unknown } | undefined;
  if (call.status !== 200) outcome = ` → HTTP ${call.status}`;
  else if (body && typeof body === 'object' && body.ok === false) outcome = ` → ok:false ${String(body.error)}`;
  const args = Object.entries(call.args)
    .map(([key, value]) => {
      let shown: string;
      try {
        shown = JSON.stringify(value) ?? String(value);
      } catch {
        shown = String(value);
      }
      return `${key}=${abbreviate(shown, MAX_ARG_CHARS)}`;
    })
    .join(' ');
  return `  #${index + 1} ${call.method} ${abbreviate(args, MAX_CALL_CHARS)}${outcome}`;
}

/**
 * chat.postMessage and chat.update answer `invalid_blocks` ("Blocks submitted with this message are not valid",
 * their errors tables) for blocks Slack cannot accept.
 */
function refusedBlocks(args: Json): Json | undefined {
  const problems = messageBlocksProblems(args.blocks);
  if (problems.length === 0) return undefined;
  return { ok: false, error: 'invalid_blocks', response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } };
}

function dmChannelFor(userId: string): string {
  return `D${userId.slice(1)}`;
}

function isUserId(id: string): boolean {
  return /^[UW][A-Z0-9]+$/.test(id);
}

/**
 * Starts a fake Slack Web API on 127.0.0.1 (random port) that answers `POST /api/<method>`
 * like Slack does, records every call, and can inject errors. Pass `fake.url` as
 * WebClient's `slackApiUrl`.
 */
export async function startFakeSlackApi(opts: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const recorded: RecordedCall[] = [];
  const waiters = new Set<Waiter>();
  const failures = new Map<string, FakeResponse[]>();
  const handlers = new Map<string, FakeSlackHandler>(Object.entries(opts.handlers ?? {}));
  const usergroups = new Map<string, string[]>(Object.entries(opts.usergroups ?? {}));
  const users = new Map<string, Partial<FakeSlackUser> | null>(Object.entries(opts.users ?? {}));
  const sockets = new Set<Socket>();
  const uploads = new Map<string, FakeUpload>();
  let fileCounter = 0;
  /** `http://127.0.0.1:PORT` once listening; upload URLs point there. */
  let uploadBase = '';
  let tsCounter = 0;
  let viewCounter = 0;
  let stopped = false;

  const nextTs = (): string => {
    tsCounter += 1;
    const micros = tsCounter * 100;
    return `${1_700_000_000 + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };

  const userFor = (id: string): FakeSlackUser | null => {
    const override = users.get(id);
    if (override === null) return null;
    // Defaults: a full member (not deleted, bot, guest: `is_restricted`/`is_ultra_restricted` false) whose profile
    // carries an email, as users.info returns for a token with users:read.email (docs.slack.dev/reference/methods/
    // users.info). The derived name and address are the fake's own, so tests need not list people first.
    const base: FakeSlackUser = {
      id,
      team_id: 'T0TEAM',
      name: id.toLowerCase(),
      real_name: id.toLowerCase(),
      deleted: false,
      is_bot: false,
      is_restricted: false,
      is_ultra_restricted: false,
      // A member who signed up through an invitation has confirmed their address (users.info's user object,
      // `is_email_confirmed`, docs.slack.dev/reference/objects/user-object); override it to model an address Slack
      // has not verified. Whether most real members have it true is an assumption (invitations confirm it).
      is_email_confirmed: true,
      // users.info's user object carries the person's time zone as an IANA name (docs.slack.dev/reference/methods/users.info).
      tz: 'America/Los_Angeles',
      profile: { email: `${id.toLowerCase()}@example.com`, display_name: id.toLowerCase() },
    };
    return { ...base, ...override, id, profile: { ...base.profile, ...override?.profile } };
  };

  const builtIn = (method: string, args: Json): unknown => {
    switch (method) {
      // auth.test's documented answer fields (docs.slack.dev/reference/methods/auth.test).
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'jitbot',
          team_id: 'T0TEAM',
          user_id: 'U0BOT',
          bot_id: 'B0BOT',
          is_enterprise_install: false,
        };
      case 'chat.postMessage': {
        const refused = refusedBlocks(args);
        if (refused) return refused;
        // docs.slack.dev/reference/methods/chat.postMessage errors: channel_not_found, no_text ("No message text
        // provided" when none of text, blocks, attachments is given). A user ID as `channel` posts to the app's DM
        // with that user and the answer names the DM channel; its D… ID derived from the user's is the fake's own.
        const channel = str(args, 'channel');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const text = str(args, 'text');
        if (text === undefined && args.blocks === undefined && args.attachments === undefined) {
          return { ok: false, error: 'no_text' };
        }
        const ts = nextTs();
        const message: Json = { type: 'message', user: 'U0BOT', bot_id: 'B0BOT', text: text ?? '', ts };
        if (args.blocks !== undefined) message.blocks = args.blocks;
        if (args.attachments !== undefined) message.attachments = args.attachments;
        const threadTs = str(args, 'thread_ts');
        if (threadTs) message.thread_ts = threadTs;
        return { ok: true, channel: isUserId(channel) ? dmChannelFor(channel) : channel, ts, message };
      }
      case 'chat.update': {
        const refused = refusedBlocks(args);
        if (refused) return refused;
        const channel = str(args, 'channel');
        const ts = str(args, 'ts');
        // docs.slack.dev/reference/methods/chat.update errors: channel_not_found, message_not_found. The fake does
        // not check that `ts` names a message it posted (an assumption kept lenient for tests that seed none).
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (!ts) return { ok: false, error: 'message_not_found' };
        const text = str(args, 'text') ?? '';
        const message: Json = { type: 'message', user: 'U0BOT', bot_id: 'B0BOT', text };
        if (args.blocks !== undefined) message.blocks = args.blocks;
        return { ok: true, channel, ts, text, message };
      }
      // docs.slack.dev/reference/methods/chat.postEphemeral: answers `message_ts`; errors channel_not_found,
      // user_not_found.
      case 'chat.postEphemeral': {
        if (!str(args, 'channel')) return { ok: false, error: 'channel_not_found' };
        if (!str(args, 'user')) return { ok: false, error: 'user_not_found' };
        return { ok: true, message_ts: nextTs() };
      }
      // docs.slack.dev/reference/methods/conversations.open: `channel` resumes a conversation, `users` opens a DM
      // (one) or MPIM (several); users_list_not_supplied when neither. The IDs it invents are the fake's own.
      case 'conversations.open': {
        const existing = str(args, 'channel');
        if (existing) return { ok: true, channel: { id: existing } };
        const ids = (str(args, 'users') ?? '')
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean);
        const [only] = ids;
        if (only === undefined) return { ok: false, error: 'users_list_not_supplied' };
        const id = ids.length === 1 ? dmChannelFor(only) : `G${ids.map((u) => u.slice(1)).join('')}`.slice(0, 20);
        return { ok: true, channel: { id } };
      }
      // docs.slack.dev/reference/methods/usergroups.users.list: `users` on success, no_such_subteam otherwise.
      case 'usergroups.users.list': {
        const group = str(args, 'usergroup') ?? '';
        const members = usergroups.get(group);
        if (!members) return { ok: false, error: 'no_such_subteam' };
        return { ok: true, users: [...members] };
      }
      // docs.slack.dev/reference/methods/users.info: user_not_found for an unknown ID.
      case 'users.info': {
        const id = str(args, 'user');
        const user = id ? userFor(id) : null;
        return user ? { ok: true, user } : { ok: false, error: 'user_not_found' };
      }
      // docs.slack.dev/reference/methods/users.lookupByEmail: users_not_found when no member has the address. The
      // fake matches the address without case; Slack's page does not say, so that is an assumption (an address's
      // domain part is case-free, and people type their own in any case).
      case 'users.lookupByEmail': {
        const email = (str(args, 'email') ?? '').toLowerCase();
        for (const id of users.keys()) {
          const u = userFor(id);
          if (u && u.profile.email?.toLowerCase() === email) return { ok: true, user: u };
        }
        const m = /^([uw][a-z0-9]+)@example\.com$/.exec(email);
        const derived = m?.[1] ? userFor(m[1].toUpperCase()) : null;
        return derived ? { ok: true, user: derived } : { ok: false, error: 'users_not_found' };
      }
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish': {
        const view = args.view && typeof args.view === 'object' ? (args.view as Json) : {};
        // views.open / views.update / views.publish list `invalid_arguments` for a view Slack cannot accept; the
        // messages name each problem as Slack's do (`[ERROR] … [json-pointer:/view/…]`).
        const problems = viewProblems(view);
        if (problems.length > 0)
          return {
            ok: false,
            error: 'invalid_arguments',
            response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
          };
        viewCounter += 1;
        const id = str(args, 'view_id') ?? `V${String(viewCounter).padStart(10, '0')}`;
        return { ok: true, view: { ...view, id, team_id: 'T0TEAM', app_id: 'A0APP', bot_id: 'B0BOT' } };
      }
      // The fake serves no Socket Mode: apps.connections.open is refused so nothing connects by accident. The error
      // name is the fake's own; Slack answers a wrong token type with not_allowed_token_type
      // (docs.slack.dev/reference/methods/apps.connections.open).
      case 'apps.connections.open':
        return { ok: false, error: 'not_allowed' };
      // docs.slack.dev/reference/methods/files.getUploadURLExternal: `filename` and `length` required; answers
      // upload_url and file_id. invalid_arguments for a missing one is the Web API's common error.
      case 'files.getUploadURLExternal': {
        const filename = str(args, 'filename');
        const length = Number(str(args, 'length'));
        if (!filename || !Number.isSafeInteger(length) || length < 0) return { ok: false, error: 'invalid_arguments' };
        fileCounter += 1;
        const fileId = `F${String(fileCounter).padStart(10, '0')}`;
        uploads.set(fileId, { fileId, filename, length, completed: false });
        return { ok: true, upload_url: `${uploadBase}/upload/${fileId}`, file_id: fileId };
      }
      // docs.slack.dev/reference/methods/files.completeUploadExternal: `files` required; `channel_id` names a
      // conversation (a user ID there is refused); file_not_found for a file whose bytes never arrived.
      case 'files.completeUploadExternal': {
        const files = Array.isArray(args.files) ? (args.files as Json[]) : [];
        if (files.length === 0) return { ok: false, error: 'invalid_arguments' };
        const channelId = str(args, 'channel_id') ?? str(args, 'channels')?.split(',')[0]?.trim();
        if (str(args, 'channel_id') !== undefined && !isConversationId(channelId ?? '')) {
          return { ok: false, error: 'invalid_arguments' };
        }
        const found = files.map((file) => uploads.get(str(file, 'id') ?? ''));
        if (found.some((upload) => upload?.content === undefined)) return { ok: false, error: 'file_not_found' };
        const initialComment = str(args, 'initial_comment');
        return {
          ok: true,
          files: found.map((upload, index) => {
            if (!upload) throw new Error('unreachable: checked above');
            const title = str(files[index] ?? {}, 'title');
            upload.completed = true;
            if (channelId !== undefined) upload.channelId = channelId;
            if (title !== undefined) upload.title = title;
            if (initialComment !== undefined) upload.initialComment = initialComment;
            return {
              id: upload.fileId,
              name: upload.filename,
              title: title ?? upload.filename,
              size: upload.content?.length ?? 0,
            };
          }),
        };
      }
      default:
        // Assumption, lenient on purpose: any other method succeeds with `{ ok: true }` (reactions.add, chat.delete,
        // response_url posts...). Slack answers an unknown method with `unknown_method`; the fake cannot tell
        // unknown from unmodelled, so tests that care install a handler.
        return { ok: true };
    }
  };

  /** The next queued failure of `method`, as the answer to send, if any. */
  const takeFailure = (method: string): Answer | undefined => {
    const queued = failures.get(method);
    const failure = queued?.shift();
    if (queued && queued.length === 0) failures.delete(method);
    if (!failure) return undefined;
    const status = failure.status ?? 200;
    const headers: Record<string, string> = { ...failure.headers };
    if (status === 429 && !Object.keys(headers).some((h) => h.toLowerCase() === 'retry-after')) {
      headers['Retry-After'] = '1';
    }
    const body = failure.body ?? { ok: false, error: status === 429 ? 'ratelimited' : 'fatal_error' };
    return { status, body, headers };
  };

  /**
   * Bytes posted to an upload URL: kept for the file, answered as Slack does (`OK - <bytes>`, plain text; the
   * upload step of docs.slack.dev/messaging/working-with-files, "Upload files" says a 200 means success; the body
   * text is an assumption, unconfirmed against a spec page). A URL never given out is 404, the fake's own.
   */
  const answerUpload = (fileId: string, content: Buffer): Answer => {
    const failure = takeFailure(FILE_UPLOAD);
    if (failure) return failure;
    const upload = uploads.get(fileId);
    if (!upload) return { status: 404, body: 'unknown upload URL', headers: {} };
    upload.content = content;
    return { status: 200, body: `OK - ${content.length}`, headers: {} };
  };

  const answerFor = async (method: string, args: Json, token: string | undefined): Promise<Answer> => {
    const failure = takeFailure(method);
    if (failure) return failure;
    const custom = handlers.get(method);
    const body = custom
      ? await custom(args, token === undefined ? { method } : { method, token })
      : builtIn(method, args);
    return { status: 200, body, headers: {} };
  };

  const record = (call: RecordedCall): void => {
    recorded.push(call);
    for (const w of [...waiters]) w.check();
  };

  const describeCalls = (): string => {
    if (recorded.length === 0) return '  (no calls recorded)';
    const start = Math.max(0, recorded.length - MAX_CALLS_SHOWN);
    const lines = recorded.slice(start).map((c, i) => describeCall(c, start + i));
    if (start > 0) lines.unshift(`  (${start} earlier calls omitted)`);
    return lines.join('\n');
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const apiMatch = /^\/api\/([^/]+)$/.exec(url.pathname);
    const isResponseUrl = url.pathname.startsWith('/response/');
    const send = (a: Answer): void => {
      const payload = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
      res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', ...a.headers });
      res.end(payload);
    };
    const uploadMatch = /^\/upload\/([^/]+)$/.exec(url.pathname);
    if (uploadMatch?.[1]) {
      const fileId = decodeURIComponent(uploadMatch[1]);
      const content = await uploadedBytes(raw, req.headers['content-type'] ?? '');
      const answer = answerUpload(fileId, content);
      const args: Json = { file_id: fileId, size: content.length, content: content.toString('utf8') };
      const call: RecordedCall = {
        method: FILE_UPLOAD,
        args,
        path: url.pathname,
        status: answer.status,
        response: answer.body,
      };
      const token = bearer(req.headers.authorization);
      if (token !== undefined) call.token = token;
      record(call);
      res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', ...answer.headers });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      return;
    }
    // The fake's own: a path it does not serve.
    if (!apiMatch?.[1] && !isResponseUrl) {
      send({ status: 404, body: { ok: false, error: 'unknown_path', path: url.pathname }, headers: {} });
      return;
    }
    const method = apiMatch?.[1] ? decodeURIComponent(apiMatch[1]) : 'response_url';
    let args: Json;
    try {
      args = await parseArgs(raw, req.headers['content-type'] ?? '', url.searchParams);
    } catch (err) {
      // invalid_form_data, HTTP 200: a common Web API error ("The method was called via a POST containing invalid
      // form data"), each method page's errors table.
      const answer: Answer = { status: 200, body: { ok: false, error: 'invalid_form_data' }, headers: {} };
      record({
        method,
        args: { _raw: raw.toString('utf8'), _error: String(err) },
        path: url.pathname,
        status: 200,
        response: answer.body,
      });
      send(answer);
      return;
    }
    const token = bearer(req.headers.authorization) ?? str(args, 'token');
    let answer: Answer;
    try {
      answer = await answerFor(method, args, token);
    } catch (err) {
      // The fake's own: a test handler that throws shows as 500, not as anything Slack would say.
      answer = { status: 500, body: { ok: false, error: 'fake_handler_threw', detail: String(err) }, headers: {} };
    }
    const call: RecordedCall = { method, args, path: url.pathname, status: answer.status, response: answer.body };
    if (token !== undefined) call.token = token;
    record(call);
    send(answer);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'fake_internal_error', detail: String(err) }));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  uploadBase = base;

  const toPredicate = (match: CallMatcher): ((call: RecordedCall) => boolean) => {
    if (typeof match === 'string') return (c) => c.method === match;
    return (c) => {
      try {
        return match(c);
      } catch {
        return false;
      }
    };
  };

  const describeMatcher = (match: CallMatcher, o: WaitOptions): string => {
    if (o.description) return o.description;
    if (typeof match === 'string') return `a ${match} call`;
    return `a call matching ${abbreviate(match.toString().replace(/\s+/g, ' '), 200)}`;
  };

  /** Polls `probe` on every recorded call until it returns a value; the Error is created here for a useful stack. */
  const waitUntil = <T>(probe: () => T | undefined, timeoutMs: number, message: () => string): Promise<T> => {
    const error = new Error('fake Slack API wait timed out');
    const first = probe();
    if (first !== undefined) return Promise.resolve(first);
    if (stopped) return Promise.reject(new Error('fake Slack API is stopped'));
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          const v = probe();
          if (v !== undefined) {
            finish();
            resolve(v);
          }
        },
        abort: (err) => {
          finish();
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        finish();
        error.message = `${message()} (waited ${timeoutMs} ms)\nRecorded Slack API calls:\n${describeCalls()}`;
        reject(error);
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  let stopping: Promise<void> | undefined;

  return {
    url: `${base}/api/`,
    port,
    responseUrl: (id = 'default') => `${base}/response/${encodeURIComponent(id)}`,
    setUsergroup: (id, members) => {
      usergroups.set(id, [...members]);
    },
    setUser: (id, user) => {
      if (user === null) {
        users.set(id, null);
        return;
      }
      const prev = users.get(id) ?? {};
      users.set(id, { ...prev, ...user, profile: { ...prev.profile, ...user.profile } });
    },
    setHandler: (method, handler) => {
      if (handler) handlers.set(method, handler);
      else handlers.delete(method);
    },
    failNext: (method, errorOrResponse, times = 1) => {
      const response: FakeResponse =
        typeof errorOrResponse === 'string' ? { body: { ok: false, error: errorOrResponse } } : errorOrResponse;
      const queue = failures.get(method) ?? [];
      for (let i = 0; i < times; i++) queue.push(response);
      failures.set(method, queue);
    },
    calls: (method) => recorded.filter((c) => method === undefined || c.method === method),
    clear: () => {
      recorded.length = 0;
    },
    reset: () => {
      recorded.length = 0;
      failures.clear();
      handlers.clear();
      users.clear();
      usergroups.clear();
      uploads.clear();
    },
    waitFor: (match, o = {}) => {
      const pred = toPredicate(match);
      return waitUntil(
        () => recorded.find(pred),
        o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        () => `Timed out waiting for ${describeMatcher(match, o)}`,
      );
    },
    waitForCount: (match, n, o = {}) => {
      const pred = toPredicate(match);
      return waitUntil(
        () => {
          const hits = recorded.filter(pred);
          return hits.length >= n ? hits.slice(0, n) : undefined;
        },
        o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        () => `Timed out waiting for ${n} × ${describeMatcher(match, o)}; matched ${recorded.filter(pred).length}`,
      );
    },
    describeCalls,
    uploads: () =>
      [...uploads.values()].map((upload) => ({
        ...upload,
        ...(upload.content !== undefined && { content: Buffer.from(upload.content) }),
      })),
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        stopped = true;
        for (const w of [...waiters]) w.abort(new Error('fake Slack API stopped while waiting'));
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return stopping;
    },
  };
}
