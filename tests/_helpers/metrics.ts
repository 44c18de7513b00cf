/**
 * The one metric reader of the tests: parses Prometheus text (a /metrics body, or a Metrics
 * registry's text) and reads a series by name and labels.
 */
import type { MetricsRegistry as Metrics } from "../../src/core/metrics.ts";

/** One sample line: `name{label="value",...} value`. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The parsed text: every sample, and each family's declared type (from `# TYPE` lines). */
export interface ParsedMetrics {
  readonly samples: readonly MetricSample[];
  readonly types: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;

function parseNumber(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new TypeError(`Bad sample value "${text}" in: ${line}`);
  return n;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new TypeError(`Bad labels "{${text}}" in: ${line}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

/** Parses the Prometheus text exposition format; a line it cannot read throws, naming it. */
export function parseMetrics(text: string): ParsedMetrics {
  const samples: MetricSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) types.set(type[1], type[2]);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new TypeError(`Not a Prometheus sample line: ${line}`);
    samples.push({
      name: m[1],
      labels: m[2] ? parseLabels(m[2], line) : {},
      value: parseNumber(m[3], line),
    });
  }
  return { samples, types };
}

/** The declared family of a sample name (`x_bucket`, `x_sum`, `x_count` belong to `x`). */
function familyOf(parsed: ParsedMetrics, name: string): string | undefined {
  if (parsed.types.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && parsed.types.has(m[1])) return m[1];
  return undefined;
}

/**
 * The samples named `name` whose labels include every one of `labels`. Throws when no family of
 * that name is declared (a typo, or a metric that was never registered).
 */
export function samplesOf(
  text: string | ParsedMetrics,
  name: string,
  labels: Record<string, string> = {},
): MetricSample[] {
  const parsed = typeof text === "string" ? parseMetrics(text) : text;
  if (familyOf(parsed, name) === undefined) {
    const known = [...parsed.types.keys()].sort().join(", ");
    throw new Error(`No metric ${name} is declared; known: ${known}.`);
  }
  return parsed.samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
}

/**
 * The value of `name` with `labels` in Prometheus text: the sum over every series carrying those
 * labels (a labelled counter's total when `labels` is empty), or undefined when no series
 * matches. Throws when `name` is not declared.
 */
export function sampleValue(
  text: string | ParsedMetrics,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samplesOf(text, name, labels);
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

/**
 * {@link sampleValue} read from a Metrics registry, with 0 for a declared metric that has no
 * matching series yet (a labelled counter never incremented).
 */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sampleValue(await metrics.text(), name, labels) ?? 0;
}
