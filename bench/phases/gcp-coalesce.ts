/** The gcp-coalesce phase: N GCP grants due at once, revoked by the real provider; floor: one write per project. */
import { ProjectsClient } from '@google-cloud/resource-manager';
import { parseResourceManagerEndpoint } from '../../src/config/resource-manager-endpoint';
import { jitConditionTitle, MAX_CONDITIONAL_BINDINGS_PER_POLICY } from '../../src/providers/gcp/iam-policy-edit';
import { overrideEnv } from '../../test/support/env-override';
import { type FakeCrmCall, FakeGcpCrm, type FakePolicy } from '../../test/support/fake-gcp-crm';
import { BENCH_CHANNEL, phaseSettings } from '../bench-bot';
import {
  type BotRun,
  expiredAt,
  fileAutoApproved,
  freshPeople,
  moveExpiryToOneInstant,
  type OpenRun,
  userId,
  waitForNotices,
  waitForState,
} from '../driver';
import { ratio, sleepUntil } from '../stats';

export interface GcpCoalesceOptions {
  grants: number;
  /** What every call to the fake Resource Manager takes while the revocations are measured (100 ms by default). */
  latencyMs: number;
}

export interface GcpCoalesceResult {
  grants: number;
  /** Projects the grants are spread over: Google allows at most 100 conditional bindings in one allow policy. */
  projects: number;
  latencyMs: number;
  /** From the common expiry until the fake held none of the grants' bindings. */
  botMs: number;
  /** The same, for a plain loop making one read-modify-write per project at that instant. */
  floorMs: number;
  ratio: number | null;
  /** `setIamPolicy` calls the bot made from the common expiry until every request was expired. */
  setIamPolicyCalls: number;
  /** Those of them refused with 409 (another write came in between: a lost etag race). */
  conflicts: number;
  getIamPolicyCalls: number;
  /** `setIamPolicy` calls of the floor: one per project. */
  floorSetIamPolicyCalls: number;
  /** None of the bindings left, every request `expired`, and expired once. */
  allRevoked: boolean;
}

/** The role every grant of this phase is of; conditional bindings of it need no basic role. */
const GCP_ROLE = 'roles/cloudsql.viewer';
const projectOf = (index: number) => `projects/jitbench-p${index}`;

/** One auto-approved role per project, each granted by the bot's real GCP provider. */
function gcpPolicy(projects: number): string {
  const roles = Array.from(
    { length: projects },
    (_, index) => `
  - id: bench-gcp-${index}
    description: Cloud SQL viewer on ${projectOf(index)}
    provider: gcp
    target:
      resource: ${projectOf(index)}
      role: ${GCP_ROLE}
    approvalChannel: ${BENCH_CHANNEL}
    autoApprove: true`,
  ).join('');
  return `${phaseSettings()}
roles:${roles}
`;
}

/**
 * The bot with the Google Cloud provider its registry builds from `GCP_RESOURCE_MANAGER_ENDPOINT` and Application
 * Default Credentials, against the fake Resource Manager in this process.
 */
export async function gcpCoalescePhase(openRun: OpenRun, options: GcpCoalesceOptions): Promise<GcpCoalesceResult> {
  const fake = await FakeGcpCrm.start();
  // Application Default Credentials read these when the first call is made, in the bot and in the floor's client.
  const restoreEnv = overrideEnv({
    GOOGLE_APPLICATION_CREDENTIALS: fake.credentialsFile,
    GOOGLE_CLOUD_PROJECT: 'jitbench-home',
  });
  const projects = Math.ceil(options.grants / MAX_CONDITIONAL_BINDINGS_PER_POLICY);
  let run: BotRun | undefined;
  try {
    run = await openRun({ policy: gcpPolicy(projects), env: { GCP_RESOURCE_MANAGER_ENDPOINT: fake.endpoint } });
    return await measure(run, fake, projects, options);
  } finally {
    await run?.close();
    await fake.close();
    restoreEnv();
  }
}

