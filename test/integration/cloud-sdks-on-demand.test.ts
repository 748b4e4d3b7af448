import { resolve } from 'node:path';
import { buildBot, runProcess } from '../support/bot-process';

const ROOT = resolve(__dirname, '../..');

/**
 * Builds the providers a policy names, in the built bot, and lists the cloud SDK packages the process then holds:
 * a bot for one cloud should not carry the others' SDKs in its memory.
 */
async function sdksLoadedFor(providers: string[]): Promise<string[]> {
  const script = `
    const { buildProviders } = require('./dist/providers/registry.js');
    const { createLogger } = require('./dist/lib/logger.js');
    const pacer = { take: async () => {}, holdOff: async () => {} };
    buildProviders(${JSON.stringify(providers)}, {
      env: {}, logger: createLogger({ level: 'silent' }), clock: { now: () => 0 }, redis: {},
      dryrunGrantsKey: 'k', checkpoints: {}, turns: {}, pacer, callRate: () => ({ perSecond: 1, burst: 1 }),
    });
    const packages = new Set(Object.keys(require.cache)
      .map((file) => /node_modules\\/(@aws-sdk|@azure|@google-cloud)\\//.exec(file)?.[1])
      .filter(Boolean));
    process.stdout.write(JSON.stringify([...packages].sort()));
  `;
  const result = await runProcess(process.execPath, ['-e', script], ROOT);
  if (result.status !== 0) throw new Error(`the probe failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

describe('cloud SDKs are loaded only for the clouds the policy uses', () => {
  beforeAll(() => buildBot(), 120_000);

  it('a dry-run-only bot loads none of them', async () => {
    expect(await sdksLoadedFor(['dryrun'])).toEqual([]);
  }, 30_000);

  it('a GCP bot loads Google’s SDK and neither AWS’s nor Azure’s', async () => {
    expect(await sdksLoadedFor(['dryrun', 'gcp'])).toEqual(['@google-cloud']);
  }, 30_000);

  it('a bot for every cloud loads all three', async () => {
    expect(await sdksLoadedFor(['dryrun', 'aws', 'azure', 'gcp'])).toEqual(['@aws-sdk', '@azure', '@google-cloud']);
  }, 30_000);
});
