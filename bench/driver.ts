/** What every phase drives the bot with: signed Slack posts, and the driver's own view of the bot's Redis. */
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import type { AccessRequest } from '../src/domain/access-request';
import { revokeJobBackstopAt } from '../src/domain/expiry-reminder';
import { forEachLimited } from '../src/domain/for-each-limited';
import { commitChange } from '../src/domain/request-commit';
import { transition } from '../src/domain/request-machine';
import { BullMqJobScheduler, closeQueues, createQueues, type Queues } from '../src/jobs/scheduler';
import { systemClock } from '../src/lib/clock';
import { createLogger } from '../src/lib/logger';
import { RedisAuditLog } from '../src/store/audit-log';
import { RedisKeys } from '../src/store/keys';
import { RedisRequestStore } from '../src/store/request-store';
import type { FakeSlackApi } from '../test/support/fake-slack-api';
import { slashCommandBody } from '../test/support/slack-payloads';
import { signSlackRequest } from '../test/support/slack-signer';
import type { BenchBotOptions } from './bench-bot';
import type { BotHandle } from './bot-processes';
import { waitUntil } from './stats';

/** Anything that checks Slack's signature: the bot, or the ack floor's trivial server. */
export interface SignedTarget {
  eventsUrl: string;
  signingSecret: string;
}

