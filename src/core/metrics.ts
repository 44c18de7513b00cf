/**
 * The metrics registry: one prom-client registry, the factories its instruments are declared
 * with, the collectors that bring them up to date before a scrape, and the Prometheus text.
 *
 * Core declares no instruments of its own. Each layer declares its own in its own folder
 * (`link/metrics.ts`, `robot/metrics.ts`, `http/metrics.ts`, ...) as a function of a registry,
 * and whoever composes the layers declares them on one registry with {@link withInstruments}:
 * the result is the registry itself carrying the instruments, so a component writes
 * `m.advance("bytes.in", m.linkBytesTotal, total)`. Names: `rvr_<area>_<thing>_<unit>`.
 *
 * Components do not import prom-client: they expose stats and hooks, and the composed runtime
 * feeds the instruments from them.
 *
 * @module
 */
import type * as Prom from "prom-client";
// The four classes from their own modules, not prom-client's index: the index also loads its
// Summary (with tdigest), Pushgateway (http, https, zlib) and cluster aggregator, none of which the
// program uses (0.7 MB less V8 heap at idle, measured on the bundle). These modules have no types
// of their own: they are the classes index.d.ts declares.
import CounterClass from "prom-client/lib/counter.js";
import GaugeClass from "prom-client/lib/gauge.js";
import HistogramClass from "prom-client/lib/histogram.js";
import RegistryClass from "prom-client/lib/registry.js";

export const Counter = CounterClass as typeof Prom.Counter;
export const Gauge = GaugeClass as typeof Prom.Gauge;
export const Histogram = HistogramClass as typeof Prom.Histogram;
export const Registry = RegistryClass as typeof Prom.Registry;
export type Counter<L extends string = string> = Prom.Counter<L>;
export type Gauge<L extends string = string> = Prom.Gauge<L>;
export type Histogram<L extends string = string> = Prom.Histogram<L>;
export type Registry = Prom.Registry;

/** The default histogram buckets, in seconds: 0.5 ms to 5 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];

/** A registry together with instruments declared on it, as one object. */
export type Instrumented<I extends object> = MetricsRegistry & Readonly<I>;

/** See the module documentation. */
export class MetricsRegistry {
  readonly registry: Registry = new Registry();
  readonly #collectors: (() => void)[] = [];
  readonly #seen = new Map<string, number>();

  /** Declares a counter on this registry (prom-client throws if the name is taken). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Declares a gauge on this registry. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Declares a histogram on this registry, with {@link LATENCY_BUCKETS} unless given others. */
  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram<L> {
    return new Histogram({
      name,
      help,
      labelNames,
      buckets: [...buckets],
      registers: [this.registry],
    });
  }

  /**
   * Registers `collect`, run before every scrape to bring gauges and counters up to date from a
   * component's stats snapshot. A collector that throws is reported in the scrape's error.
   */
  addCollector(collect: () => void): () => void {
    this.#collectors.push(collect);
    return () => {
      const i = this.#collectors.indexOf(collect);
      if (i >= 0) this.#collectors.splice(i, 1);
    };
  }

  /**
   * Advances `counter{labels}` to a cumulative `total` read from a stats snapshot (by the
   * difference since the last call under `key`). A total that went down (a new link, a new
   * component) starts counting again from it.
   */
  advance<L extends string>(
    key: string,
    counter: Counter<L>,
    total: number,
    labels?: Partial<Record<L, string | number>>,
  ): void {
    const last = this.#seen.get(key) ?? 0;
    const delta = total >= last ? total - last : total;
    this.#seen.set(key, total);
    if (delta > 0) {
      if (labels) counter.inc(labels, delta);
      else counter.inc(delta);
    }
  }

  /** Forgets the totals remembered under keys starting with `prefix` (a component that is gone). */
  forget(prefix: string): void {
    for (const key of [...this.#seen.keys()]) if (key.startsWith(prefix)) this.#seen.delete(key);
  }

  /** Everything as Prometheus text exposition format (collectors run first). */
  text(): Promise<string> {
    for (const collect of this.#collectors) collect();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Puts `instruments` (declared on `registry` by a layer's declaring function) on `registry` and
 * returns it, now carrying them. TypeError if a name is already there: each instrument has one
 * home, and composing a layer twice is a bug.
 */
export function withInstruments<I extends object>(
  registry: MetricsRegistry,
  instruments: I,
): Instrumented<I> {
  for (const key of Object.keys(instruments)) {
    if (key in registry) {
      throw new TypeError(
        `The metrics registry already has "${key}": declare each layer's instruments once, ` +
          `on one registry, where the layers are composed.`,
      );
    }
  }
  return Object.assign(registry, instruments);
}
