import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';

/** What the operations endpoints look at. */
export interface OpsProbes {
  metrics: Pick<Metrics, 'exposition'>;
  /** Resolves when Redis answers; rejects (with the reason) when it does not. */
  pingRedis: () => Promise<void>;
  /** True while this process's job workers are taking jobs. */
  workersRunning: () => boolean;
  logger: Logger;
  /** How long readiness waits for Redis (default 1 s). */
  readinessTimeoutMs?: number;
}

const DEFAULT_READINESS_TIMEOUT_MS = 1_000;

/**
 * `GET /healthz` (the process is up), `GET /readyz` (Redis answers and the workers run) and `GET /metrics`
 * (Prometheus text). Served beside `/slack/events` in HTTP mode and on `PORT` in Socket Mode.
 */
export function opsRoutes(probes: OpsProbes): CustomRoute[] {
  const timeoutMs = probes.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS;
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void readiness(probes, timeoutMs).then(({ checks, problems }) => {
          if (problems.length === 0) {
            sendJson(res, 200, { status: 'ready' });
            return;
          }
          // The body names the failed check only: this port may face the internet in HTTP mode.
          probes.logger.warn({ checks, problems }, 'not ready');
          sendJson(res, 503, { status: 'not ready', checks });
        });
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        probes.metrics.exposition().then(
          ({ contentType, body }) => {
            res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
            res.end(body);
          },
          (error: unknown) => {
            probes.logger.error({ err: error }, 'could not render metrics');
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            res.end('metrics unavailable\n');
          },
        );
      },
    },
  ];
}

/** Each check's verdict: `ok` or what is wrong. */
export interface ReadinessChecks {
  redis: 'ok' | 'unreachable';
  workers: 'ok' | 'not running';
}

async function readiness(
  probes: OpsProbes,
  timeoutMs: number,
): Promise<{ checks: ReadinessChecks; problems: string[] }> {
  const problems: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
  });
  const redisOk = await Promise.race([probes.pingRedis(), deadline]).then(
    () => true,
    (error: unknown) => {
      problems.push(`Redis: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    },
  );
  clearTimeout(timer);
  let workersOk = false;
  try {
    workersOk = probes.workersRunning();
    if (!workersOk) problems.push('job workers are not running');
  } catch (error) {
    problems.push(`job workers: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { checks: { redis: redisOk ? 'ok' : 'unreachable', workers: workersOk ? 'ok' : 'not running' }, problems };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
