/** `npm run bench`: reads the options, starts Redis, runs the bench with the bot in processes, prints the results. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../test/support/redis-server';
import { type BenchResults, PHASES, type PhaseName, runBench } from './bench';
import { type BotTopology, startBotProcesses } from './bot-processes';
import type { Summary, SummaryRatio } from './stats';

const HELP = `npm run bench -- [options]

  --phases LIST       comma-separated phases to run (default all; click needs ack):
                      ${PHASES.join(', ')}
  --rate N            slash commands per second in the ack phase (default 100)
  --seconds N         how long the ack phase measures (default 10)
  --warm-up N         seconds of the same load before it, reported apart (default 1)
  --clicks N          approve clicks measured (default 200)
  --expiring LIST     comma-separated sizes of the "expire in the same second" runs (default 1000,10000)
  --lifecycles N      lifecycles run end to end for the throughput figure (default 2000)
  --latency MS        latency fake cloud: per call (default 50)
  --cloud-rate N      latency fake cloud: calls per second per process, 0 for no limit (default 0)
  --gcp-grants N      GCP grants expiring at once in gcp-coalesce, 100 per project (default 200)
  --gcp-latency MS    fake Resource Manager: per call while revoking (default 100)
  --paced-grants N    Azure grants expiring at once in paced, at most 4000 (default 1000)
  --paced-rate N      fake ARM: writes per second it accepts before answering 429 (default 20)
  --paced-burst N     fake ARM: writes it accepts at once after a quiet spell (default 20)
  --paced-latency MS  fake ARM: per call while revoking (default 50)
  --paced-bot-rate N  the pace the bot is told for Azure (settings.cloudRates); above --paced-rate it
                      shows throttled answers slowing the bot down (default: --paced-rate)
  --workers N         bot processes on the same Redis, each running the job workers (default 1)
  --split             one more bot process answers Slack and runs no job workers, as deploy/kubernetes
                      deploys the bot (JIT_RUN_WORKERS=false); without it the first of --workers answers Slack
  --out FILE          where to write the results (default bench/results.json)
  --help              this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      phases: { type: 'string', default: PHASES.join(',') },
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '10' },
      'warm-up': { type: 'string', default: '1' },
      clicks: { type: 'string', default: '200' },
      expiring: { type: 'string', default: '1000,10000' },
      lifecycles: { type: 'string', default: '2000' },
      latency: { type: 'string', default: '50' },
      'cloud-rate': { type: 'string', default: '0' },
      'gcp-grants': { type: 'string', default: '200' },
      'gcp-latency': { type: 'string', default: '100' },
      'paced-grants': { type: 'string', default: '1000' },
      'paced-rate': { type: 'string', default: '20' },
      'paced-burst': { type: 'string', default: '20' },
      'paced-latency': { type: 'string', default: '50' },
      'paced-bot-rate': { type: 'string' },
      workers: { type: 'string', default: '1' },
      split: { type: 'boolean', default: false },
      out: { type: 'string', default: join('bench', 'results.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const number = (name: string, text: string) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
      throw new Error(`--${name} must be a number ≥ 0, not "${text}"`);
    }
    return value;
  };
  const positive = (name: string, text: string) => {
    const value = number(name, text);
    if (value === 0) throw new Error(`--${name} must be more than 0`);
    return value;
  };
  const phases = values.phases.split(',').map((phase) => {
    const name = phase.trim();
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new Error(`--phases: "${name}" is not a phase; choose from ${PHASES.join(', ')}`);
    }
    return name as PhaseName;
  });
  const workers = Math.max(1, number('workers', values.workers));
  const topology: BotTopology = values.split ? 'split' : 'together';
  const pacedRate = positive('paced-rate', values['paced-rate']);
  // BullMQ's delayed jobs are promoted on Redis's clock; hz 100 checks expiring keys 100 times a second (see
  // docs/BENCHMARKS.md).
  // As in production: AOF on, nothing evicted.
  const redis = await startRedisServer({
    extraArgs: ['--hz', '100', '--maxmemory-policy', 'noeviction', '--appendonly', 'yes'],
  });
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  try {
    const results = await runBench({
      redisUrl: redis.url,
      phases,
      commandsPerSecond: positive('rate', values.rate),
      commandSeconds: number('seconds', values.seconds),
      warmUpSeconds: number('warm-up', values['warm-up']),
      clicks: number('clicks', values.clicks),
      expiring: values.expiring.split(',').map((size) => positive('expiring', size)),
      lifecycles: number('lifecycles', values.lifecycles),
      cloudLatencyMs: number('latency', values.latency),
      cloudCallsPerSecond: number('cloud-rate', values['cloud-rate']),
      gcpGrants: positive('gcp-grants', values['gcp-grants']),
      gcpLatencyMs: number('gcp-latency', values['gcp-latency']),
      pacedGrants: positive('paced-grants', values['paced-grants']),
      pacedCloudRate: { perSecond: pacedRate, burst: Math.max(1, positive('paced-burst', values['paced-burst'])) },
      pacedLatencyMs: number('paced-latency', values['paced-latency']),
      pacedBotPerSecond:
        values['paced-bot-rate'] === undefined ? pacedRate : positive('paced-bot-rate', values['paced-bot-rate']),
      // The bot runs in processes of its own, as in production; the driver and the fakes stay here.
      startBot: (botOptions) => startBotProcesses(workers, botOptions, topology),
      botProcesses: workers,
      progress: log,
    });
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    };
    const withMachine = { ...results, topology, machine };
    mkdirSync(join(values.out, '..'), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(withMachine, null, 2)}\n`);
    process.stdout.write(table(results, topology));
    process.stdout.write(`\nwritten to ${values.out}\n`);
  } finally {
    await redis.stop();
  }
}

/** The results as a table: the bot's figure, the floor's in the same run, and their ratio. */
function table(results: BenchResults, topology: BotTopology): string {
  const { options } = results;
  const workers = options.botProcesses;
  const row = (name: string, bot: string, floor = '', ratio = '') =>
    `${name.padEnd(56)} ${bot.padEnd(34)} ${floor.padEnd(30)} ${ratio}`.trimEnd().concat('\n');
  const ms = (s: Summary) => `${s.p50} · ${s.p99} · ${s.max} ms`;
  const x = (value: number | null) => (value === null ? '—' : `${value}x`);
  const ratios = (r: SummaryRatio) => `${x(r.p50)} · ${x(r.p99)} · ${x(r.max)}`;
  const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(2)} s`;
  const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
  const workerProcesses = `${workers} bot process${workers > 1 ? 'es' : ''}`;
  const processes =
    topology === 'split' ? `1 bot process for Slack, ${workerProcesses} for the job workers` : workerProcesses;
  let out = `\njit-access-bot benchmark (${processes}, cloud latency ${options.cloudLatencyMs} ms)\n\n`;
  out += row('', 'bot', 'floor', 'bot / floor');
  if (results.ack) {
    out += row(
      `Slack ack, ${options.commandsPerSecond}/s, p50 · p99 · max`,
      ms(results.ack.latency),
      ms(results.ack.floor),
      `p99 ${x(results.ack.p99Ratio)}`,
    );
    const cpu = results.ack.cpuPerCommand;
    out += row(
      '  CPU per command and its notices, bot · Redis · bench',
      `${cpu.botMs.toFixed(2)} · ${cpu.redisMs.toFixed(2)} · ${cpu.driverMs.toFixed(2)} ms`,
    );
    if (results.ack.warmUp) {
      out += row(`  the ${options.warmUpSeconds} s of warm-up before, p50 · p99 · max`, ms(results.ack.warmUp));
    }
  }
  if (results.click) {
    out += row('Approve click → cloud grant call, p50 · p99 · max', ms(results.click.toGrantCall));
    out += row('  of which click → approval committed', ms(results.click.toApproved));
  }
  for (const run of results.expiry) {
    out += row(
      `Revocation lateness, ${run.grants} at once, p50 · p99 · max`,
      ms(run.lateness),
      ms(run.floor),
      ratios(run.ratio),
    );
    out += row('  Redis memory per active grant', `${run.redisBytesPerActiveGrant} bytes`);
    out += row(`  Bot RSS with ${run.grants} grants active`, `${run.botRssAtActiveMiB} MiB`);
    out += row(
      '  every grant revoked exactly once, none left',
      run.revokedExactlyOnce && run.grantsLeft === 0 ? 'yes' : `NO (${run.grantsLeft} left)`,
    );
  }
  if (results.lifecycles) {
    const { lifecycles } = results;
    out += row(
      `Throughput, ${lifecycles.count} lifecycles`,
      `${lifecycles.perSecond}/s (${lifecycles.seconds} s)${lifecycles.allRevoked ? '' : ' — NOT ALL REVOKED'}`,
    );
  }
  if (results.gcpCoalesce) {
    const gcp = results.gcpCoalesce;
    out += row(
      `GCP, ${gcp.grants} at once over ${gcp.projects} project${gcp.projects > 1 ? 's' : ''}, until none left`,
      seconds(gcp.botMs),
      seconds(gcp.floorMs),
      x(gcp.ratio),
    );
    out += row(
      '  setIamPolicy calls (409 conflicts)',
      `${gcp.setIamPolicyCalls} (${gcp.conflicts})`,
      `${gcp.floorSetIamPolicyCalls}`,
    );
    out += row('  every binding removed, every request expired once', yes(gcp.allRevoked));
  }
  if (results.paced) {
    const paced = results.paced;
    const pace = paced.cloudRatesApplied ? `bot paced ${paced.botRate.perSecond}/s` : 'bot unpaced';
    out += row(
      `Azure, ${paced.grants} at once, ARM ${paced.cloudRate.perSecond}/s, ${pace}`,
      seconds(paced.botMs),
      seconds(paced.floorMs),
      x(paced.ratio),
    );
    out += row(
      '  failed attempts · alerts · 429s',
      `${paced.failedAttempts} · ${paced.alerts} · ${paced.throttled}`,
      `429s: ${paced.floorThrottled}`,
    );
    out += row('  every assignment removed, every request expired once', yes(paced.allRevoked));
  }
  out += row(`Bot RSS (peak${workers > 1 ? ', largest process' : ''})`, `${results.botRssMiB} MiB`);
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
