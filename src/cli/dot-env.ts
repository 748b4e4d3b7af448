/** The `.env` file the command-line tools read, as the bot does at start. */
import { existsSync } from 'node:fs';
import { CliError } from './cli-error';

/**
 * Loads `.env` from the working directory into `process.env` when there is one; the real environment wins.
 * @throws CliError `config` when the file cannot be read or parsed
 */
export function loadDotEnv(): void {
  try {
    if (existsSync('.env')) process.loadEnvFile('.env');
  } catch (error) {
    throw new CliError('config', `cannot read .env: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