/** Posts a body signed like Slack (a form, or JSON for events); resolves with the milliseconds until the answer and its text. */
export function postSigned(
  target: SignedTarget,
  body: string,
  http: Agent,
  contentType: 'application/x-www-form-urlencoded' | 'application/json' = 'application/x-www-form-urlencoded',
): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = request(
      target.eventsUrl,
      {
        method: 'POST',
        agent: http,
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          ...signSlackRequest(target.signingSecret, body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          const ms = performance.now() - started;
          if (response.statusCode !== 200)
            reject(new Error(`bench: ${target.eventsUrl} answered HTTP ${response.statusCode}: ${text}`));
          else resolve({ ms, text });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** A keep-alive agent with room for the bench's open-loop bursts. */
export function benchAgent(): Agent {
  // With a timeout set, Node closes a socket left idle a second before the server's announced `Keep-Alive: timeout`
  // (5 s by default), so a post between phases never goes out on a socket the server is closing (ECONNRESET);
  // without one, Node ignores the server's hint.
  return new Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 });
}

/** The Slack user ID of the bench's `index`th person; each has the fake Slack's `<id lowercased>@example.com`. */
export const userId = (index: number) => `U${index.toString(36).toUpperCase().padStart(8, '0')}`;

/** The email the fake Slack gives that person, which names them in the clouds. */
export const emailOf = (slackUserId: string) => `${slackUserId.toLowerCase()}@example.com`;

let nextUser = 1_000_000;

/** `count` people nobody in this run has used yet, so no grant overlaps another of the same person. */
export function freshPeople(count: number): number {
  const first = nextUser;
  nextUser += count;
  return first;
}

/** The request ID in the bot's answer to `/jit request`; throws with the answer when it refused. */
export function requestIdIn(text: string): string {
  const id = /Request `([a-z0-9]+)`/.exec(text)?.[1];
  if (!id) throw new Error(`bench: a request was refused: ${text}`);
  return id;
}

/** One bot under measurement, with what the driver keeps beside it. */
export interface BotRun {
  bot: BotHandle;
  view: BenchView;
  redis: Redis;
  /** The bot's key prefix; the fake cloud's records live under it too. */
  prefix: string;
  http: Agent;
  slack: FakeSlackApi;
  say: (line: string) => void;
  /** Counts an RSS sample of the bot (bytes) towards the run's peak. */
  noteRss: (bytes: number) => void;
  /** Notes the bot's RSS for the peak, then stops the bot and closes what the driver opened for it. */
  close(): Promise<void>;
}

/** What a phase asks of its bot: the policy, the settings and the clouds (see {@link BenchBotOptions}). */
export type BotConfig = Pick<BenchBotOptions, 'policy' | 'env' | 'latencyCloud' | 'azure'>;

/** Starts a bot on a fresh key prefix of the bench's Redis, with the driver's view of it. */
export type OpenRun = (config: BotConfig) => Promise<BotRun>;

/** The driver's own view of the bot's Redis: the store, audit trail and queues, to set up and check each phase. */
export interface BenchView {
  keys: RedisKeys;
  store: RedisRequestStore;
  auditLog: RedisAuditLog;
  queues: Queues;
  scheduler: BullMqJobScheduler;
  close(): Promise<void>;
}

export function openBenchView(redis: Redis, prefix: string, logLevel: string): BenchView {
  const logger = createLogger({ level: logLevel });
  const keys = new RedisKeys(prefix);
  const queueConnection = new Redis(redis.options);
  const queues = createQueues(queueConnection, keys.queuePrefix(), logger);
  return {
    keys,
    store: new RedisRequestStore(redis, keys, logger),
    auditLog: new RedisAuditLog(redis, keys, logger),
    queues,
    scheduler: new BullMqJobScheduler(queues, systemClock, logger),
    async close() {
      await closeQueues(queues);
      await queueConnection.quit();
    },
  };
}

/**
 * Files requests of an auto-approved role with `/jit request`, `concurrency` at a time (32, as many as a busy
 * workspace would); `roleOf` picks each person's role. Returns the request IDs in the order of `people`.
 */
export async function fileAutoApproved(
  { bot, http }: BotRun,
  people: readonly string[],
  roleOf: (person: string, index: number) => string,
  duration: string,
  concurrency = 32,
): Promise<string[]> {
  const ids: string[] = new Array(people.length);
  await forEachLimited(
    people.map((person, index) => ({ person, index })),
    concurrency,
    async ({ person, index }) => {
      const body = slashCommandBody({ user_id: person, text: `request ${roleOf(person, index)} ${duration} bench` });
      ids[index] = requestIdIn((await postSigned(bot, body, http)).text);
    },
  );
  return ids;
}

export async function countInState({ view, redis }: BotRun, ids: readonly string[], state: AccessRequest['state']) {
  if (ids.length === 0) return 0;
  const scores = await redis.zmscore(view.keys.stateIndex(state), ...ids);
  return scores.filter((score) => score !== null).length;
}

/** Waits until every request is in `state`; a request that failed instead stops the wait with its reason. */
export async function waitForState(
  run: BotRun,
  ids: readonly string[],
  state: AccessRequest['state'],
  timeoutMs: number,
): Promise<void> {
  await waitUntil(
    async () => {
      if ((await countInState(run, ids, 'failed')) > 0) {
        const failed = (await Promise.all(ids.map((id) => run.view.store.get(id)))).find((r) => r?.state === 'failed');
        throw new Error(`bench: request ${failed?.id} failed: ${failed?.failureReason ?? 'no reason stored'}`);
      }
      return (await countInState(run, ids, state)) === ids.length;
    },
    timeoutMs,
    `${ids.length} requests to be ${state}`,
    50,
  );
}

/** Waits until the notify queue has nothing due: the notices of a setup delivered, or every alert posted. */
export async function waitForNotices({ view }: BotRun, timeoutMs = 600_000): Promise<void> {
  await waitUntil(
    async () => {
      // Not the delayed ones: reminders wait there until shortly before each grant's expiry.
      const counts = await view.queues.notify.getJobCounts('waiting', 'active', 'prioritized');
      return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0;
    },
    timeoutMs,
    'the notices and alerts to be delivered',
  );
}

/**
 * Moves the stored expiry of active grants, and their revoke jobs, to one common instant: a whole second far
 * enough ahead that every job is moved before it. Returns that instant.
 */
export async function moveExpiryToOneInstant(run: BotRun, ids: readonly string[]): Promise<number> {
  const { view, say } = run;
  const expiresAt = Math.ceil((Date.now() + 3_000 + ids.length * 0.5) / 1000) * 1000;
  say(`  ${ids.length} active; moving their expiry to ${new Date(expiresAt).toISOString()}`);
  await forEachLimited(ids, 64, async (id) => {
    await commitChange(view.store, id, (current: AccessRequest) =>
      current.state === 'active'
        ? transition(current, {
            to: 'active',
            actor: 'system:bench',
            reason: 'bench: common expiry',
            at: Date.now(),
            patch: { expiresAt },
          })
        : undefined,
    );
    // As the bot does after an extension: the grant's own job is the backstop; the expiry sweep ends it on time.
    await view.scheduler.scheduleRevocation(id, revokeJobBackstopAt(expiresAt));
  });
  if (Date.now() >= expiresAt) throw new Error('bench: moving the expiries took longer than the margin');
  return expiresAt;
}

/** When each request's `expired` transition was written (epoch ms), from the audit trail; one entry per request. */
export async function expiredAt(
  { view }: BotRun,
  ids: readonly string[],
  since: number,
): Promise<Map<string, number[]>> {
  const wanted = new Set(ids);
  const found = new Map<string, number[]>();
  for await (const entry of view.auditLog.entries(since)) {
    if (entry.type !== 'transition' || entry.to !== 'expired' || !wanted.has(entry.requestId)) continue;
    found.set(entry.requestId, [...(found.get(entry.requestId) ?? []), entry.at]);
  }
  return found;
}

/** One series of the bot's `/metrics` summed over its processes, e.g. `jit_job_failures_total{queue="jit-revoke"}`. */
export async function metricSum(bot: BotHandle, series: string): Promise<number> {
  const texts = await bot.metricsText();
  const line = new RegExp(`^${series.replace(/[{}"\\[\]().*+?^$|]/g, '\\$&')} ([0-9.e+-]+)$`, 'm');
  return texts.reduce((sum, text) => sum + Number(line.exec(text)?.[1] ?? 0), 0);
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}
