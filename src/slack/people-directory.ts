import type { WebClient } from '@slack/web-api';
import type { Clock, PeopleDirectory, ProfileEmail, UserStanding } from '../domain/ports';

/** How long a user group's membership is trusted before asking Slack again. */
export const USERGROUP_CACHE_MS = 60_000;

/** Slack user groups through `usergroups.users.list`, cached briefly so a burst of clicks asks Slack once. */
export class SlackPeopleDirectory implements PeopleDirectory {
  private readonly cache = new Map<string, { members: readonly string[]; fetchedAt: number }>();
  private readonly standing = new Map<string, { standing: UserStanding | undefined; fetchedAt: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly clock: Clock,
  ) {}

  async usergroupMembers(usergroupId: string): Promise<readonly string[]> {
    const cached = this.cache.get(usergroupId);
    const now = this.clock.now();
    if (cached && now - cached.fetchedAt < USERGROUP_CACHE_MS) return cached.members;
    const result = await this.client.usergroups.users.list({ usergroup: usergroupId });
    const members = result.users ?? [];
    this.cache.set(usergroupId, { members, fetchedAt: now });
    return members;
  }

  async userStanding(userId: string): Promise<UserStanding | undefined> {
    const cached = this.standing.get(userId);
    const now = this.clock.now();
    if (cached && now - cached.fetchedAt < USERGROUP_CACHE_MS) return cached.standing;
    let standing: UserStanding | undefined;
    try {
      const { user } = await this.client.users.info({ user: userId });
      standing = user
        ? {
            deactivated: user.deleted === true,
            guest: user.is_restricted === true || user.is_ultra_restricted === true,
          }
        : undefined;
    } catch (error) {
      if ((error as { data?: { error?: string } }).data?.error !== 'user_not_found') throw error;
    }
    this.standing.set(userId, { standing, fetchedAt: now });
    return standing;
  }

  async userEmail(userId: string): Promise<ProfileEmail | undefined> {
    const { user } = await this.client.users.info({ user: userId });
    const address = user?.profile?.email;
    // Slack sets is_email_confirmed once the person has proved they own the address; absent is not proof.
    return address ? { address, confirmed: user?.is_email_confirmed === true } : undefined;
  }
}
