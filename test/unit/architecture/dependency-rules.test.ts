import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

/**
 * The layer rules live in `.dependency-cruiser.js` and run as `npm run depcheck` before the tests. Here the same
 * configuration cruises a small made-up `src/` holding one import each rule forbids, next to imports the
 * architecture allows, so a rule whose paths stop matching fails here instead of passing everything.
 */

const ROOT = join(__dirname, '..', '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

/** Each module imports the named modules; every module named anywhere exists. */
const TREE: Readonly<Record<string, readonly string[]>> = {
  // Forbidden.
  'src/config/policy-schema.ts': ['src/providers/registry.ts', 'src/domain/policy.ts'],
  'src/lib/clock.ts': ['src/domain/ports.ts'],
  'src/lib/audit-format.ts': ['src/store/audit-log.ts'],
  'src/domain/request-service.ts': ['src/domain/ports.ts', 'src/lib/logger.ts'],
  'src/jobs/workers.ts': ['src/slack/notifier.ts', 'src/domain/ports.ts', 'src/lib/logger.ts'],
  'src/providers/registry.ts': ['src/store/keys.ts', 'src/config/env-schema.ts', 'src/domain/ports.ts'],
  'src/slack/notifier.ts': ['src/providers/registry.ts', 'src/domain/ports.ts'],
  'src/store/audit-log.ts': ['src/store/keys.ts'],
  'src/store/keys.ts': ['src/store/audit-log.ts'],
  // Allowed only.
  'src/lib/metrics.ts': ['src/lib/logger.ts'],
  'src/config/env-schema.ts': ['src/config/config-error.ts'],
  'src/container.ts': ['src/jobs/workers.ts', 'src/lib/clock.ts', 'src/lib/metrics.ts', 'src/lib/audit-format.ts'],
};

/** Writes each module of {@link TREE} with a value import of each module it names. */
function writeTree(dir: string): void {
  const modules = new Set([...Object.keys(TREE), ...Object.values(TREE).flat()]);
  for (const module of modules) {
    const imports = (TREE[module] ?? []).map((target, index) => {
      const specifier = relative(dirname(module), target.replace(/\.ts$/, ''));
      return `import * as m${index} from '${specifier.startsWith('.') ? specifier : `./${specifier}`}';\nexport const use${index} = m${index};`;
    });
    mkdirSync(join(dir, dirname(module)), { recursive: true });
    writeFileSync(join(dir, module), `${imports.join('\n')}\nexport const name = '${module}';\n`);
  }
}

describe('the dependency rules', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-depcruise-'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs' } }));
    writeTree(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuse each forbidden import, and only those', () => {
    // The command `npm run depcheck` runs, with its default reporter: `error <rule>: <from> → <to>` (a cycle goes on
    // over the next lines).
    // Under CI=true the reporter colours its output; colour would hide the lines from the pattern below.
    const run = spawnSync(DEPCRUISE, ['src', '--config', join(ROOT, '.dependency-cruiser.js')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    const plain = stripVTControlCharacters(run.stdout);
    const found = [...plain.matchAll(/^\s*error (\S+): (\S+) →\s+(\S+)/gm)].map(
      ([, rule, from, to]) => `${rule}: ${from} → ${to}`,
    );

    expect(found.sort()).toEqual(
      [
        'config-knows-no-provider: src/config/policy-schema.ts → src/providers/registry.ts',
        'lib-is-a-leaf: src/lib/clock.ts → src/domain/ports.ts',
        'lib-is-a-leaf: src/lib/audit-format.ts → src/store/audit-log.ts',
        'domain-is-pure: src/domain/request-service.ts → src/lib/logger.ts',
        'jobs-never-import-slack: src/jobs/workers.ts → src/slack/notifier.ts',
        'providers-stay-behind-the-port: src/providers/registry.ts → src/store/keys.ts',
        'slack-never-touches-clouds-or-store: src/slack/notifier.ts → src/providers/registry.ts',
        'no-circular: src/store/audit-log.ts → src/store/keys.ts',
      ].sort(),
    );
    expect(run.status).not.toBe(0); // so `npm run depcheck` stops `npm test`
  });
});
