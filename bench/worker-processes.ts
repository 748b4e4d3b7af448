import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface WorkerProcessOptions {
  redisUrl: string;
  prefix: string;
  slackApiUrl: string;
  latencyMs: number;
  callsPerSecond: number;
}

/** Starts `count` processes that run only the bot's job workers on the same Redis (see worker-process.ts). */
export async function startWorkerProcesses(
  count: number,
  options: WorkerProcessOptions,
): Promise<{ stop(): Promise<void> }> {
  const children: ChildProcess[] = [];
  await Promise.all(
    Array.from({ length: count }, async () => {
      const child = spawn(process.execPath, [join(__dirname, 'worker-process.js')], {
        env: { ...process.env, BENCH_WORKER_OPTIONS: JSON.stringify(options) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString('utf8').includes('ready')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`bench worker process exited with ${code}`)));
      });
    }),
  );
  return {
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
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
