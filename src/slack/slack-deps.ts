import type { AuditService } from '../domain/audit-service';
import type { OverviewService } from '../domain/overview';
import type { Clock } from '../domain/ports';
import type { RequestService } from '../domain/request-service';
import type { Logger } from '../lib/logger';
import type { SlackPeopleDirectory } from './people-directory';

/** What the listeners use: the use cases, the clock and a logger; never a cloud or the store directly. */
export interface SlackDeps {
  requests: RequestService;
  /** What each person's App Home shows. */
  overview: OverviewService;
  /** The audit export, for admins. */
  audit: AuditService;
  /** Drops a user group's cached members when Slack says they changed. */
  usergroups: Pick<SlackPeopleDirectory, 'forgetUsergroup'>;
  clock: Clock;
  logger: Logger;
}
