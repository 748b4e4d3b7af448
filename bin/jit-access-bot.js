#!/usr/bin/env node
// The installed command. A plain file, kept executable in git, because the compiled dist/ loses the mode bit.
'use strict';

let cli;
try {
  cli = require('../dist/cli/jit-access-bot.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/jit-access-bot')) {
    process.stderr.write('jit-access-bot: it is not built yet: run npm run build (npm ci does it too), then try again.\n');
    process.exit(1);
  }
  throw error;
}
cli.main();
