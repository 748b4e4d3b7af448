import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { markdownSection } from '../../support/markdown-section';

const ROOT = join(__dirname, '../../..');

interface Stage {
  image: string;
  name: string | undefined;
  body: string;
}

/** The Dockerfile's stages: each `FROM image [AS name]` and the instructions up to the next one. */
function stages(dockerfile: string): Stage[] {
  const parts = dockerfile.split(/^(?=FROM\s)/m).filter((part) => part.startsWith('FROM'));
  return parts.map((body) => {
    const [, image = '', name] = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(body) ?? [];
    return { image, name, body };
  });
}

/** The `RUN` instructions of a stage, continuation lines joined. */
function runs(stage: Stage): string[] {
  return stage.body
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.startsWith('RUN '));
}

interface Compose {
  services: Record<string, { ports?: (string | { host_ip?: string; published?: string | number })[] }>;
}

describe('the Dockerfile', () => {
  const all = stages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = all.find((stage) => stage.name === 'runtime');
  const nodeMajor = Number(/^node:(\d+)-/.exec(runtime?.image ?? '')?.[1]);

  it('builds and runs on Node 22 LTS, which the engines range allows', () => {
    expect(all.map((stage) => stage.name)).toEqual(['build', 'runtime']);
    for (const stage of all) expect(stage.image).toBe('node:22-bookworm-slim');
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    const minimumMajor = Number(/^>=\s*(\d+)/.exec(engines)?.[1]);
    // The image may run a newer Node than the minimum the code supports, never an older one.
    expect(minimumMajor).toBeLessThanOrEqual(nodeMajor);
  });

  it('installs without lifecycle scripts, which would compile before the sources are there or without tsc', () => {
    for (const stage of all) {
      const installs = runs(stage).filter((line) => /\bnpm ci\b/.test(line));
      expect(installs).toHaveLength(1);
      for (const line of installs) expect(line).toContain('--ignore-scripts');
    }
    expect(runtime).toBeDefined();
    if (runtime === undefined) return;
    for (const line of runs(runtime).filter((run) => /\bnpm ci\b/.test(run))) expect(line).toContain('--omit=dev');
  });

  it('runs the bot with the same V8 heap flags as `npm start`', () => {
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(runtime?.body ?? '')?.[1];
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } })
      .scripts.start;
    expect(JSON.parse(cmd ?? '[]')).toEqual(start.split(' '));
    expect(start).toMatch(/--max-old-space-size=\d+/);
  });

  it('is the Node version README recommends', () => {
    expect(markdownSection(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'Prerequisites')).toContain(
      `**Node.js ${nodeMajor} LTS**, recommended`,
    );
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;

  it("publishes Redis's 6379 for a bot on the host, on 127.0.0.1 only", () => {
    const ports = compose.services.redis?.ports ?? [];
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) {
      // Short syntax `[host_ip:]published:target`; the long one names host_ip itself.
      if (typeof port === 'string') expect(port).toBe('127.0.0.1:6379:6379');
      else expect(port).toMatchObject({ host_ip: '127.0.0.1' });
    }
  });
});
