import { startBenchBot } from './bench-bot';
import type { WorkerProcessOptions } from './worker-processes';

/** One more process running the bot's job workers on the bench's Redis, as a scaled-out deployment would. */
async function main(): Promise<void> {
  const options = JSON.parse(process.env.BENCH_WORKER_OPTIONS ?? '{}') as WorkerProcessOptions;
  const bot = await startBenchBot({
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    slackApiUrl: options.slackApiUrl,
    cloud: { latencyMs: options.latencyMs, callsPerSecond: options.callsPerSecond },
  });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    bot.stop().finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
