import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import type { AccessRequest } from '../src/domain/access-request';
import { commitChange } from '../src/domain/request-commit';
import { transition } from '../src/domain/request-machine';
import { BullMqJobScheduler, closeQueues, createQueues, type Queues } from '../src/jobs/scheduler';
import { systemClock } from '../src/lib/clock';
import { createLogger } from '../src/lib/logger';
import { forEachLimited } from '../src/providers/for-each-limited';
import { ACTION_IDS } from '../src/slack/ids';
import { RedisAuditLog } from '../src/store/audit-log';
import { RedisKeys } from '../src/store/keys';
import { RedisRequestStore } from '../src/store/request-store';
import { startFakeSlackApi } from '../test/support/fake-slack-api';
import { blockActionsBody, slashCommandBody } from '../test/support/slack-payloads';
import { signSlackRequest } from '../test/support/slack-signer';
import { BENCH_APPROVER, startBenchBot } from './bench-bot';
import type { BotHandle, BotProcessOptions } from './bot-processes';
import { fakeCloudKeys } from './latency-provider';
import { type Summary, summarize, waitUntil } from './stats';

export interface BenchOptions {
  redisUrl: string;
  /** Slash commands per second in the ack phase, and for how long. */
  commandsPerSecond: number;
  commandSeconds: number;
  /** Approve clicks measured (on requests filed in the ack phase), sent at `commandsPerSecond`. */
  clicks: number;
  /** Sizes of the "all expire in the same second" runs. */
  expiring: number[];
  /** Lifecycles run end to end for the throughput figure. */
  lifecycles: number;
  cloudLatencyMs: number;
  cloudCallsPerSecond: number;
  /**
   * Starts the bot: in processes of its own (`npm run bench`), or in this process (the smoke test, which runs
   * the TypeScript sources). The default is in this process.
   */
  startBot?: (options: BotProcessOptions) => Promise<BotHandle>;
  /** Processes the bot runs in, for the results (1 when it runs in this process). */
  botProcesses?: number;
  progress?: (line: string) => void;
  /** The bot's log level; `warn` by default, so a run shows what went wrong and nothing else. */
  logLevel?: string;
}

export interface ExpiryRun {
  grants: number;
  lateness: Summary;
  redisBytesPerActiveGrant: number;
  /** Every grant revoked exactly once, none left in the fake cloud, every request `expired`. */
  revokedExactlyOnce: boolean;
  grantsLeft: number;
}

export interface BenchResults {
  startedAt: string;
  options: Omit<BenchOptions, 'redisUrl' | 'progress' | 'startBot' | 'botProcesses' | 'logLevel'> & {
    botProcesses: number;
  };
  ackLatency: Summary;
  clickToGrantCall: Summary;
  /** The first part of it: from the click to the approval being committed (the rest is the grant job). */
  clickToApproved: Summary;
  expiry: ExpiryRun[];
  lifecycles: { count: number; seconds: number; perSecond: number; allRevoked: boolean };
  /** Peak RSS of the bot's process (of the largest, with several; with the bot in the driver, of both). */
  botRssMiB: number;
}

/** Drives the real bot through request → approve → grant → expiry → revoke and measures each step. */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const say = options.progress ?? (() => {});
  const prefix = `{jitbench-${Date.now().toString(36)}}`;
  const slack = await startFakeSlackApi();
  const startBot = options.startBot ?? startBenchBot;
  const bot = await startBot({
    redisUrl: options.redisUrl,
    prefix,
    slackApiUrl: slack.url,
    signingSecret: randomBytes(16).toString('hex'),
    cloud: { latencyMs: options.cloudLatencyMs, callsPerSecond: options.cloudCallsPerSecond },
    ...(options.logLevel !== undefined && { logLevel: options.logLevel }),
  });
  const redis = new Redis(options.redisUrl, { connectionName: 'bench-driver' });
  const view = openBenchView(redis, prefix, options.logLevel ?? 'warn');
  const http = new Agent({ keepAlive: true, maxSockets: 64 });
  let peakRss = 0;
  const sampleRss = async () => {
    peakRss = Math.max(peakRss, await bot.rssBytes());
    // The fake Slack keeps every call it answered; what a phase left there is not needed after it.
    slack.clear();
  };
  const run: Phase = { bot, view, redis, prefix, http };
  try {
    say(`ack latency: ${options.commandsPerSecond} commands/s for ${options.commandSeconds} s`);
    const { latencies, requestIds } = await commandPhase(run, options);
    await sampleRss();
    say(`approve → grant call: ${options.clicks} clicks at ${options.commandsPerSecond}/s`);
    const clickToGrant = await clickPhase(run, requestIds.slice(0, options.clicks), options.commandsPerSecond);
    await sampleRss();
    const expiry: ExpiryRun[] = [];
    for (const grants of options.expiring) {
      say(`revocation lateness: ${grants} grants expiring in the same second`);
      expiry.push(await expiryPhase(run, grants, say));
      await sampleRss();
    }
    say(`throughput: ${options.lifecycles} lifecycles`);
    const lifecycles = await lifecyclePhase(run, options.lifecycles);
    await sampleRss();
    return {
      startedAt: new Date().toISOString(),
      options: {
        commandsPerSecond: options.commandsPerSecond,
        commandSeconds: options.commandSeconds,
        clicks: options.clicks,
        expiring: options.expiring,
        lifecycles: options.lifecycles,
        cloudLatencyMs: options.cloudLatencyMs,
        cloudCallsPerSecond: options.cloudCallsPerSecond,
        botProcesses: options.botProcesses ?? 1,
      },
      ackLatency: summarize(latencies),
      clickToGrantCall: summarize(clickToGrant.toGrantCall),
      clickToApproved: summarize(clickToGrant.toApproved),
      expiry,
      lifecycles,
      botRssMiB: Math.round(peakRss / 1024 / 1024),
    };
  } finally {
    await bot.stop();
    await slack.stop();
    http.destroy();
    await view.close();
    await redis.quit();
  }
}

