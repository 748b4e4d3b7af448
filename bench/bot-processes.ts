/** The bot in processes of its own, as replicas of one deployment, and what the driver needs of any bot. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchBotOptions } from './bench-bot';

export type BotProcessOptions = BenchBotOptions & { signingSecret: string };

/**
 * The V8 flags the bot runs with in production: those of `npm start` (the Dockerfile's `CMD` has the same, and a
 * test keeps them equal). The compiled bench runs from `dist-bench/bench`.
 */
const PRODUCTION_NODE_FLAGS: readonly string[] = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(' ')
  .filter((arg) => arg.startsWith('--'));

/** Whether the process answering Slack also runs the job workers (`together`) or leaves them to others (`split`). */
export type BotTopology = 'together' | 'split';

/** A bot the driver talks to over HTTP, wherever it runs. */
export interface BotHandle {
  eventsUrl: string;
  signingSecret: string;
  /** Resident memory of the bot's process(es), in bytes (the largest, with several). */
  rssBytes(): Promise<number>;
  /** The text of each process's `/metrics`. */
  metricsText(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts `count` bot processes on the same Redis (compiled bench only). Together: the first answers Slack, all
 * run job workers, as replicas of one deployment would. Split: one more process answers Slack and runs no job
 * workers (`JIT_RUN_WORKERS=false`), the `count` others run them, as deploy/kubernetes deploys the bot.
 */
export async function startBotProcesses(
  count: number,
  options: BotProcessOptions,
  topology: BotTopology = 'together',
): Promise<BotHandle> {
  const roles: Record<string, string>[] =
    topology === 'split'
      ? [{ JIT_RUN_WORKERS: 'false' }, ...Array.from({ length: count }, () => ({ JIT_RUN_WORKERS: 'true' }))]
      : Array.from({ length: count }, () => ({}));
  const children: { child: ChildProcess; eventsUrl: string }[] = await Promise.all(
    roles.map(async (roleEnv) => {
      // BENCH_BOT_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=prof", profiles the bot processes.
      const nodeArgs = [...PRODUCTION_NODE_FLAGS, ...(process.env.BENCH_BOT_NODE_ARGS ?? '').split(' ')].filter(
        (arg) => arg !== '',
      );
      const processOptions: BotProcessOptions = { ...options, env: { ...options.env, ...roleEnv } };
      const child = spawn(process.execPath, [...nodeArgs, join(__dirname, 'bot-process.js')], {
        env: { ...process.env, BENCH_BOT_OPTIONS: JSON.stringify(processOptions) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const eventsUrl = await new Promise<string>((resolve, reject) => {
        let buffered = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const ready = /\{"ready":true,"eventsUrl":"([^"]+)"\}/.exec(buffered);
          if (ready?.[1]) resolve(ready[1]);
        });
        child.on('exit', (code) => reject(new Error(`bench bot process exited with ${code}`)));
      });
      return { child, eventsUrl };
    }),
  );
  const first = children[0];
  if (!first) throw new Error('bench: no bot process');
  const metricsText = () =>
    Promise.all(
      children.map(async ({ eventsUrl }) => (await fetch(eventsUrl.replace('/slack/events', '/metrics'))).text()),
    );
  return {
    eventsUrl: first.eventsUrl,
    signingSecret: options.signingSecret,
    async rssBytes() {
      const texts = await metricsText();
      return Math.max(...texts.map((text) => Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0)));
    },
    metricsText,
    async stop() {
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.on('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
