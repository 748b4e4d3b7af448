import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_VARIABLES, parseEnv } from '../../../src/config/env-schema';
import { loadPolicyFile } from '../../../src/config/load-config';
import { opsRoutes } from '../../../src/http/ops-routes';
import { createLogger } from '../../../src/lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';
import { markdownSection } from '../../support/markdown-section';

const ROOT = join(__dirname, '../../..');
const BASE_PATH = 'deploy/kubernetes';
const BASE = join(ROOT, BASE_PATH);

/** The official Node images create their `node` user (which the Dockerfile's runtime stage runs as) with uid 1000. */
const NODE_IMAGE_UID = 1000;

interface Metadata {
  name: string;
  labels?: Record<string, string>;
}

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
}

interface ConfigMap extends Resource {
  data: Record<string, string>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

interface Probe {
  httpGet?: { path: string; port: number | string };
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  securityContext?: SecurityContext;
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}

interface Deployment extends Resource {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

interface Service extends Resource {
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: number | string }[] };
}

interface Kustomization {
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[] }[];
}

/** The kustomization fields {@link renderBase} applies; any other would make its rendering differ from kustomize's. */
const RENDERED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator']);

/**
 * The base as `kubectl apply -k` would send it, as far as this base needs: every file in `resources` (all its
 * YAML documents) plus one ConfigMap per `configMapGenerator` entry. Kustomize also suffixes a generated
 * ConfigMap's name with a hash of its data and rewrites the references to it; the names here stay unsuffixed,
 * which keeps references comparable. A kustomization field beyond these fails the test, not the rendering silently.
 */
