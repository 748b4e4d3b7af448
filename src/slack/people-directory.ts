import type { WebClient } from '@slack/web-api';
import type { Clock, PeopleDirectory, ProfileEmail, UserStanding } from '../domain/ports';

/** How long a user group's membership is trusted before asking Slack again (unless Slack says it changed). */
export const USERGROUP_CACHE_MS = 60_000;

/** A user group's members as fetched from Slack. */
export interface CachedMembers {
  members: readonly string[];
  fetchedAt: number;
}

/**
 * Where fetched memberships are kept, shared by every replica, so that dropping a group (when Slack says its
 * members changed) takes effect in all of them at once. Each group has a generation that `forget` moves on;
 * members written under an older generation are never read back, so a fetch that was already under way when the
 * group changed cannot put the old members back.
 */
export interface UsergroupCache {
  /** The group's current generation, and its members if they were cached under that generation. */
  read(usergroupId: string): Promise<{ generation: number; cached?: CachedMembers }>;
  /** Keeps members fetched while the group was at `generation`. */
  write(usergroupId: string, generation: number, cached: CachedMembers): Promise<void>;
  /** Drops the group's cached members and moves its generation on. */
  forget(usergroupId: string): Promise<void>;
}

/** Slack user groups through `usergroups.users.list`, cached briefly so a burst of clicks asks Slack once. */
export class SlackPeopleDirectory implements PeopleDirectory {
  private readonly standing = new Map<string, { standing: UserStanding | undefined; fetchedAt: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly clock: Clock,
    private readonly usergroups: UsergroupCache,
  ) {}

  async usergroupMembers(usergroupId: string): Promise<readonly string[]> {
    const { generation, cached } = await this.usergroups.read(usergroupId);
    const now = this.clock.now();
    if (cached && now - cached.fetchedAt < USERGROUP_CACHE_MS) return cached.members;
    const result = await this.client.usergroups.users.list({ usergroup: usergroupId });
    const members = result.users ?? [];
    await this.usergroups.write(usergroupId, generation, { members, fetchedAt: now });
    return members;
  }

  /** Slack said the group's members changed: the next decision asks Slack again, in every replica. */
  forgetUsergroup(usergroupId: string): Promise<void> {
    return this.usergroups.forget(usergroupId);
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
