import { eventuallyValue } from './eventually';

/** One sample line of the Prometheus text exposition format. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed `/metrics` answer with lookups by name and labels. */
export interface Exposition {
  samples: MetricSample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  /** The value of the one sample with this name whose labels include `labels`; undefined if none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample with this name whose labels include `labels`. */
  all(name: string, labels?: Record<string, string>): MetricSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format (version 0.0.4) strictly enough to fail on a malformed line. */
export function parseExposition(text: string): Exposition {
  const samples: MetricSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type?.[1] && type[2]) types.set(type[1], type[2]);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match?.[1] || match[3] === undefined) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      if (label[1] !== undefined) labels[label[1]] = (label[2] ?? '').replace(/\\(.)/g, (_m, c: string) => c);
    }
    // Prometheus parses values with Go's ParseFloat, so `NaN`, `Nan` (prom-client's spelling) and `+Inf` all pass.
    const raw = match[3].toLowerCase();
    const infinite = raw === '+inf' ? Number.POSITIVE_INFINITY : raw === '-inf' ? Number.NEGATIVE_INFINITY : undefined;
    const value = raw === 'nan' ? Number.NaN : (infinite ?? Number(raw));
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad sample value: ${line}`);
    samples.push({ name: match[1], labels, value });
  }
  const all = (name: string, labels: Record<string, string> = {}) =>
    samples.filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  return {
    samples,
    types,
    all,
    value(name, labels) {
      const found = all(name, labels);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
  };
}

/** GETs `/metrics` from a running bot, checks the content type, and parses it. */
export async function scrapeMetrics(baseUrl: string): Promise<Exposition> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered HTTP ${response.status}: ${text}`);
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/plain; version=0.0.4')) throw new Error(`/metrics content type: ${contentType}`);
  return parseExposition(text);
}

/**
 * Scrapes until `ready` holds for the exposition (gauges read at scrape time trail the jobs that change them by a
 * moment), then returns it; fails with the last exposition's relevant lines after `timeoutMs`.
 */
export async function waitForMetrics(
  baseUrl: string,
  ready: (metrics: Exposition) => boolean,
  timeoutMs = 10_000,
): Promise<Exposition> {
  let last: Exposition | undefined;
  return eventuallyValue(
    async () => {
      last = await scrapeMetrics(baseUrl);
      return ready(last) ? last : undefined;
    },
    'the metrics reach the expected values',
    {
      timeoutMs,
      intervalMs: 25,
      detail: () =>
        JSON.stringify(
          last?.samples.filter((sample) => sample.name.startsWith('jit_') && !sample.name.endsWith('_bucket')),
        ),
    },
  );
}