function renderBase(): Resource[] {
  const kustomization = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unrendered = Object.keys(kustomization).filter((field) => !RENDERED_FIELDS.has(field));
  if (unrendered.length > 0) {
    throw new Error(`kustomization.yaml uses ${unrendered.join(', ')}, which this test's renderBase does not apply`);
  }
  const resources: Resource[] = [];
  for (const file of kustomization.resources ?? []) {
    for (const document of parseAllDocuments(readFileSync(join(BASE, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map(String).join('; ')}`);
      const resource = document.toJS() as Resource | null;
      if (resource !== null) resources.push(resource);
    }
  }
  for (const generator of kustomization.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const entry of generator.files ?? []) {
      // `key=path` names the key; a bare path uses the file's name.
      const [key, path] = entry.includes('=') ? (entry.split('=', 2) as [string, string]) : [entry, entry];
      data[key.split('/').pop() ?? key] = readFileSync(join(BASE, path), 'utf8');
    }
    const configMap: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data };
    resources.push(configMap);
  }
  return resources;
}

const rendered = renderBase();
const deployments = rendered.filter((resource): resource is Deployment => resource.kind === 'Deployment');
const services = rendered.filter((resource): resource is Service => resource.kind === 'Service');
const configMaps = rendered.filter((resource): resource is ConfigMap => resource.kind === 'ConfigMap');
const containers = deployments.flatMap((deployment) =>
  deployment.spec.template.spec.containers.map((container) => ({ deployment, container })),
);

function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

/** Stand-ins for what the Secret supplies, so the schema can judge the plain values beside them. */
const SECRET_STAND_INS = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: '0123456789abcdef0123' };

/** The port the bot in this container listens on: its PORT, or the schema's default. */
function listenPort(container: Container): number {
  return parseEnv({ ...SECRET_STAND_INS, PORT: envValue(container, 'PORT') }).PORT;
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** The container port a probe or Service names, by number or by name. */
function containerPort(container: Container, port: number | string): number | undefined {
  const declared = container.ports?.find((entry) => entry.containerPort === port || entry.name === port);
  return declared?.containerPort;
}

/** The paths the bot answers GET on besides /slack/events, read from the routes it registers. */
function servedGetPaths(): string[] {
  const routes = opsRoutes({
    metrics: { exposition: async () => ({ contentType: 'text/plain', body: '' }) },
    pingRedis: async () => undefined,
    workersRunning: () => true,
    logger: createLogger({ level: 'silent' }),
  });
  return routes
    .filter((route) => (Array.isArray(route.method) ? route.method : [route.method]).includes('GET'))
    .map((route) => route.path);
}

/** Secret name → the keys README's `kubectl create secret generic` commands give it (`--from-literal=KEY=…`). */
function secretsDocumented(section: string): Map<string, Set<string>> {
  const documented = new Map<string, Set<string>>();
  // One command per line once backslash continuations are joined.
  for (const command of section.replace(/\\\n/g, ' ').split('\n')) {
    const words = command.trim().split(/\s+/);
    const at = words.findIndex(
      (word, index) => word === 'kubectl' && words[index + 1] === 'create' && words[index + 2] === 'secret',
    );
    if (at === -1 || words[at + 3] !== 'generic') continue;
    const name = words.slice(at + 4).find((word) => !word.startsWith('-'));
    if (name === undefined) continue;
    const keys = documented.get(name) ?? new Set<string>();
    for (const word of words) {
      const literal = /^--from-literal=([A-Za-z0-9_.-]+)=/.exec(word);
      if (literal?.[1] !== undefined) keys.add(literal[1]);
    }
    documented.set(name, keys);
  }
  return documented;
}

describe(`the Kubernetes base (${BASE_PATH})`, () => {
  it('renders Deployments, a Service and the policy ConfigMap, and commits no Secret', () => {
    const kinds = rendered.map((resource) => resource.kind);
    expect(kinds.filter((kind) => kind === 'Deployment')).toHaveLength(2);
    expect(services).toHaveLength(1);
    expect(configMaps).toHaveLength(1);
    expect(kinds).not.toContain('Secret');
    const ids = rendered.map((resource) => `${resource.kind}/${resource.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has one Deployment answering Slack on 2 replicas without workers, and one running the workers', () => {
    const slack = deployments.filter((deployment) =>
      deployment.spec.template.spec.containers.some((container) => envValue(container, 'JIT_RUN_WORKERS') === 'false'),
    );
    const workers = deployments.filter((deployment) =>
      deployment.spec.template.spec.containers.every((container) => envValue(container, 'JIT_RUN_WORKERS') === 'true'),
    );
    expect(slack).toHaveLength(1);
    expect(slack[0]?.spec.replicas).toBe(2);
    expect(workers).toHaveLength(1);
    expect(workers[0]?.spec.replicas).toBeGreaterThanOrEqual(1);
    for (const deployment of deployments) {
      // apps/v1 refuses a Deployment whose selector does not match its own pods.
      expect(labelsMatch(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    }
  });

  it('sets only variables the bot reads, with values its schema accepts', () => {
    expect(containers.length).toBeGreaterThan(0);
    for (const { container } of containers) {
      const env = container.env ?? [];
      for (const variable of env) expect(ENV_VARIABLES).toContain(variable.name);
      const plain = Object.fromEntries(
        env.flatMap((variable) => (variable.value === undefined ? [] : [[variable.name, variable.value]])),
      );
      const config = parseEnv({ ...SECRET_STAND_INS, ...plain });
      expect(container.ports?.map((port) => port.containerPort)).toContain(config.PORT);
    }
  });

  it('probes paths the bot serves, on the port it listens on: /healthz for liveness, /readyz for readiness', () => {
    const served = servedGetPaths();
    for (const { container } of containers) {
      const port = listenPort(container);
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        if (probe === undefined) continue;
        const httpGet = probe.httpGet;
        expect(httpGet).toBeDefined();
        if (httpGet === undefined) continue;
        expect(served).toContain(httpGet.path);
        expect(containerPort(container, httpGet.port)).toBe(port);
      }
    }
  });

  it('sends Service traffic to the Slack-facing pods only, on their port', () => {
    const [service] = services;
    expect(service).toBeDefined();
    if (service === undefined) return;
    for (const deployment of deployments) {
      const selected = labelsMatch(service.spec.selector, deployment.spec.template.metadata.labels);
      const answersSlack = deployment.spec.template.spec.containers.some(
        (container) => envValue(container, 'JIT_RUN_WORKERS') === 'false',
      );
      expect({ deployment: deployment.metadata.name, selected }).toEqual({
        deployment: deployment.metadata.name,
        selected: answersSlack,
      });
      if (!selected) continue;
      for (const container of deployment.spec.template.spec.containers) {
        for (const port of service.spec.ports)
          expect(containerPort(container, port.targetPort)).toBe(listenPort(container));
      }
    }
  });

  it("runs every container as the image's non-root user, read-only, without capabilities, with resources", () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtimeStage).toMatch(/^USER node$/m);
    for (const { deployment, container } of containers) {
      // A container's own securityContext wins over the pod's, field by field.
      const effective: SecurityContext = {
        ...deployment.spec.template.spec.securityContext,
        ...container.securityContext,
      };
      expect(effective.runAsNonRoot).toBe(true);
      expect(effective.runAsUser).toBe(NODE_IMAGE_UID);
      expect(effective.readOnlyRootFilesystem).toBe(true);
      expect(effective.allowPrivilegeEscalation).toBe(false);
      expect(effective.capabilities?.drop).toContain('ALL');
      for (const kind of ['requests', 'limits'] as const) {
        expect(container.resources?.[kind]?.cpu).toEqual(expect.any(String));
        expect(container.resources?.[kind]?.memory).toEqual(expect.any(String));
      }
    }
  });

  it('mounts the generated policy ConfigMap where JIT_POLICY_FILE points, and the policy loads', () => {
    for (const { deployment, container } of containers) {
      const policyFile = envValue(container, 'JIT_POLICY_FILE');
      expect(policyFile).toBeDefined();
      const mount = container.volumeMounts?.find((entry) => policyFile?.startsWith(`${entry.mountPath}/`));
      expect(mount?.readOnly).toBe(true);
      const volume = deployment.spec.template.spec.volumes?.find((entry) => entry.name === mount?.name);
      const configMap = configMaps.find((entry) => entry.metadata.name === volume?.configMap?.name);
      expect(configMap).toBeDefined();
      const key = policyFile?.slice((mount?.mountPath.length ?? 0) + 1) ?? '';
      expect(Object.keys(configMap?.data ?? {})).toContain(key);
    }
    // The generator reads policy.yml from the base; the bot must accept it as it stands.
    const policy = loadPolicyFile(join(BASE, 'policy.yml'), PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER);
    expect(policy.roles.length).toBeGreaterThan(0);
  });

  it("takes credentials from Secrets that README's Kubernetes section tells how to create, key by key", () => {
    const section = markdownSection(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'Deploy on Kubernetes');
    expect(section).toContain(`kubectl apply -k ${BASE_PATH}`);
    const documented = secretsDocumented(section);
    let references = 0;
    for (const { container } of containers) {
      for (const variable of container.env ?? []) {
        // No credential as a plain value in the repository.
        if (/TOKEN|SECRET|PASSWORD|REDIS_URL/.test(variable.name)) expect(variable.value).toBeUndefined();
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref === undefined) continue;
        references += 1;
        expect({ secret: ref.name, key: ref.key, documented: documented.get(ref.name)?.has(ref.key) ?? false }).toEqual(
          { secret: ref.name, key: ref.key, documented: true },
        );
      }
      for (const source of container.envFrom ?? []) {
        if (source.secretRef !== undefined) expect([...documented.keys()]).toContain(source.secretRef.name);
      }
    }
    expect(references).toBeGreaterThan(0);
  });
});
