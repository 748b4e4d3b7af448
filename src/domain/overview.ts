import { type AccessRequest, OPEN_STATES } from './access-request';
import { isApprover, isEscalationApprover } from './approvals';
import { bundleRoleIds, bundleRoles } from './bundle';
import { findRole, type Role } from './policy';
import type {
  Clock,
  HomeViewers,
  OverviewItem,
  PeopleDirectory,
  PersonalOverview,
  PolicySource,
  RequestStore,
} from './ports';

export interface OverviewDeps {
  store: RequestStore;
  policy: PolicySource;
  directory: PeopleDirectory;
  clock: Clock;
  homeViewers: HomeViewers;
}

/** Most people whose App Home one event redraws besides the requester (a role's approvers can be a big group). */
export const MAX_APPROVER_HOMES_PER_EVENT = 50;

/** Builds App Home contents and says whose App Home an event changes. */
export class OverviewService {
  constructor(private readonly deps: OverviewDeps) {}

  /** Someone opened their App Home: what it shows, and from now on it is redrawn when their requests change. */
  async openedBy(userId: string): Promise<PersonalOverview> {
    await this.deps.homeViewers.opened(userId);
    return this.forPerson(userId);
  }

  async forPerson(userId: string): Promise<PersonalOverview> {
    const policy = this.deps.policy.current();
    const item = (request: AccessRequest): OverviewItem => ({ request, role: findRole(policy, request.roleId) });
    const own = await this.deps.store.listByRequester(userId, OPEN_STATES);
    const extensionOf = new Map(
      own
        .filter((request) => request.extends !== undefined && request.state !== 'active')
        .map((request) => [request.extends, request.id]),
    );
    const active = own
      .filter((request) => request.state === 'active')
      .sort((a, b) => (a.expiresAt ?? 0) - (b.expiresAt ?? 0))
      .map((request) => {
        const pendingExtension = extensionOf.get(request.id);
        return { ...item(request), ...(pendingExtension !== undefined && { pendingExtension }) };
      });
    const pending = own.filter((request) => request.state !== 'active').map(item);
    const awaitingDecision: OverviewItem[] = [];
    const now = this.deps.clock.now();
    // Most people approve nothing: only for approvers are the pending requests read at all.
    const approverOf = new Set<string>();
    // Roles escalating to this person: their requests show once escalated.
    const escalateeOf = new Set<string>();
    for (const role of policy.roles) {
      if (await isApprover(role, userId, this.deps.directory)) approverOf.add(role.id);
      else if (await isEscalationApprover(role, userId, this.deps.directory)) escalateeOf.add(role.id);
    }
    if (approverOf.size > 0 || escalateeOf.size > 0) {
      for (const request of await this.deps.store.listByState('pending')) {
        const decides =
          bundleRoleIds(request).some((roleId) => approverOf.has(roleId)) ||
          (escalateeOf.has(request.roleId) && request.escalatedAt !== undefined);
        if (!decides || request.requesterId === userId || request.approvalDeadline <= now) continue;
        if (request.approvals.some((approval) => approval.userId === userId)) continue;
        awaitingDecision.push({ request, role: findRole(policy, request.roleId) });
      }
    }
    awaitingDecision.sort((a, b) => a.request.createdAt - b.request.createdAt);
    return { userId, at: now, active, pending, awaitingDecision };
  }

  /**
   * Whose App Home shows this request, among those who have opened theirs: its requester; while it waits for a
   * decision, or just after one, its approvers too (named users and user group members, at most
   * {@link MAX_APPROVER_HOMES_PER_EVENT}).
   */
  async peopleShowing(request: AccessRequest, approversToo: boolean): Promise<string[]> {
    return this.deps.homeViewers.amongThem(await this.peopleConcerned(request, approversToo));
  }

  private async peopleConcerned(request: AccessRequest, approversToo: boolean): Promise<string[]> {
    const people = new Set([request.requesterId]);
    const role = findRole(this.deps.policy.current(), request.roleId);
    if (approversToo && role) {
      const candidates: string[] = [];
      // A bundle is before the approvers of each of its roles.
      for (const each of bundleRoles(this.deps.policy.current(), request)) {
        if (!each) continue;
        candidates.push(...each.approvers.users);
        for (const group of each.approvers.usergroups) {
          candidates.push(...(await this.deps.directory.usergroupMembers(group)));
        }
      }
      if (request.escalatedAt !== undefined) candidates.push(...(await this.escalationApprovers(request, role)));
      for (const userId of candidates) {
        if (people.size > MAX_APPROVER_HOMES_PER_EVENT) break;
        people.add(userId);
      }
    }
    return [...people];
  }

  /**
   * The people an escalated request is put before: the role's `escalateTo` users and user group members, without
   * its requester, at most {@link MAX_APPROVER_HOMES_PER_EVENT}.
   */
  async escalationApprovers(request: AccessRequest, role: Role): Promise<string[]> {
    if (role.escalation === undefined) return [];
    const people = new Set(role.escalation.to.users);
    for (const group of role.escalation.to.usergroups) {
      for (const userId of await this.deps.directory.usergroupMembers(group)) people.add(userId);
    }
    people.delete(request.requesterId);
    return [...people].slice(0, MAX_APPROVER_HOMES_PER_EVENT);
  }
}
