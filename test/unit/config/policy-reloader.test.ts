import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parsePolicyFileText, readPolicyFile } from '../../../src/config/load-config';
import { PolicyReloader, ReloadablePolicy } from '../../../src/config/policy-reloader';
import { createLogger } from '../../../src/lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';
import { eventually } from '../../support/eventually';
import { InMemoryAuditLog } from '../../support/in-memory/audit-log';
import { ManualClock } from '../../support/in-memory/clock';
import { RecordingAlerter } from '../../support/in-memory/recorders';

const policyWith = (...roleIds: string[]) => `
settings:
  adminChannel: C0ADMINS
roles:
${roleIds
  .map((id) => `  - id: ${id}\n    description: Role ${id}\n    provider: dryrun\n    autoApprove: true\n`)
  .join('')}`;

const parse = (file: string) => (text: string) =>
  parsePolicyFileText(text, file, PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS);

/** Two replicas reading the same mounted file, sharing one claim store (Redis in the bot). */
function replicas(file: string, count: number) {
  const claims = new Set<string>();
  const clock = new ManualClock(1_700_000_000_000);
  const audit = new InMemoryAuditLog(clock);
  const alerter = new RecordingAlerter();
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const made = Array.from({ length: count }, () => {
    const policy = new ReloadablePolicy(parse(file)(readPolicyFile(file)));
    const reloader = new PolicyReloader({
      file,
      policy,
      read: readPolicyFile,
      parse: parse(file),
      needsRestart: () => [],
      alerter,
      audit,
      claimOnce: async (key) => !claims.has(key) && Boolean(claims.add(key)),
      clock,
      logger: createLogger({ level: 'debug', destination }),
      debounceMs: 50,
    });
    return { policy, reloader };
  });
  return { made, audit, alerter, logs };
}

const roleIds = (policy: ReloadablePolicy) => policy.current().roles.map((role) => role.id);

describe('PolicyReloader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-reloader-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sees a ConfigMap update: the ..data symlink swapped by rename, the file itself untouched', async () => {
    // The layout the kubelet mounts: policy.yml → ..data/policy.yml, ..data → a timestamped directory.
    mkdirSync(join(dir, '..2025_01'));
    writeFileSync(join(dir, '..2025_01', 'policy.yml'), policyWith('first'));
    symlinkSync('..2025_01', join(dir, '..data'));
    symlinkSync(join('..data', 'policy.yml'), join(dir, 'policy.yml'));
    const { made, audit, alerter } = replicas(join(dir, 'policy.yml'), 2);
    for (const { reloader } of made) reloader.start();
    try {
      mkdirSync(join(dir, '..2025_02'));
      writeFileSync(join(dir, '..2025_02', 'policy.yml'), policyWith('first', 'second'));
      symlinkSync('..2025_02', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));

      await eventually(
        () => made.every(({ policy }) => roleIds(policy).includes('second')),
        'every replica has the new policy',
      );
      // Each replica logged it; the trail has it once.
      const notes = [];
      for await (const entry of audit.entries()) notes.push(entry);
      expect(notes.map((note) => ('reason' in note ? note.reason : ''))).toEqual([
        `policy ${join(dir, 'policy.yml')} reloaded (file-change): roles added: second`,
      ]);
      expect(alerter.alerts).toEqual([]);
    } finally {
      for (const { reloader } of made) reloader.stop();
    }
  });

  it('alerts once for a bad file seen by every replica, and keeps each replica on the policy in force', async () => {
    const file = join(dir, 'policy.yml');
    writeFileSync(file, policyWith('first'));
    const { made, alerter, logs } = replicas(file, 2);
    writeFileSync(file, 'roles: []\nsettings:\n  maxDuration: forever\n');
    const outcomes = await Promise.all(made.map(({ reloader }) => reloader.reload('SIGHUP')));

    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['rejected', 'rejected']);
    expect(made.map(({ policy }) => roleIds(policy))).toEqual([['first'], ['first']]);
    expect(alerter.alerts).toHaveLength(1);
    expect(alerter.alerts[0]).toMatchObject({ kind: 'policy-rejected', details: { file, trigger: 'SIGHUP' } });
    const problems = alerter.alerts[0]?.kind === 'policy-rejected' ? alerter.alerts[0].details.problems : [];
    expect(problems).toEqual([
      expect.stringContaining('settings.maxDuration: "forever" is not a duration'),
      expect.stringContaining('roles: must list at least one role'),
    ]);
    expect(logs.filter((line) => line.level === 'error' && Array.isArray(line.problems))).toHaveLength(2);
  });

  it('says so, and swaps nothing, when the file holds the policy in force (reformatted, say)', async () => {
    const file = join(dir, 'policy.yml');
    writeFileSync(file, policyWith('first'));
    const { made, audit } = replicas(file, 1);
    const [replica] = made;
    const before = replica?.policy.current();
    writeFileSync(file, `# a comment\n${policyWith('first')}`);
    expect(await replica?.reloader.reload('SIGHUP')).toEqual({ outcome: 'unchanged' });
    expect(replica?.policy.current()).toBe(before);
    const entries = [];
    for await (const entry of audit.entries()) entries.push(entry);
    expect(entries).toEqual([]);
  });
});
