/** One bench bot process: starts the bot from the options in its environment and says when it is ready. */
import { startBenchBot } from './bench-bot';
import type { BotProcessOptions } from './bot-processes';

/** The bot in a process of its own, as it runs in production: Slack over HTTP and the job workers. */
async function main(): Promise<void> {
  const options = JSON.parse(process.env.BENCH_BOT_OPTIONS ?? '{}') as BotProcessOptions;
  const bot = await startBenchBot(options);
  process.stdout.write(`${JSON.stringify({ ready: true, eventsUrl: bot.eventsUrl })}\n`);
  process.once('SIGTERM', () => {
    bot.stop().finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench bot failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
