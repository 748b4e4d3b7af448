import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '@slack/bolt';
import { parse } from 'yaml';
import { ACTION_IDS, EVENT_NAMES, SHORTCUT_IDS, SLASH_COMMAND } from '../../../src/slack/ids';
import { registerListeners } from '../../../src/slack/register-listeners';
import { EVENTS_PATH } from '../../../src/slack/slack-app';
import type { SlackDeps } from '../../../src/slack/slack-deps';

interface Manifest {
  features: {
    app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean };
    slash_commands: { command: string; url: string }[];
    shortcuts?: { callback_id: string; type: string; name: string; description: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions?: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url: string; message_menu_options_url?: string };
  };
}

const LISTENER_KINDS = ['command', 'action', 'view', 'shortcut', 'event', 'options', 'message'] as const;
type ListenerKind = (typeof LISTENER_KINDS)[number];

/** Registers the real listeners on a stand-in App that records what each registration listens for. */
function registeredListeners(): Record<ListenerKind, unknown[]> {
  const registered = Object.fromEntries(LISTENER_KINDS.map((kind) => [kind, [] as unknown[]])) as Record<
    ListenerKind,
    unknown[]
  >;
  const app = new Proxy(
    {},
    {
      get(_target, property) {
        if (!(LISTENER_KINDS as readonly PropertyKey[]).includes(property)) {
          throw new Error(`registerListeners used app.${String(property)}, which this test does not know`);
        }
        return (constraint: unknown) => registered[property as ListenerKind].push(constraint);
      },
    },
  ) as unknown as App;
  registerListeners(app, {} as SlackDeps);
  return registered;
}

describe('manifest.yml', () => {
  const manifest = parse(readFileSync(join(__dirname, '../../../manifest.yml'), 'utf8')) as Manifest;
  const listeners = registeredListeners();

  it('declares exactly the slash commands the code listens for, at the events path', () => {
    expect(listeners.command).toEqual([SLASH_COMMAND]);
    expect(manifest.features.slash_commands.map((command) => command.command).sort()).toEqual(
      [...new Set(listeners.command)].sort(),
    );
    for (const command of manifest.features.slash_commands) expect(command.url).toMatch(new RegExp(`${EVENTS_PATH}$`));
  });

  it('declares exactly the global shortcuts the code listens for', () => {
    expect(listeners.shortcut).toContain(SHORTCUT_IDS.requestAccess);
    const declared = (manifest.features.shortcuts ?? []).map((shortcut) => shortcut.callback_id).sort();
    expect(declared).toEqual([...new Set(listeners.shortcut)].sort());
    for (const shortcut of manifest.features.shortcuts ?? []) {
      expect(shortcut.type).toBe('global');
      expect(shortcut.name.length).toBeLessThanOrEqual(24);
      expect(shortcut.description.length).toBeLessThanOrEqual(40);
    }
  });

  it('subscribes to exactly the events the code listens for, at the events path, with the Home tab on', () => {
    expect(listeners.event).toContain(EVENT_NAMES.appHomeOpened);
    expect([...(manifest.settings.event_subscriptions?.bot_events ?? [])].sort()).toEqual(
      [...new Set(listeners.event)].sort(),
    );
    expect(manifest.settings.event_subscriptions?.request_url).toMatch(new RegExp(`${EVENTS_PATH}$`));
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
  });

  it('turns on interactivity, at the events path, because the code listens for buttons and modals', () => {
    expect(listeners.action.length + listeners.view.length).toBeGreaterThan(0);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.interactivity.request_url).toMatch(new RegExp(`${EVENTS_PATH}$`));
    // Message listeners would need more events and scopes.
    expect(listeners.message).toEqual([]);
  });

  it('acknowledges the approval message menus it sends, which need no manifest entry beyond interactivity', () => {
    // The "Approve for" menu sends a block_actions of its own on each choice; an unacknowledged one shows an error.
    expect(listeners.action).toEqual(expect.arrayContaining([ACTION_IDS.approve, ACTION_IDS.approvalDuration]));
  });

  it('declares the options load URL, at the events path, because the code answers a type-ahead menu', () => {
    // Only the request form's role menus (the role, and the roles to bundle with it) load their options from the
    // bot, and only as block_suggestion.
    expect(listeners.options).toEqual([
      { type: 'block_suggestion', action_id: ACTION_IDS.pickRole },
      { type: 'block_suggestion', action_id: ACTION_IDS.pickMoreRoles },
    ]);
    expect(manifest.settings.interactivity.message_menu_options_url).toMatch(new RegExp(`${EVENTS_PATH}$`));
  });

  it('puts every URL on the same placeholder host, so one replacement sets them all', () => {
    const urls = [
      ...manifest.features.slash_commands.map((command) => command.url),
      manifest.settings.event_subscriptions?.request_url,
      manifest.settings.interactivity.request_url,
      manifest.settings.interactivity.message_menu_options_url,
    ];
    expect(urls.map((url) => /^https:\/\/([^/]+)\//.exec(url ?? '')?.[1])).toEqual(urls.map(() => 'YOUR-HOST'));
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
