import type { App } from '@slack/bolt';
import { EVENT_NAMES } from '../ids';
import type { SlackDeps } from '../slack-deps';

/**
 * Slack says a user group's members changed: its cached members are dropped (in every replica, the cache being
 * shared), so someone removed from an approver or requester group loses the right at their next click rather than
 * when the cache would have expired.
 */
export function registerSubteamMembersChanged(app: App, deps: SlackDeps): void {
  app.event(EVENT_NAMES.subteamMembersChanged, async ({ event }) => {
    const usergroupId = event.subteam_id;
    try {
      await deps.usergroups.forgetUsergroup(usergroupId);
      deps.logger.info(
        { usergroupId, added: event.added_users?.length ?? 0, removed: event.removed_users?.length ?? 0 },
        'user group members changed; its cached members are dropped',
      );
    } catch (error) {
      deps.logger.error(
        { err: error, usergroupId },
        'could not drop the cached members of a changed user group; they are trusted until the cache expires',
      );
    }
  });
}
