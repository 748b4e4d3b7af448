import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parsePolicy } from '../../../src/config/policy-schema';
import type { Policy } from '../../../src/domain/policy';
import { dryrunTargetSchema } from '../../../src/providers/dryrun/dryrun-provider';
import { InMemoryAuditLog } from './audit-log';
import { ManualClock } from './clock';
import { InMemoryCloudProvider, InMemoryCloudProviders } from './cloud-provider';
import { SequentialIds } from './ids';
import { InMemoryJobScheduler } from './job-scheduler';
import { type DirectoryPerson, InMemoryPeopleDirectory } from './people-directory';
import { SettablePolicySource } from './policy-source';
import {
  InMemoryGrantCheckpoints,
  InMemoryHomeViewers,
  InMemoryIrrevocableGrants,
  RecordingAlerter,
  RecordingNotifier,
} from './recorders';
import { InMemoryRequestStore } from './request-store';

/** 2026-03-10 09:00:00 UTC, where a world's clock starts unless told otherwise (the unit fixtures' T0). */
export const WORLD_START = Date.UTC(2026, 2, 10, 9, 0, 0);

export interface InMemoryWorldOptions {
  /** The policy, as YAML in `policy.yml`'s format (parsed by the bot's own loader) or already parsed. */
  policy: string | Policy;
  /** Slack user groups and their members. */
  usergroups?: Readonly<Record<string, readonly string[]>>;
  /** People with an email, or deactivated, or guests; anyone else is an active full member without an email. */
  people?: Readonly<Record<string, DirectoryPerson>>;
  /** Where the clock starts; default {@link WORLD_START}. */
  now?: number;
  /** Request IDs to hand out first, in order. */
  ids?: readonly string[];
  /** The clouds; default one {@link InMemoryCloudProvider} per provider the policy names, plus `dryrun`. */
  providers?: readonly InMemoryCloudProvider[];
}

/** Every port of the domain, in memory, plus the handles a test drives them with. */
export interface InMemoryWorld {
  clock: ManualClock;
  ids: SequentialIds;
  policy: SettablePolicySource;
  store: InMemoryRequestStore;
  auditLog: InMemoryAuditLog;
  scheduler: InMemoryJobScheduler;
  directory: InMemoryPeopleDirectory;
  providers: InMemoryCloudProviders;
  alerter: RecordingAlerter;
  notifier: RecordingNotifier;
  checkpoints: InMemoryGrantCheckpoints;
  irrevocable: InMemoryIrrevocableGrants;
  homeViewers: InMemoryHomeViewers;
  /** The in-memory cloud of that provider name. */
  cloud(name?: string): InMemoryCloudProvider;
  /** Replaces the policy under the running services, as a reload would (YAML or parsed). */
  setPolicy(policy: string | Policy): void;
  /**
   * Every port under the names the domain services' deps use (`audit` and `auditLog` are the same log), so
   * `new RequestService(world.deps)`, `new GrantLifecycle(world.deps)` and the like need nothing else.
   */
  deps: {
    store: InMemoryRequestStore;
    scheduler: InMemoryJobScheduler;
    clock: ManualClock;
    ids: SequentialIds;
    policy: SettablePolicySource;
    directory: InMemoryPeopleDirectory;
    providers: InMemoryCloudProviders;
    audit: InMemoryAuditLog;
    auditLog: InMemoryAuditLog;
    alerter: RecordingAlerter;
    notifier: RecordingNotifier;
    irrevocable: InMemoryIrrevocableGrants;
    checkpoints: InMemoryGrantCheckpoints;
    homeViewers: InMemoryHomeViewers;
  };
}

/** Builds every port in memory around one manual clock: the starting point of a fast domain unit test. */
export function inMemoryWorld(options: InMemoryWorldOptions): InMemoryWorld {
  const clouds =
    options.providers ??
    [...new Set(['dryrun', ...providerNamesIn(options.policy)])].map((name) => new InMemoryCloudProvider({ name }));
  const providerNames = clouds.map((cloud) => cloud.name);
  const parse = (policy: string | Policy) =>
    typeof policy === 'string' ? parseWorldPolicy(policy, providerNames) : policy;

  const clock = new ManualClock(options.now ?? WORLD_START);
  const ids = new SequentialIds(options.ids);
  const policy = new SettablePolicySource(parse(options.policy));
  const auditLog = new InMemoryAuditLog(clock);
  const store = new InMemoryRequestStore(auditLog);
  const scheduler = new InMemoryJobScheduler(clock);
  const directory = new InMemoryPeopleDirectory({
    ...(options.usergroups !== undefined && { usergroups: options.usergroups }),
    ...(options.people !== undefined && { people: options.people }),
  });
  const providers = new InMemoryCloudProviders(clouds);
  const alerter = new RecordingAlerter();
  const notifier = new RecordingNotifier();
  const checkpoints = new InMemoryGrantCheckpoints();
  const irrevocable = new InMemoryIrrevocableGrants();
  const homeViewers = new InMemoryHomeViewers();
  const deps = {
    store,
    scheduler,
    clock,
    ids,
    policy,
    directory,
    providers,
    audit: auditLog,
    auditLog,
    alerter,
    notifier,
    irrevocable,
    checkpoints,
    homeViewers,
  };
  return {
    ...deps,
    deps,
    cloud(name = 'dryrun') {
      const cloud = clouds.find((each) => each.name === name);
      if (!cloud) throw new Error(`the world has no cloud named "${name}"; it has ${providerNames.join(', ')}`);
      return cloud;
    },
    setPolicy(next) {
      policy.set(parse(next));
    },
  };
}

/** The provider names a YAML policy's roles use (the loader then checks them properly). */
function providerNamesIn(policy: string | Policy): string[] {
  if (typeof policy !== 'string') return policy.roles.map((role) => role.provider);
  const roles = (parseYaml(policy) as { roles?: { provider?: unknown }[] } | null)?.roles ?? [];
  return roles.map((role) => role.provider).filter((name): name is string => typeof name === 'string');
}

/** The bot's own policy loader; `dryrun` targets checked by the dry run's schema, other in-memory clouds take any. */
function parseWorldPolicy(yaml: string, providerNames: readonly string[]): Policy {
  const anyTarget = z.record(z.string(), z.unknown());
  const schemas = Object.fromEntries(
    providerNames.map((name) => [name, name === 'dryrun' ? dryrunTargetSchema : anyTarget] as const),
  );
  return parsePolicy(yaml, 'in-memory world policy', schemas);
}
