/** The ack phase: `/jit request` at a steady rate, and the same posts to a server that answers at once (its floor). */
import { type ChildProcess, spawn } from 'node:child_process';
import { eventCallbackBody, slashCommandBody } from '../../test/support/slack-payloads';
import { BENCH_APPROVER } from '../bench-bot';
import { type BotRun, freshPeople, metricSum, postSigned, requestIdIn, userId, waitForNotices } from '../driver';
import { ratio, type Summary, summarize } from '../stats';
import { postPhasesAtRate } from './ack-poster';

export interface AckOptions {
  commandsPerSecond: number;
  commandSeconds: number;
  /** Seconds of the same load before the measured ones, to both the bot and the floor (see `AckResult.warmUp`). */
  warmUpSeconds: number;
}

export interface AckResult {
  /** From sending the signed `/jit request` to the bot's answer, once warm. */
  latency: Summary;
  /**
   * The same, over the warm-up: a bot just started compiles its code paths as the first commands take them (zod's
   * parsers, V8's optimising compiler), so its first second is slower; a fresh process pays it once.
   */
  warmUp: Summary | null;
  /** The same posts, at the same rate, to a server in its own process that answers at once: the driver's own cost. */
  floor: Summary;
  /** The bot's p99 over the floor's. */
  p99Ratio: number | null;
  /**
   * CPU time per measured command, in ms: the bot's processes and Redis, from the first measured command until
   * their notices were delivered. Unlike the latency, it hardly moves with what else the machine is doing; the
   * latency follows from it and the cores left. `driverMs` is the bench's own processes over the same time: the
   * poster's signed posts, and the driver's fake Slack answering the notices' calls and fake cloud.
   */
  cpuPerCommand: { botMs: number; redisMs: number; driverMs: number };
  /** The requests filed, for the click phase. */
  requestIds: string[];
}

/**
 * The trivial server of the floor, as plain JavaScript given to `node -e`, so it runs the same from the compiled
 * bench and from the smoke test (which runs the TypeScript sources and has nothing compiled to spawn).
 */
const ANSWER_AT_ONCE = `
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Steady load: `/jit request` at a fixed rate (open loop, each on its own schedule), one person each. */
export async function ackPhase(run: BotRun, options: AckOptions): Promise<AckResult> {
  const warmUpCount = Math.round(options.commandsPerSecond * options.warmUpSeconds);
  const total = Math.round(options.commandsPerSecond * options.commandSeconds);
  const commands = (count: number) => {
    const first = freshPeople(count);
    return Array.from({ length: count }, (_, index) =>
      slashCommandBody({ user_id: userId(first + index), text: 'request bench-gated 1h bench load' }),
    );
  };
  const warmUpBodies = commands(warmUpCount);
  const bodies = commands(total);
  // The approver keeps the App Home open on the requests waiting for them, so it is redrawn as they come in; the
  // requesters never open theirs (most people use the slash command), so theirs are not.
  await postSigned(
    run.bot,
    eventCallbackBody({ type: 'app_home_opened', user: BENCH_APPROVER, channel: 'D0APPROVER', tab: 'home' }),
    run.http,
    'application/json',
  );
  const requestIds: string[] = [];
  // Back to back, as one steady stream: the warm-up's work is still under way when the measured commands come.
  let cpuBefore = await cpuSeconds(run);
  const posted = await postPhasesAtRate(
    run.bot,
    warmUpCount > 0 ? [warmUpBodies, bodies] : [bodies],
    options.commandsPerSecond,
    async (index) => {
      if (index === 0 && warmUpCount > 0) cpuBefore = await cpuSeconds(run);
    },
  );
  for (const phase of posted) for (const text of phase.answers) requestIds.push(requestIdIn(text));
  const warmUp = warmUpCount > 0 ? (posted[0]?.latency ?? null) : null;
  const latency = posted.at(-1)?.latency ?? summarize([]);
  await waitForNotices(run);
  const cpuAfter = await cpuSeconds(run);
  const perCommandMs = (seconds: number) => (seconds * 1000) / Math.max(total, 1);
  const cpuPerCommand = {
    botMs: perCommandMs(cpuAfter.bot - cpuBefore.bot),
    redisMs: perCommandMs(cpuAfter.redis - cpuBefore.redis),
    driverMs: perCommandMs(
      cpuAfter.driver -
        cpuBefore.driver +
        (posted.at(-1)?.cpuSeconds ?? 0) -
        (warmUpCount > 0 ? (posted[0]?.cpuSeconds ?? 0) : 0),
    ),
  };
  run.say(`  floor: the same ${warmUpCount + total} posts to a server that answers at once`);
  const floor = await ackFloor(warmUpBodies, bodies, options.commandsPerSecond);
  return { latency, warmUp, floor, p99Ratio: ratio(latency.p99, floor.p99), cpuPerCommand, requestIds };
}

/** CPU seconds used so far by the bot's processes (prom-client's default metric), Redis (`INFO cpu`) and this one. */
async function cpuSeconds(run: BotRun): Promise<{ bot: number; redis: number; driver: number }> {
  const info = await run.redis.info('cpu');
  const own = process.cpuUsage();
  const used = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    bot: await metricSum(run.bot, 'process_cpu_seconds_total'),
    redis: used('used_cpu_sys') + used('used_cpu_user'),
    driver: (own.user + own.system) / 1e6,
  };
}

/** The floor, warmed up the same way and posted from the same kind of poster; the figure is of the measured posts. */
async function ackFloor(warmUp: readonly string[], bodies: readonly string[], perSecond: number): Promise<Summary> {
  const server = spawn(process.execPath, ['-e', ANSWER_AT_ONCE], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await portOf(server);
    const target = { eventsUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: 'bench-floor' };
    const posted = await postPhasesAtRate(target, warmUp.length > 0 ? [warmUp, bodies] : [bodies], perSecond);
    return posted.at(-1)?.latency ?? summarize([]);
  } finally {
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null) return resolve();
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
  }
}

function portOf(server: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const port = /\{"port":(\d+)\}/.exec(buffered)?.[1];
      if (port) resolve(Number(port));
    });
    server.once('exit', (code) => reject(new Error(`bench: the ack floor's server exited with ${code}`)));
  });
}
