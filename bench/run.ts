import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../test/support/redis-server';
import { type BenchResults, runBench } from './bench';
import { startBotProcesses } from './bot-processes';

const HELP = `npm run bench -- [options]

  --rate N          slash commands per second in the ack phase (default 100)
  --seconds N       how long the ack phase lasts (default 10)
  --clicks N        approve clicks measured (default 200)
  --expiring LIST   comma-separated sizes of the "expire in the same second" runs (default 1000,10000)
  --lifecycles N    lifecycles run end to end for the throughput figure (default 2000)
  --latency MS      fake cloud latency per call (default 50)
  --cloud-rate N    fake cloud calls per second per process, 0 for no limit (default 0)
  --workers N       bot processes on the same Redis, each running the job workers (default 1)
  --out FILE        where to write the results (default bench/results.json)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '10' },
      clicks: { type: 'string', default: '200' },
      expiring: { type: 'string', default: '1000,10000' },
      lifecycles: { type: 'string', default: '2000' },
      latency: { type: 'string', default: '50' },
      'cloud-rate': { type: 'string', default: '0' },
      workers: { type: 'string', default: '1' },
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
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number ≥ 0, not "${text}"`);
    return value;
  };
  const workers = Math.max(1, number('workers', values.workers));
  // BullMQ's delayed jobs are promoted on Redis's clock; hz 100 checks expiring keys 100 times a second (see docs/BENCHMARKS.md).
  // As in production: AOF on, nothing evicted.
  const redis = await startRedisServer({
    extraArgs: ['--hz', '100', '--maxmemory-policy', 'noeviction', '--appendonly', 'yes'],
  });
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  try {
    const results = await runBench({
      redisUrl: redis.url,
      commandsPerSecond: number('rate', values.rate),
      commandSeconds: number('seconds', values.seconds),
      clicks: number('clicks', values.clicks),
      expiring: values.expiring.split(',').map((size) => number('expiring', size)),
      lifecycles: number('lifecycles', values.lifecycles),
      cloudLatencyMs: number('latency', values.latency),
      cloudCallsPerSecond: number('cloud-rate', values['cloud-rate']),
      // The bot runs in processes of its own, as in production; the driver and the fake Slack stay here.
      startBot: (botOptions) => startBotProcesses(workers, botOptions),
      botProcesses: workers,
      progress: log,
    });
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    };
    const withMachine = { ...results, machine };
    mkdirSync(join(values.out, '..'), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(withMachine, null, 2)}\n`);
    process.stdout.write(table(results, workers));
    process.stdout.write(`\nwritten to ${values.out}\n`);
  } finally {
    await redis.stop();
  }
}

function table(results: BenchResults, workers: number): string {
  const row = (name: string, value: string) => `${name.padEnd(52)} ${value}\n`;
  const ms = (s: { p50: number; p99: number; max: number; count: number }) =>
    `p50 ${s.p50} ms · p99 ${s.p99} ms · max ${s.max} ms (n=${s.count})`;
  let out = `\njit-access-bot benchmark (${workers} bot process${workers > 1 ? 'es' : ''}, cloud latency ${results.options.cloudLatencyMs} ms)\n\n`;
  out += row(`Slack ack, ${results.options.commandsPerSecond} commands/s`, ms(results.ackLatency));
  out += row('Approve click → cloud grant call', ms(results.clickToGrantCall));
  out += row('  of which click → approval committed', ms(results.clickToApproved));
  for (const run of results.expiry) {
    out += row(`Revocation lateness, ${run.grants} expiring at once`, ms(run.lateness));
    out += row(`  Redis memory per active grant`, `${run.redisBytesPerActiveGrant} bytes`);
    out += row(
      `  every grant revoked exactly once, none left`,
      `${run.revokedExactlyOnce && run.grantsLeft === 0 ? 'yes' : `NO (${run.grantsLeft} left)`}`,
    );
  }
  out += row(
    `Throughput, ${results.lifecycles.count} lifecycles`,
    `${results.lifecycles.perSecond}/s (${results.lifecycles.seconds} s)${results.lifecycles.allRevoked ? '' : ' — NOT ALL REVOKED'}`,
  );
  out += row(`Bot RSS (peak${workers > 1 ? ', largest process' : ''})`, `${results.botRssMiB} MiB`);
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
