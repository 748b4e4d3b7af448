import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { AuditEntry } from '../../src/domain/audit-event';
import { AUDIT_CSV_COLUMNS } from '../../src/domain/audit-format';
import { RedisAuditLog } from '../../src/store/audit-log';
import { RedisKeys } from '../../src/store/keys';
import { buildBot, type ProcessResult, runProcess } from '../support/bot-process';
import { readCsv } from '../support/csv-reader';
import { freePort } from '../support/free-port';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/cli/audit-export.js');

/** Runs the built export as `npm run audit` does, in `cwd`, with exactly the given environment. */
function runExport(args: string[], env: Record<string, string>, cwd: string): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI, ...args], cwd, env);
}

function asJson(entry: AuditEntry): Record<string, string> {
  return {
    streamId: entry.streamId,
    at: new Date(entry.at).toISOString(),
    type: entry.type,
    ...(entry.requestId !== undefined && { requestId: entry.requestId }),
    ...(entry.type === 'transition' && { from: entry.from, to: entry.to }),
    actor: entry.actor,
    reason: entry.reason,
  };
}

function asCsvRecord(entry: AuditEntry): string[] {
  const json = asJson(entry);
  return AUDIT_CSV_COLUMNS.map((column) => json[column] ?? '');
}

function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

describe('npm run audit (the export as a process)', () => {
  const redisUrl = process.env.JIT_TEST_REDIS_URL ?? '';
  let bot: TestBot;
  let dir: string;
  let env: Record<string, string>;
  let entries: AuditEntry[];
  let cancelled: string;

  beforeAll(async () => {
    buildBot();
    dir = mkdtempSync(join(tmpdir(), 'jit-audit-'));
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
    await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging INC-42', 'U0LEAD');
    await bot.request('U0BOB', 'staging-deployer 5m deploy');
    cancelled = await bot.request('U0BOB', 'sandbox-admin 1h fix, "the" thing\nsecond line =1+1');
    await bot.commandText('U0BOB', `cancel ${cancelled}`);
    await bot.container.auditLog.note({ kind: 'drift', actor: 'system:reconciler', reason: 'a note', at: Date.now() });
    entries = [];
    for await (const entry of bot.container.auditLog.entries()) entries.push(entry);
    // Only what the export needs: no Slack settings, no policy file.
    env = { REDIS_URL: redisUrl, JIT_REDIS_PREFIX: bot.container.keys.prefix };
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('streams the last 7 days as JSON lines by default', async () => {
    const result = await runExport([], env, dir);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(entries.length).toBeGreaterThanOrEqual(9);
    expect(jsonLines(result.stdout)).toEqual(entries.map(asJson));
  });

  it('writes CSV with a header row, quoting what needs it', async () => {
    const result = await runExport(['--since', '7d', '--format', 'csv'], env, dir);
    expect(result.status).toBe(0);
    const records = readCsv(result.stdout);
    expect(records[0]).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(records.slice(1)).toEqual(
      entries.map(asCsvRecord).map((record) => record.map((field) => (/^[=+\-@]/.test(field) ? `'${field}` : field))),
    );
    expect(result.stdout).toContain('"fix, ""the"" thing\nsecond line =1+1"');
  });

  it('filters by request and by time', async () => {
    const mine = await runExport(['--request', cancelled.toUpperCase()], env, dir);
    expect(jsonLines(mine.stdout)).toEqual(entries.filter((entry) => entry.requestId === cancelled).map(asJson));
    expect(jsonLines(mine.stdout)).toHaveLength(2);

    const last = entries.at(-1);
    const fromLast = await runExport(['--since', new Date(last?.at ?? 0).toISOString()], env, dir);
    expect(jsonLines(fromLast.stdout).at(-1)).toEqual(last && asJson(last));

    const none = await runExport(['--since', '2000-01-01', '--until', '2000-01-02', '--format', 'csv'], env, dir);
    expect(none).toMatchObject({ status: 0, stdout: `${AUDIT_CSV_COLUMNS.join(',')}\r\n` });
  });

  it('reads REDIS_URL and JIT_REDIS_PREFIX from .env, with the environment winning', async () => {
    const withEnvFile = mkdtempSync(join(tmpdir(), 'jit-audit-env-'));
    try {
      writeFileSync(join(withEnvFile, '.env'), `REDIS_URL=${redisUrl}\nJIT_REDIS_PREFIX=${env.JIT_REDIS_PREFIX}\n`);
      const fromFile = await runExport([], {}, withEnvFile);
      expect(fromFile.status).toBe(0);
      expect(jsonLines(fromFile.stdout)).toHaveLength(entries.length);

      const overridden = await runExport([], { JIT_REDIS_PREFIX: `nothing-${randomUUID().slice(0, 8)}` }, withEnvFile);
      expect(overridden).toMatchObject({ status: 0, stdout: '' });
      expect(overridden.stderr).toContain('there is no audit trail at nothing-');
      expect(overridden.stderr).toContain('JIT_REDIS_PREFIX differs');
    } finally {
      rmSync(withEnvFile, { recursive: true, force: true });
    }
  });

  it('pages through a long trail and stops quietly when the reader goes away', async () => {
    const prefix = `jit-audit-long-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(redisUrl);
    try {
      const log = new RedisAuditLog(redis, new RedisKeys(prefix));
      const count = 2_500;
      await Promise.all(
        Array.from({ length: count }, (_, n) =>
          log.note({ kind: 'drift', requestId: 'abcdefgh', actor: 'system:test', reason: `note ${n}`, at: Date.now() }),
        ),
      );
      const all = await runExport(['--format', 'csv'], { ...env, JIT_REDIS_PREFIX: prefix }, dir);
      const records = readCsv(all.stdout);
      expect(records).toHaveLength(count + 1);
      expect(records.at(-1)?.[7]).toBe(`note ${count - 1}`);

      // Like `| head -1`: the reader closes the pipe after the first chunk.
      const child = spawn(process.execPath, [CLI], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', ...env, JIT_REDIS_PREFIX: prefix },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      child.stdout.once('data', () => child.stdout.destroy());
      const status = await new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      await redis.del(new RedisKeys(prefix).audit());
      redis.disconnect();
    }
  });

  it.each([
    [['--format', 'xml'], '--format "xml" is not a format; use jsonl or csv.'],
    [['--since', 'last week'], '--since "last week" is neither a time back from now'],
    [['--verbose'], "Unknown option '--verbose'"],
  ])('refuses %j with exit 64 and a specific message', async (args, message) => {
    const result = await runExport(args, env, dir);
    expect(result).toMatchObject({ status: 64, stdout: '' });
    expect(result.stderr).toContain(`audit: ${message}`);
    expect(result.stderr).toContain('Run with --help for the options.');
  });

  it('prints its help', async () => {
    const result = await runExport(['--help'], {}, dir);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toContain('Usage: npm run -s audit -- [options]');
  });

  it('says when Redis cannot be reached, exit 69, without the password', async () => {
    const port = await freePort();
    const result = await runExport([], { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` }, dir);
    expect(result).toMatchObject({ status: 69, stdout: '' });
    expect(result.stderr).toBe(
      `audit: cannot reach Redis at redis://***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}. Check REDIS_URL (host, port, user, password) and that Redis is running.\n`,
    );
  });

  it('refuses a malformed REDIS_URL with exit 78', async () => {
    const result = await runExport([], { REDIS_URL: 'http://localhost:6379' }, dir);
    expect(result).toMatchObject({ status: 78, stdout: '' });
    expect(result.stderr).toContain('REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379');
  });
});
