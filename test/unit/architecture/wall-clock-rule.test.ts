import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The rule that only `src/lib/clock.ts` reads the wall clock is a Biome plugin (`biome-plugins/no-wall-clock.grit`,
 * enabled in `biome.json`). These tests run the repository's own Biome and configuration, so a plugin that stops
 * matching, or a `biome.json` that stops enabling it, fails here.
 */

const ROOT = join(__dirname, '..', '..', '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string; start: { line: number } };
}

/** Biome's plugin findings under `cwd`, as `path:line` (from its JSON report, which Biome marks experimental). */
function wallClockReads(cwd: string, paths: readonly string[]): string[] {
  const run = spawnSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', ...paths], {
    cwd,
    encoding: 'utf8',
  });
  const report = JSON.parse(run.stdout) as { diagnostics: Diagnostic[] };
  return report.diagnostics
    .filter((diagnostic) => diagnostic.category === 'plugin')
    .map((diagnostic) => `${diagnostic.location.path}:${diagnostic.location.start.line}`);
}

describe('the wall-clock rule', () => {
  let dir: string;
  const write = (path: string, lines: readonly string[]) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), `${lines.join('\n')}\n`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-wall-clock-'));
    cpSync(join(ROOT, 'biome.json'), join(dir, 'biome.json'));
    cpSync(join(ROOT, 'biome-plugins'), join(dir, 'biome-plugins'), { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports every way of reading the wall clock in src/, and nothing that converts a given time', () => {
    write('src/jobs/reads-the-clock.ts', [
      'export const a = Date.now();', // 1: reported
      'export const b = new Date();', // 2: reported
      'export const c = { now: Date.now };', // 3: reported (the function, handed on)
      'export const d = Date();', // 4: reported (a string of the current time)
      'export const e = globalThis.Date.now();', // 5: reported
      'export const f = new Date(0).toISOString();', // 6: a given time
      'export const g = new Date(Date.UTC(2030, 0, 1));', // 7: a given time
      "export const h = Date.parse('2030-01-01T00:00:00Z');", // 8: a given time
      'export const clock = { now: () => 0 };', // 9
      'export const i = clock.now();', // 10
    ]);

    expect(wallClockReads(dir, ['src/jobs/reads-the-clock.ts'])).toEqual([
      'src/jobs/reads-the-clock.ts:1',
      'src/jobs/reads-the-clock.ts:2',
      'src/jobs/reads-the-clock.ts:3',
      'src/jobs/reads-the-clock.ts:4',
      'src/jobs/reads-the-clock.ts:5',
    ]);
  });

  it('leaves src/lib/clock.ts, test/ and bench/ free to read real time', () => {
    const reads = ['export const now = Date.now();', 'export const today = new Date();'];
    write('src/lib/clock.ts', reads);
    write('test/unit/real-time.test.ts', reads);
    write('bench/real-time.ts', reads);
    write('src/lib/not-the-clock.ts', reads);

    expect(wallClockReads(dir, ['src/lib', 'test', 'bench'])).toEqual([
      'src/lib/not-the-clock.ts:1',
      'src/lib/not-the-clock.ts:2',
    ]);
  });

  it('finds no read of the wall clock in src/ outside src/lib/clock.ts', () => {
    // `npm test` checks this through `npm run lint` too; here it also holds for `npm run test:unit`.
    expect(wallClockReads(ROOT, ['src'])).toEqual([]);
  });
});