/** Posts a body to the bot signed like Slack; resolves with the milliseconds until the answer. */
function postSigned(bot: BotHandle, body: string, http: Agent): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = request(
      bot.eventsUrl,
      {
        method: 'POST',
        agent: http,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...signSlackRequest(bot.signingSecret, body),
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
            reject(new Error(`bench: the bot answered HTTP ${response.statusCode}: ${text}`));
          else resolve({ ms, text });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const userId = (index: number) => `U${index.toString(36).toUpperCase().padStart(8, '0')}`;

/** Steady load: `/jit request` at a fixed rate (open loop, each on its own schedule), one person each. */
async function commandPhase({ bot, http }: Phase, options: BenchOptions) {
  const total = Math.round(options.commandsPerSecond * options.commandSeconds);
  const latencies: number[] = [];
  const requestIds: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: total }, async (_, index) => {
      const at = started + (index * 1000) / options.commandsPerSecond;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
      const body = slashCommandBody({ user_id: userId(index), text: 'request bench-gated 1h bench load' });
      const { ms, text } = await postSigned(bot, body, http);
      latencies.push(ms);
      const id = /Request `([a-z0-9]+)`/.exec(text)?.[1];
      if (!id) throw new Error(`bench: a request was refused: ${text}`);
      requestIds.push(id);
    }),
  );
  return { latencies, requestIds };
}

/** Approves requests by clicking their approval messages; measures until the cloud's grant call is issued. */
async function clickPhase({ bot, view, redis, prefix, http }: Phase, requestIds: string[], clicksPerSecond: number) {
  const { store } = view;
  await waitUntil(
    async () => (await Promise.all(requestIds.map((id) => store.getApprovalMessage(id)))).every(Boolean),
    60_000,
    'the approval messages',
  );
  const sentAt = new Map<string, number>();
  // Clicks come at the same steady rate as the commands, each on its own schedule (open loop).
  const started = performance.now();
  await Promise.all(
    requestIds.map(async (id, index) => {
      const at = started + (index * 1000) / clicksPerSecond;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
      const message = await store.getApprovalMessage(id);
      if (!message) throw new Error(`bench: no approval message for ${id}`);
      const body = blockActionsBody({
        userId: BENCH_APPROVER,
        actionId: ACTION_IDS.approve,
        value: id,
        channelId: message.channel,
        messageTs: message.ts,
      });
      sentAt.set(id, Date.now());
      await postSigned(bot, body, http);
    }),
  );
  const { grantCalls } = fakeCloudKeys(prefix);
  await waitUntil(
    async () => (await redis.hmget(grantCalls, ...requestIds)).every((value) => value !== null),
    60_000,
    'the grant calls',
  );
  const calls = await redis.hmget(grantCalls, ...requestIds);
  const approvedAt = new Map<string, number>();
  const clicked = new Set(requestIds);
  for await (const entry of view.auditLog.entries(Math.min(...sentAt.values()))) {
    if (entry.type === 'transition' && entry.to === 'approved' && clicked.has(entry.requestId)) {
      approvedAt.set(entry.requestId, entry.at);
    }
  }
  return {
    toGrantCall: requestIds.map((id, index) => Number(calls[index]) - (sentAt.get(id) ?? 0)),
    toApproved: requestIds.map((id) => (approvedAt.get(id) ?? Number.NaN) - (sentAt.get(id) ?? 0)),
  };
}

