// @ts-check
/**
 * Compiles src/ to dist/ only when something it is built from changed since the last successful build, so a start
 * or restart without edits costs a directory walk instead of a full compile. Run by `prestart` and `prepare`.
 * A directory's own time counts too, so deleting or renaming a file also triggers a build.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { readdirSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
/** Written after a build that succeeded; a failed build leaves the old one, so the next start builds again. */
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** @param {string} file @returns {number} the newest modification time under `file`, 0 if it does not exist */
function newest(file) {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    return 0;
  }
  let latest = stats.mtimeMs;
  if (stats.isDirectory()) {
    for (const entry of readdirSync(file)) latest = Math.max(latest, newest(path.join(file, entry)));
  }
  return latest;
}

const builtAt = newest(stamp);
const changedAt = Math.max(...inputs.map((input) => newest(path.join(root, input))));
if (builtAt === 0 || changedAt > builtAt) {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    process.stderr.write('Cannot build: TypeScript is not installed. Run `npm ci` (with the dev dependencies) first.\n');
    process.exit(1);
  }
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  } catch {
    process.stderr.write('The build failed (errors above); fix them and start again.\n');
    process.exit(1);
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
