import type { PeopleDirectory, ProfileEmail, UserStanding } from '../../../src/domain/ports';

/** One person as Slack's directory knows them. */
export interface DirectoryPerson {
  email?: string;
  /** Slack's `is_email_confirmed`; default true when an email is given. */
  emailConfirmed?: boolean;
  deactivated?: boolean;
  /** A multi- or single-channel guest. */
  guest?: boolean;
}

/**
 * A `PeopleDirectory` from maps, with Slack's answers: a user group nobody configured has no members; a person not
 * listed is unknown to Slack (no standing, no email) unless `knowEveryone` makes them an active full member.
 */
export class InMemoryPeopleDirectory implements PeopleDirectory {
  private readonly usergroups: Map<string, readonly string[]>;
  private readonly people: Map<string, DirectoryPerson>;
  private readonly knowEveryone: boolean;
  /** People removed with `setPerson(id, null)`: unknown to Slack whatever `knowEveryone` says. */
  private readonly unknown = new Set<string>();

  constructor(
    options: {
      usergroups?: Readonly<Record<string, readonly string[]>>;
      people?: Readonly<Record<string, DirectoryPerson>>;
      /** Treat anyone not listed as an active full member without an email (default true). */
      knowEveryone?: boolean;
    } = {},
  ) {
    this.usergroups = new Map(Object.entries(options.usergroups ?? {}));
    this.people = new Map(Object.entries(options.people ?? {}));
    this.knowEveryone = options.knowEveryone ?? true;
  }

  async usergroupMembers(usergroupId: string): Promise<readonly string[]> {
    return [...(this.usergroups.get(usergroupId) ?? [])];
  }

  async userEmail(userId: string): Promise<ProfileEmail | undefined> {
    const email = this.people.get(userId)?.email;
    if (email === undefined) return undefined;
    return { address: email, confirmed: this.people.get(userId)?.emailConfirmed ?? true };
  }

  async userStanding(userId: string): Promise<UserStanding | undefined> {
    const person = this.people.get(userId);
    if (!person)
      return this.knowEveryone && !this.unknown.has(userId) ? { deactivated: false, guest: false } : undefined;
    return { deactivated: person.deactivated ?? false, guest: person.guest ?? false };
  }

  /** Replaces a user group's members (as an admin editing it in Slack). */
  setUsergroup(usergroupId: string, members: readonly string[]): void {
    this.usergroups.set(usergroupId, [...members]);
  }

  /** Adds or changes a person; `null` removes them (Slack then does not know them). */
  setPerson(userId: string, person: DirectoryPerson | null): void {
    if (person === null) {
      this.people.delete(userId);
      this.unknown.add(userId);
      return;
    }
    this.unknown.delete(userId);
    this.people.set(userId, { ...this.people.get(userId), ...person });
  }
}
