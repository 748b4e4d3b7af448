import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SLASH_COMMAND } from '../../../src/slack/ids';
import { EVENTS_PATH } from '../../../src/slack/slack-app';

interface Manifest {
  features: { slash_commands: { command: string; url: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url: string } };
}

describe('manifest.yml', () => {
  const manifest = parse(readFileSync(join(__dirname, '../../../manifest.yml'), 'utf8')) as Manifest;

  it('declares the slash command and interactivity the listeners need, at the events path', () => {
    expect(manifest.features.slash_commands.map((command) => command.command)).toEqual([SLASH_COMMAND]);
    expect(manifest.features.slash_commands[0]?.url).toMatch(new RegExp(`${EVENTS_PATH}$`));
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.interactivity.request_url).toMatch(new RegExp(`${EVENTS_PATH}$`));
  });

  it('asks for exactly the bot scopes the code uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([
      'chat:write',
      'commands',
      'files:write',
      'im:write',
      'usergroups:read',
      'users:read',
      'users:read.email',
    ]);
  });
});
