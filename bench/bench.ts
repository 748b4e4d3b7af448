/** Runs the benchmark's phases in order, each against the real bot, and gathers their results and floors. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type FakeSlackApi, startFakeSlackApi } from '../test/support/fake-slack-api';
import { defaultRevokeConcurrency, startBenchBot } from './bench-bot';
import type { BotHandle, BotProcessOptions } from './bot-processes';
import { type BotRun, benchAgent, type OpenRun, openBenchView } from './driver';
import { type AckResult, ackPhase } from './phases/ack';
import { type ClickResult, clickPhase } from './phases/click';
import { type ExpiryRun, expiryPhase, toMiB } from './phases/expiry';
import { type GcpCoalesceResult, gcpCoalescePhase } from './phases/gcp-coalesce';
import { type LifecycleResult, lifecyclePhase } from './phases/lifecycle';
import { type CloudRateOption, type PacedResult, pacedPhase } from './phases/paced';

/** The phases, in the order they run. */
export const PHASES = ['ack', 'click', 'expiry', 'lifecycle', 'gcp-coalesce', 'paced'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BenchOptions {
  redisUrl: string;
  /** The phases to run; all of them when absent. `click` needs `ack` (it clicks the requests `ack` filed). */
  phases?: readonly PhaseName[];
  /** Slash commands per second in the ack phase, for how long, and for how long before as a warm-up. */
  commandsPerSecond: number;
  commandSeconds: number;
  warmUpSeconds: number;
  /** Approve clicks measured (on requests filed in the ack phase), sent at `commandsPerSecond`. */
  clicks: number;
  /** Sizes of the "all expire in the same second" runs. */
  expiring: number[];
  /** Lifecycles run end to end for the throughput figure. */
  lifecycles: number;
  /** The latency fake cloud of the first four phases. */
  cloudLatencyMs: number;
  cloudCallsPerSecond: number;
  /** GCP grants expiring at once in the gcp-coalesce phase, and the fake Resource Manager's latency then. */
  gcpGrants: number;
  gcpLatencyMs: number;
  /** Azure grants expiring at once in the paced phase; the fake ARM's write rate and latency then. */
  pacedGrants: number;
  pacedCloudRate: CloudRateOption;
  pacedLatencyMs: number;
  /** The pace the bot is told for Azure; above the cloud's rate, it shows throttled answers slowing it down. */
  pacedBotPerSecond: number;
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

export interface BenchResults {
  startedAt: string;
  options: Omit<BenchOptions, 'redisUrl' | 'progress' | 'startBot' | 'botProcesses' | 'logLevel' | 'phases'> & {
    phases: PhaseName[];
    botProcesses: number;
    /** Revocations each bot process runs at once: the bot's default, which the expiry floor uses too. */
    revokeConcurrency: number;
  };
  ack?: Omit<AckResult, 'requestIds'>;
  click?: ClickResult;
  expiry: ExpiryRun[];
  lifecycles?: LifecycleResult;
  gcpCoalesce?: GcpCoalesceResult;
  paced?: PacedResult;
  /** Peak RSS of the bot's process (of the largest, with several; with the bot in the driver, of both). */
  botRssMiB: number;
}

/** Drives the real bot through request → approve → grant → expiry → revoke and measures each step. */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const phases = new Set<PhaseName>(options.phases ?? PHASES);
  if (phases.has('click') && !phases.has('ack')) {
    throw new Error('bench: the click phase clicks the requests the ack phase files; run ack too');
  }
  const say = options.progress ?? (() => {});
  const botProcesses = options.botProcesses ?? 1;
  const revokeConcurrency = defaultRevokeConcurrency();
  const slack = await startFakeSlackApi();
  let peakRss = 0;
  const openRun = runOpener(options, slack, say, (bytes) => {
    peakRss = Math.max(peakRss, bytes);
  });
  const results: Omit<BenchResults, 'startedAt' | 'options' | 'botRssMiB'> = { expiry: [] };
  try {
    if (phases.has('ack') || phases.has('click') || phases.has('expiry') || phases.has('lifecycle')) {
      const run = await openRun({
        latencyCloud: { latencyMs: options.cloudLatencyMs, callsPerSecond: options.cloudCallsPerSecond },
      });
      try {
        await latencyPhases(run, options, phases, { botProcesses, revokeConcurrency }, results);
      } finally {
        await run.close();
      }
    }
    if (phases.has('gcp-coalesce')) {
      say(`gcp-coalesce: ${options.gcpGrants} GCP grants expiring in the same second`);
      results.gcpCoalesce = await gcpCoalescePhase(openRun, {
        grants: options.gcpGrants,
        latencyMs: options.gcpLatencyMs,
      });
      slack.clear();
    }
    if (phases.has('paced')) {
      say(`paced: ${options.pacedGrants} Azure grants expiring in the same second`);
      results.paced = await pacedPhase(openRun, {
        grants: options.pacedGrants,
        cloudRate: options.pacedCloudRate,
        latencyMs: options.pacedLatencyMs,
        botPerSecond: options.pacedBotPerSecond,
      });
      slack.clear();
    }
  } finally {
    await slack.stop();
  }
  const { ack, click, expiry, lifecycles, gcpCoalesce, paced } = results;
  return {
    startedAt: new Date().toISOString(),
    options: {
      phases: PHASES.filter((phase) => phases.has(phase)),
      commandsPerSecond: options.commandsPerSecond,
      commandSeconds: options.commandSeconds,
      warmUpSeconds: options.warmUpSeconds,
      clicks: options.clicks,
      expiring: options.expiring,
      lifecycles: options.lifecycles,
      cloudLatencyMs: options.cloudLatencyMs,
      cloudCallsPerSecond: options.cloudCallsPerSecond,
      gcpGrants: options.gcpGrants,
      gcpLatencyMs: options.gcpLatencyMs,
      pacedGrants: options.pacedGrants,
      pacedCloudRate: options.pacedCloudRate,
      pacedLatencyMs: options.pacedLatencyMs,
      pacedBotPerSecond: options.pacedBotPerSecond,
      botProcesses,
      revokeConcurrency,
    },
    // In the order the phases run; a phase not run is left out.
    ack,
    click,
    expiry,
    lifecycles,
    gcpCoalesce,
    paced,
    botRssMiB: toMiB(peakRss),
  };
}

/** The first four phases share one bot on the latency fake cloud; the click phase uses the ack phase's requests. */
async function latencyPhases(
  run: BotRun,
  options: BenchOptions,
  phases: ReadonlySet<PhaseName>,
  bot: { botProcesses: number; revokeConcurrency: number },
  results: Omit<BenchResults, 'startedAt' | 'options' | 'botRssMiB'>,
): Promise<void> {
  const { say } = run;
  const sampleRss = async () => {
    await run.bot.rssBytes().then(run.noteRss);
    // The fake Slack keeps every call it answered; what a phase left there is not needed after it.
    run.slack.clear();
  };
  if (phases.has('ack')) {
    say(
      `ack latency: ${options.commandsPerSecond} commands/s for ${options.commandSeconds} s, after ${options.warmUpSeconds} s of warm-up`,
    );
    const { requestIds, ...ack } = await ackPhase(run, options);
    results.ack = ack;
    await sampleRss();
    if (phases.has('click')) {
      say(`approve → grant call: ${options.clicks} clicks at ${options.commandsPerSecond}/s`);
      results.click = await clickPhase(run, requestIds.slice(0, options.clicks), options.commandsPerSecond);
      await sampleRss();
    }
  }
  if (phases.has('expiry')) {
    for (const grants of options.expiring) {
      say(`revocation lateness: ${grants} grants expiring in the same second`);
      results.expiry.push(
        await expiryPhase(run, {
          grants,
          cloud: { latencyMs: options.cloudLatencyMs, callsPerSecond: options.cloudCallsPerSecond },
          ...bot,
        }),
      );
      await sampleRss();
    }
  }
  if (phases.has('lifecycle')) {
    say(`throughput: ${options.lifecycles} lifecycles`);
    results.lifecycles = await lifecyclePhase(run, options.lifecycles);
    await sampleRss();
  }
}

/** Starts each phase's bot on a key prefix of its own, all on the bench's Redis and fake Slack. */
function runOpener(
  options: BenchOptions,
  slack: FakeSlackApi,
  say: (line: string) => void,
  noteRss: (bytes: number) => void,
): OpenRun {
  const startBot = options.startBot ?? startBenchBot;
  const logLevel = options.logLevel ?? 'warn';
  let runs = 0;
  return async (config) => {
    runs += 1;
    const prefix = `{jitbench-${Date.now().toString(36)}-${runs}}`;
    const bot = await startBot({
      redisUrl: options.redisUrl,
      prefix,
      slackApiUrl: slack.url,
      signingSecret: randomBytes(16).toString('hex'),
      logLevel,
      ...config,
    });
    const redis = new Redis(options.redisUrl, { connectionName: 'bench-driver' });
    const view = openBenchView(redis, prefix, logLevel);
    const http = benchAgent();
    return {
      bot,
      view,
      redis,
      prefix,
      http,
      slack,
      say,
      noteRss,
      async close() {
        try {
          noteRss(await bot.rssBytes());
        } finally {
          await bot.stop();
          http.destroy();
          await view.close();
          await redis.quit();
        }
      },
    };
  };
}
