import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { eventually } from './eventually';

const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist/main.js');

/** The built bot running as its own process, as `npm start` runs it. */
export interface BotProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Its JSON log lines, parsed (lines that are not JSON are left out). */
  logs(): Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Compiles src/ to dist/ the way `npm start` does before running it: only when the sources changed. */
export function buildBot(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-if-stale.js')], { cwd: ROOT });
}

/** How a command run by {@link runProcess} ended, with everything it printed. */
export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in `cwd` with only PATH and the given variables (no Slack, Redis or cloud settings). */
export function runProcess(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<ProcessResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

/** Starts the built bot in `cwd` with exactly the given environment (plus PATH). */
export function spawnBot(env: Record<string, string>, cwd: string): BotProcess {
  const child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  const logs = () =>
    stdout.split('\n').flatMap((line) => {
      if (line.trim() === '') return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return { child, stdout: () => stdout, stderr: () => stderr, logs, exited };
}

/** Waits until the bot answers `GET url` with 200; fails early, with its output, if it exits. */
export async function waitForHealth(url: string, bot: BotProcess, timeoutMs = 15_000): Promise<void> {
  // A fetch that throws (not listening yet) counts as not yet.
  await eventually(async () => (await fetch(url)).status === 200, `the bot answers 200 on ${url}`, {
    timeoutMs,
    intervalMs: 100,
    abortIf: () => (bot.child.exitCode !== null ? `the bot exited early with code ${bot.child.exitCode}` : undefined),
    detail: () => `${bot.stderr()}\n${bot.stdout()}`,
  });
}

/** Stops a bot process: SIGKILL for a crash, SIGTERM for a clean stop (then SIGKILL if it lingers). */
export async function stopBot(bot: BotProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
  if (bot.child.exitCode !== null || bot.child.signalCode !== null) return bot.child.exitCode;
  bot.child.kill(signal);
  const timer = setTimeout(() => bot.child.kill('SIGKILL'), 10_000);
  try {
    return await bot.exited;
  } finally {
    clearTimeout(timer);
  }
}