/** Files auto-approved requests with `/jit request`, as many at a time as a busy workspace would. */
async function fileAutoApproved({ bot, http }: Phase, count: number, duration: string, firstUser: number) {
  const ids: string[] = [];
  await forEachLimited(
    Array.from({ length: count }, (_, index) => index),
    32,
    async (index) => {
      const body = slashCommandBody({
        user_id: userId(firstUser + index),
        text: `request bench-auto ${duration} bench`,
      });
      const { text } = await postSigned(bot, body, http);
      const id = /Request `([a-z0-9]+)`/.exec(text)?.[1];
      if (!id) throw new Error(`bench: a request was refused: ${text}`);
      ids.push(id);
    },
  );
  return ids;
}

async function countActive({ view, redis }: Phase, ids: readonly string[]): Promise<number> {
  const scores = await redis.zmscore(view.keys.stateIndex('active'), ...ids);
  return scores.filter((score) => score !== null).length;
}

let nextUser = 1_000_000;

/** N active grants, moved to expire at the same instant; measures how late each revoke call is issued. */
async function expiryPhase(run: Phase, grants: number, say: (line: string) => void): Promise<ExpiryRun> {
  const { view, redis, prefix } = run;
  const memoryBefore = await usedMemory(redis);
  const ids = await fileAutoApproved(run, grants, '1h', nextUser);
  nextUser += grants;
  await waitUntil(async () => (await countActive(run, ids)) === grants, 600_000, `${grants} active grants`);
  const redisBytesPerActiveGrant = Math.round(((await usedMemory(redis)) - memoryBefore) / grants);
  // The activation notices of the setup are delivered first, so the expiry is measured on its own.
  await waitUntil(
    async () => {
      const counts = await view.queues.notify.getJobCounts('waiting', 'active', 'prioritized');
      return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0;
    },
    600_000,
    'the setup notices',
  );
  // One expiry for all, far enough ahead that every revoke job is moved before it.
  const expiresAt = Math.ceil((Date.now() + 3_000 + grants * 0.5) / 1000) * 1000;
  say(`  ${grants} active; moving their expiry to ${new Date(expiresAt).toISOString()}`);
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
    await view.scheduler.scheduleRevocation(id, expiresAt);
  });
  if (Date.now() >= expiresAt) throw new Error('bench: moving the expiries took longer than the margin');
  const keys = fakeCloudKeys(prefix);
  await waitUntil(
    async () => (await redis.hmget(keys.revokeCalls, ...ids)).every((value) => value !== null),
    600_000,
    `${grants} revocations`,
  );
  const calls = await redis.hmget(keys.revokeCalls, ...ids);
  const lateness = calls.map((value) => Number(value) - expiresAt);
  await waitUntil(
    async () => (await redis.zmscore(view.keys.stateIndex('expired'), ...ids)).every((s) => s !== null),
    120_000,
    `${grants} requests to be expired`,
  );
  const counts = await redis.hmget(keys.revokeCounts, ...ids);
  const held = await redis.smismember(keys.held, ...ids);
  return {
    grants,
    lateness: summarize(lateness),
    redisBytesPerActiveGrant,
    revokedExactlyOnce: counts.every((count) => count === '1'),
    grantsLeft: held.filter((member) => member === 1).length,
  };
}

/** Complete lifecycles run concurrently: request, auto-approval, grant, 1 s of access, revocation. */
async function lifecyclePhase(run: Phase, count: number) {
  const { view, redis, prefix } = run;
  const started = Date.now();
  const ids = await fileAutoApproved(run, count, '1s', nextUser);
  nextUser += count;
  const keys = fakeCloudKeys(prefix);
  await waitUntil(
    async () => (await redis.hmget(keys.revokeCalls, ...ids)).every((value) => value !== null),
    600_000,
    `${count} lifecycles`,
  );
  const seconds = (Date.now() - started) / 1000;
  await waitUntil(
    async () => (await redis.zmscore(view.keys.stateIndex('expired'), ...ids)).every((s) => s !== null),
    120_000,
    `${count} lifecycles to be expired`,
  );
  const held = await redis.smismember(keys.held, ...ids);
  return {
    count,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round((count / seconds) * 10) / 10,
    allRevoked: held.every((member) => member === 0),
  };
}

/** What one run shares between its phases. */
interface Phase {
  bot: BotHandle;
  view: BenchView;
  redis: Redis;
  prefix: string;
  http: Agent;
}

/** The driver's own view of the bot's Redis: the store, audit trail and queues, to set up and check each phase. */
interface BenchView {
  keys: RedisKeys;
  store: RedisRequestStore;
  auditLog: RedisAuditLog;
  queues: Queues;
  scheduler: BullMqJobScheduler;
  close(): Promise<void>;
}

function openBenchView(redis: Redis, prefix: string, logLevel: string): BenchView {
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

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}
