/** The paced phase: N Azure revocations due at once against a rate-limited ARM; floor: the same deletes at its rate. */
import { randomUUID } from 'node:crypto';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { parsePolicy } from '../../src/config/policy-schema';
import { assignmentName } from '../../src/providers/azure/assignment-name';
import { retryAfterOf, statusOf } from '../../src/providers/azure/azure-errors';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../src/providers/registry';
import {
  FAKE_CLIENT_ID,
  FAKE_CLIENT_SECRET,
  FAKE_TENANT_ID,
  FakeAzure,
  READER_ROLE,
} from '../../test/support/fake-azure-arm';
import { BENCH_ADMIN_CHANNEL, BENCH_CHANNEL, phaseSettings } from '../bench-bot';
import {
  type BotRun,
  emailOf,
  expiredAt,
  fileAutoApproved,
  freshPeople,
  metricSum,
  moveExpiryToOneInstant,
  type OpenRun,
  userId,
  waitForNotices,
  waitForState,
} from '../driver';
import { ratio, sleep, sleepUntil } from '../stats';

export interface CloudRateOption {
  perSecond: number;
  burst: number;
}

export interface PacedOptions {
  grants: number;
  /** The rate the fake ARM accepts writes at; past it, it answers 429. */
  cloudRate: CloudRateOption;
  /** What every ARM call takes while the revocations are measured. */
  latencyMs: number;
  /** The pace the bot is told (`settings.cloudRates.azure-arm.perSecond`); the cloud's rate unless asked otherwise. */
  botPerSecond: number;
}

export interface PacedResult {
  grants: number;
  cloudRate: CloudRateOption;
  botRate: CloudRateOption;
  /** False when the bot's policy did not accept `settings.cloudRates`, so the bot ran unpaced. */
  cloudRatesApplied: boolean;
  latencyMs: number;
  /** From the common expiry until the last revocation succeeded (its `expired` entry in the audit trail). */
  botMs: number;
  /** The same deletes from a plain loop paced at the cloud's rate, until the last succeeded. */
  floorMs: number;
  ratio: number | null;
  /** Revoke job attempts that failed (the bot's `jit_job_failures_total` for the revoke queue). */
  failedAttempts: number;
  /** Requests not `expired` at the end (a revocation that never succeeded); 0 unless something is wrong. */
  notRevoked: number;
  /** Alerts the bot posted to the admin channel meanwhile. */
  alerts: number;
  /** 429s the fake answered the bot, and the floor. */
  throttled: number;
  floorThrottled: number;
  /** None of the assignments left, every request `expired`, and expired once. */
  allRevoked: boolean;
}

const SUBSCRIPTION = '0b5e7c3a-1d2f-4e6a-9b8c-7d6e5f4a3b2c';
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/jitbench`;
const ROLE_DEFINITION = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`;
/** How many role assignments a subscription may hold ("Azure subscription and service limits"). */
const MAX_ROLE_ASSIGNMENTS = 4_000;
const REVOKE_FAILURES = 'jit_job_failures_total{queue="jit-revoke"}';

function azurePolicy(botRate: CloudRateOption | undefined): string {
  const rates =
    botRate === undefined
      ? ''
      : `
  cloudRates:
    azure-arm: { perSecond: ${botRate.perSecond}, burst: ${botRate.burst} }`;
  return `${phaseSettings(rates)}
roles:
  - id: bench-azure
    description: Reader on the bench resource group
    provider: azure
    target:
      kind: role-assignment
      scope: ${SCOPE}
      roleDefinitionId: ${READER_ROLE}
    approvalChannel: ${BENCH_CHANNEL}
    autoApprove: true
`;
}

/**
 * The policy with `settings.cloudRates` when the bot knows that setting, else without it (an older bot, which
 * then runs unpaced; the result says so).
 */
function pacedPolicy(botRate: CloudRateOption): { policy: string; cloudRatesApplied: boolean } {
  const paced = azurePolicy(botRate);
  try {
    parsePolicy(paced, 'bench policy', PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS);
    return { policy: paced, cloudRatesApplied: true };
  } catch (error) {
    if (!String(error instanceof Error ? error.message : error).includes('cloudRates')) throw error;
    return { policy: azurePolicy(undefined), cloudRatesApplied: false };
  }
}

/** The bot's real Azure provider (role assignments) against the fake ARM in this process, throttling at its rate. */
export async function pacedPhase(openRun: OpenRun, options: PacedOptions): Promise<PacedResult> {
  if (options.grants > MAX_ROLE_ASSIGNMENTS) {
    throw new Error(
      `bench: --paced-grants ${options.grants} is more than the ${MAX_ROLE_ASSIGNMENTS} role assignments ` +
        'one Azure subscription holds',
    );
  }
  const fake = await FakeAzure.start();
  const botRate = { perSecond: options.botPerSecond, burst: options.cloudRate.burst };
  const { policy, cloudRatesApplied } = pacedPolicy(botRate);
  let run: BotRun | undefined;
  try {
    run = await openRun({
      policy,
      azure: {
        url: fake.url,
        graphUrl: fake.graphUrl,
        ca: fake.ca,
        tenantId: FAKE_TENANT_ID,
        clientId: FAKE_CLIENT_ID,
        clientSecret: FAKE_CLIENT_SECRET,
      },
    });
    if (!cloudRatesApplied) run.say('  this bot has no settings.cloudRates: it runs unpaced');
    return { ...(await measure(run, fake, options)), botRate, cloudRatesApplied };
  } finally {
    await run?.close();
    await fake.close();
  }
}