async function measure(
  run: BotRun,
  fake: FakeGcpCrm,
  projects: number,
  options: GcpCoalesceOptions,
): Promise<GcpCoalesceResult> {
  const { grants } = options;
  const first = freshPeople(grants);
  const people = Array.from({ length: grants }, (_, index) => userId(first + index));
  run.say(`  granting ${grants} over ${projects} project${projects > 1 ? 's' : ''}`);
  // The setup is not measured: the fake answers at once, and each project gets one grant at a time, so no grant
  // loses an etag race often enough to fail.
  fake.setLatency(0);
  const ids = await grantOneAtATimePerProject(run, people, projects);
  const resources = Array.from({ length: projects }, (_, index) => projectOf(index));
  const granted = new Map(resources.map((resource) => [resource, fake.policy(resource)]));
  const titles = new Set(ids.map(jitConditionTitle));
  if (countLeft(fake, resources, titles) !== grants)
    throw new Error('bench: the fake holds fewer bindings than grants');
  await waitForNotices(run);

  const expiresAt = await moveExpiryToOneInstant(run, ids);
  fake.setLatency(options.latencyMs);
  const callsBefore = fake.calls.length;
  const botGone = await untilNoneLeft(fake, resources, titles, grants);
  await waitForState(run, ids, 'expired', 600_000);
  const botCalls = fake.calls.slice(callsBefore);
  const expired = await expiredAt(run, ids, expiresAt - 60_000);
  const allRevoked = countLeft(fake, resources, titles) === 0 && ids.every((id) => expired.get(id)?.length === 1);

  run.say(`  floor: one read-modify-write per project`);
  const floor = await onePerProjectFloor(fake, granted, titles);
  const botMs = botGone - expiresAt;
  return {
    grants,
    projects,
    latencyMs: options.latencyMs,
    botMs,
    floorMs: floor.ms,
    ratio: ratio(botMs, floor.ms),
    setIamPolicyCalls: countOf(botCalls, 'setIamPolicy'),
    conflicts: countOf(botCalls, 'setIamPolicy', 409),
    getIamPolicyCalls: countOf(botCalls, 'getIamPolicy'),
    floorSetIamPolicyCalls: floor.setIamPolicyCalls,
    allRevoked,
  };
}

/** Files every grant through `/jit request`, one at a time in each project and the projects side by side. */
async function grantOneAtATimePerProject(run: BotRun, people: readonly string[], projects: number): Promise<string[]> {
  const ids: string[] = new Array(people.length);
  await Promise.all(
    Array.from({ length: projects }, async (_, project) => {
      for (let index = project; index < people.length; index += projects) {
        const [id] = await fileAutoApproved(run, [people[index] as string], () => `bench-gcp-${project}`, '1h', 1);
        ids[index] = id as string;
        await waitForState(run, [id as string], 'active', 60_000);
      }
    }),
  );
  return ids;
}

/** Bindings titled for one of the grants, over the resources. */
function countLeft(fake: FakeGcpCrm, resources: readonly string[], titles: ReadonlySet<string>): number {
  let left = 0;
  for (const resource of resources) {
    for (const binding of fake.policy(resource).bindings) {
      if (binding.condition?.title !== undefined && titles.has(binding.condition.title)) left += 1;
    }
  }
  return left;
}

/**
 * When the fake came to hold none of the bindings (epoch ms). It runs in this process, so it is read directly,
 * every few milliseconds; the same watch times the bot and the floor.
 */
async function untilNoneLeft(
  fake: FakeGcpCrm,
  resources: readonly string[],
  titles: ReadonlySet<string>,
  grants: number,
): Promise<number> {
  const deadline = Date.now() + Math.max(300_000, grants * 2_000);
  while (countLeft(fake, resources, titles) > 0) {
    if (Date.now() > deadline) throw new Error('bench: timed out waiting for the fake to hold none of the bindings');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now();
}

/**
 * The least the cloud allows: the same bindings put back, then, at one instant, one read-modify-write per project
 * (a read at policy version 3, the bindings removed, one write with the etag read) through the same client the
 * provider uses, all projects at once.
 */
async function onePerProjectFloor(
  fake: FakeGcpCrm,
  granted: ReadonlyMap<string, FakePolicy>,
  titles: ReadonlySet<string>,
): Promise<{ ms: number; setIamPolicyCalls: number }> {
  for (const [resource, policy] of granted) fake.seed(resource, policy.bindings);
  const endpoint = parseResourceManagerEndpoint(fake.endpoint);
  const client = new ProjectsClient({
    fallback: true,
    apiEndpoint: endpoint.host,
    port: endpoint.port,
    protocol: endpoint.protocol,
  });
  try {
    // Signs in before the instant, as the bot had long before it.
    await client.getIamPolicy({ resource: 'projects/jitbench-warmup', options: { requestedPolicyVersion: 3 } });
    const resources = [...granted.keys()];
    const callsBefore = fake.calls.length;
    const dueAt = Math.ceil((Date.now() + 1_000) / 1000) * 1000;
    await sleepUntil(dueAt);
    const watching = untilNoneLeft(fake, resources, titles, titles.size);
    await Promise.all(
      resources.map(async (resource) => {
        const [policy] = await client.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } });
        const bindings = (policy.bindings ?? []).filter(
          (binding) => !(binding.condition?.title && titles.has(binding.condition.title)),
        );
        await client.setIamPolicy({ resource, policy: { ...policy, bindings, version: 3 } });
      }),
    );
    const gone = await watching;
    return { ms: gone - dueAt, setIamPolicyCalls: countOf(fake.calls.slice(callsBefore), 'setIamPolicy') };
  } finally {
    await client.close();
  }
}

function countOf(calls: readonly FakeCrmCall[], method: FakeCrmCall['method'], status?: number): number {
  return calls.filter((call) => call.method === method && (status === undefined || call.status === status)).length;
}
