import type { App } from '@slack/bolt';
import { EVENT_NAMES } from '../ids';
import { publishAppHome } from '../interaction';
import type { SlackDeps } from '../slack-deps';

/** Draws the App Home fresh each time someone opens it, so time left is current; from then on it is kept current. */
export function registerAppHomeOpened(app: App, deps: SlackDeps): void {
  app.event(EVENT_NAMES.appHomeOpened, async ({ event, client }) => {
    if (event.tab !== 'home') return;
    try {
      await publishAppHome(client, await deps.overview.openedBy(event.user));
    } catch (error) {
      deps.logger.error({ err: error, userId: event.user }, 'could not draw the App Home');
    }
  });
}