async function measure(
  run: BotRun,
  fake: FakeAzure,
  options: PacedOptions,
): Promise<Omit<PacedResult, 'botRate' | 'cloudRatesApplied'>> {
  const { grants } = options;
  const first = freshPeople(grants);
  const people = Array.from({ length: grants }, (_, index) => userId(first + index));
  // Graph finds each person's object ID by the email their Slack profile gives.
  const principalOf = new Map<string, string>(people.map((person) => [person, randomUUID()]));
  for (const [person, id] of principalOf) fake.addUser({ id, mail: emailOf(person) });
  // The setup is not measured: the fake answers at once and does not throttle.
  fake.setLatency(0);
  fake.setWriteRate(undefined);
  run.say(`  granting ${grants} Azure role assignments`);
  const ids = await fileAutoApproved(run, people, () => 'bench-azure', '1h');
  await waitForState(run, ids, 'active', 600_000 + grants * 1_000);
  const principals = new Set(principalOf.values());
  const ours = () => fake.roleAssignments().filter((assignment) => principals.has(assignment.principalId));
  if (ours().length !== grants) throw new Error('bench: the fake holds fewer role assignments than grants');
  await waitForNotices(run);

  const expiresAt = await moveExpiryToOneInstant(run, ids);
  fake.setWriteRate(options.cloudRate);
  fake.setLatency(options.latencyMs);
  const throttledBefore = fake.throttledCount;
  const failuresBefore = await metricSum(run.bot, REVOKE_FAILURES);
  const alertsBefore = alertCount(run);
  await waitForState(run, ids, 'expired', 600_000 + grants * 1_000);
  const expired = await expiredAt(run, ids, expiresAt - 60_000);
  const botMs = Math.max(...[...expired.values()].flat()) - expiresAt;
  await waitForNotices(run);
  const throttled = fake.throttledCount - throttledBefore;
  const failedAttempts = (await metricSum(run.bot, REVOKE_FAILURES)) - failuresBefore;
  const alerts = alertCount(run) - alertsBefore;
  const notRevoked = ids.filter((id) => expired.get(id) === undefined).length;
  const allRevoked = ours().length === 0 && ids.every((id) => expired.get(id)?.length === 1);

  run.say(`  floor: the same ${grants} deletes from a plain loop at ${options.cloudRate.perSecond}/s`);
  const floor = await pacedFloor(fake, ids, principalOf, people, options.cloudRate);
  return {
    grants,
    cloudRate: options.cloudRate,
    latencyMs: options.latencyMs,
    botMs,
    floorMs: floor.ms,
    ratio: ratio(botMs, floor.ms),
    failedAttempts,
    notRevoked,
    alerts,
    throttled,
    floorThrottled: floor.throttled,
    allRevoked,
  };
}

function alertCount({ slack }: BotRun): number {
  return slack.calls('chat.postMessage').filter((call) => call.args.channel === BENCH_ADMIN_CHANNEL).length;
}

/**
 * The least time the cloud's rate allows: the same assignments put back, then at one instant the same deletes,
 * each sent at its turn under the cloud's own token bucket, through the same SDK client the provider uses. The
 * loop keeps one token in hand (a burst of one less, then one per 1/rate): calls sent together arrive a few ms
 * apart, and without that slack one arriving early would be refused, for a second at least. A throttled answer
 * waits as `Retry-After` says and is sent again.
 */
async function pacedFloor(
  fake: FakeAzure,
  ids: readonly string[],
  principalOf: ReadonlyMap<string, string>,
  people: readonly string[],
  rate: CloudRateOption,
): Promise<{ ms: number; throttled: number }> {
  ids.forEach((id, index) => {
    fake.seedRoleAssignment({
      name: assignmentName(id),
      scope: SCOPE,
      roleDefinitionId: ROLE_DEFINITION,
      principalId: principalOf.get(people[index] as string) as string,
    });
  });
  const client = new AuthorizationManagementClient(fake.credential(), SUBSCRIPTION, {
    endpoint: fake.url,
    credentialScopes: [`${fake.url}/.default`],
    retryOptions: { maxRetries: 0 },
    tlsOptions: { ca: fake.ca },
  });
  const throttledBefore = fake.throttledCount;
  // Far enough ahead that the cloud's bucket is full again after the bot's run.
  const dueAt = Math.ceil((Date.now() + 2_000 + (1000 * rate.burst) / rate.perSecond) / 1000) * 1000;
  // Just before it, signs in and opens a connection for each call of the burst (reads, which the write rate does
  // not count), as the bot's were open: a burst held up by TLS handshakes would arrive bunched with later calls.
  await sleepUntil(dueAt - 500);
  await Promise.all(
    Array.from({ length: rate.burst }, () => client.roleAssignments.get(SCOPE, assignmentName(ids[0] as string))),
  );
  let lastDone = dueAt;
  await Promise.all(
    ids.map(async (id, index) => {
      await sleepUntil(dueAt + (Math.max(0, index - rate.burst + 2) * 1000) / rate.perSecond);
      for (;;) {
        try {
          await client.roleAssignments.delete(SCOPE, assignmentName(id));
          break;
        } catch (error) {
          if (statusOf(error) !== 429) throw error;
          await sleep(retryAfterOf(error) ?? 1_000);
        }
      }
      lastDone = Math.max(lastDone, Date.now());
    }),
  );
  return { ms: lastDone - dueAt, throttled: fake.throttledCount - throttledBefore };
}
