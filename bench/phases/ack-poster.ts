/**
 * The ack phase's signed posts, sent and timed from a process of their own: the driver's event loop also answers the
 * bot's calls to the fake Slack, and a post's answer would otherwise wait there behind them.
 */
import { spawn } from 'node:child_process';
import type { SignedTarget } from '../driver';
import type { Summary } from '../stats';
import { summarize } from '../stats';

/**
 * The poster, as plain JavaScript given to `node -e` (the smoke test runs the TypeScript sources and has nothing
 * compiled to spawn). Its first stdin line is `{ url, secret, perSecond, phases }`; it posts each phase's bodies at
 * the rate, open loop, signed as the driver signs (Slack's v0 HMAC), and writes one JSON line per phase once every
 * answer is in: each answer's `{ ms, text }`, and the CPU seconds the poster has used so far. It starts the next phase on the next stdin line, so the driver can read counters
 * in between.
 */
const POST_AT_RATE = `
const { request, Agent } = require('node:http');
const { createHmac } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const lines = [];
let waiting;
let buffered = '';
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let at;
  while ((at = buffered.indexOf('\\n')) >= 0) {
    lines.push(buffered.slice(0, at));
    buffered = buffered.slice(at + 1);
    if (waiting) { const wake = waiting; waiting = undefined; wake(); }
  }
});
const nextLine = async () => {
  while (lines.length === 0) await new Promise((resolve) => { waiting = resolve; });
  return lines.shift();
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
(async () => {
  const { url, secret, perSecond, phases } = JSON.parse(await nextLine());
  const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 60000 });
  const post = (body) => new Promise((resolve, reject) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = 'v0=' + createHmac('sha256', secret).update('v0:' + ts + ':' + body).digest('hex');
    const started = performance.now();
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      'x-slack-signature': signature,
      'x-slack-request-timestamp': ts,
    };
    const outgoing = request(url, { method: 'POST', agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => {
        const ms = performance.now() - started;
        if (response.statusCode !== 200) reject(new Error(url + ' answered HTTP ' + response.statusCode + ': ' + text));
        else resolve({ ms, text });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
  for (const [index, bodies] of phases.entries()) {
    if (index > 0) await nextLine();
    const started = Date.now();
    const answers = await Promise.all(bodies.map(async (body, at) => {
      await sleep(started + (at * 1000) / perSecond - Date.now());
      return post(body);
    }));
    const cpu = process.cpuUsage();
    process.stdout.write(JSON.stringify({ answers, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\\n');
  }
  agent.destroy();
})().catch((error) => {
  process.stderr.write('bench poster: ' + (error && error.stack || error) + '\\n');
  process.exit(1);
});
`;

export interface PostedPhase {
  latency: Summary;
  /** Each answer's text, in the order of the bodies. */
  answers: string[];
  /** CPU seconds the poster process had used when this phase's last answer came. */
  cpuSeconds: number;
}

/**
 * Posts each list of bodies at `perSecond` from the poster process, one list after the other; `between(index)` runs
 * after list `index` is answered and before the next starts.
 */
export async function postPhasesAtRate(
  target: SignedTarget,
  phases: readonly (readonly string[])[],
  perSecond: number,
  between: (index: number) => Promise<void> = async () => {},
): Promise<PostedPhase[]> {
  const poster = spawn(process.execPath, ['-e', POST_AT_RATE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const results: PostedPhase[] = [];
  try {
    let buffered = '';
    const lineReady: ((line: string) => void)[] = [];
    const pending: string[] = [];
    poster.stdout.setEncoding('utf8');
    poster.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let at = buffered.indexOf('\n');
      while (at >= 0) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        const waiter = lineReady.shift();
        if (waiter) waiter(line);
        else pending.push(line);
        at = buffered.indexOf('\n');
      }
    });
    const exited = new Promise<never>((_, reject) =>
      poster.once('exit', (code) => reject(new Error(`bench: the ack poster exited with ${code}`))),
    );
    // Its normal exit, after the last phase, rejects too; only a wait for a line takes that as a failure.
    exited.catch(() => {});
    const nextLine = () =>
      Promise.race([
        new Promise<string>((resolve) => {
          const ready = pending.shift();
          if (ready !== undefined) resolve(ready);
          else lineReady.push(resolve);
        }),
        exited,
      ]);
    poster.stdin.write(
      `${JSON.stringify({ url: target.eventsUrl, secret: target.signingSecret, perSecond, phases })}\n`,
    );
    for (let index = 0; index < phases.length; index += 1) {
      if (index > 0) poster.stdin.write('next\n');
      const { answers, cpuSeconds } = JSON.parse(await nextLine()) as {
        answers: { ms: number; text: string }[];
        cpuSeconds: number;
      };
      results.push({
        latency: summarize(answers.map((answer) => answer.ms)),
        answers: answers.map((answer) => answer.text),
        cpuSeconds,
      });
      await between(index);
    }
    return results;
  } finally {
    poster.stdin.end();
    if (poster.exitCode === null) poster.kill('SIGTERM');
  }
}
