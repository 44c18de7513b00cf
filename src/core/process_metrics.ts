/**
 * Process metrics under Prometheus' standard names (`process_*`, `nodejs_*`, with a prefix):
 * prom-client's default metrics, registered module by module, except the event-loop lag family,
 * which {@link EventLoopLag} measures with a plain timer.
 *
 * Why not prom-client's `collectDefaultMetrics` as a whole: its lag metrics sample through
 * `perf_hooks.monitorEventLoopDelay`, which in Deno costs the process 5-9 MB of resident memory
 * (measured with bench/fanout_bench.ts: 71.5 MB peak without the default metrics, 75-80 MB with
 * them), a tenth of the 80 MB budget (README "Memory").
 */
import { Gauge, type Registry } from "./metrics.ts";
import processCpuTotal from "prom-client/lib/metrics/processCpuTotal.js";
import processStartTime from "prom-client/lib/metrics/processStartTime.js";
import osMemoryHeap from "prom-client/lib/metrics/osMemoryHeap.js";
import processOpenFileDescriptors from "prom-client/lib/metrics/processOpenFileDescriptors.js";
import processMaxFileDescriptors from "prom-client/lib/metrics/processMaxFileDescriptors.js";
import processResources from "prom-client/lib/metrics/processResources.js";
import processHandles from "prom-client/lib/metrics/processHandles.js";
import processRequests from "prom-client/lib/metrics/processRequests.js";
import heapSizeAndUsed from "prom-client/lib/metrics/heapSizeAndUsed.js";
import heapSpacesSizeAndUsed from "prom-client/lib/metrics/heapSpacesSizeAndUsed.js";
import version from "prom-client/lib/metrics/version.js";
import gc from "prom-client/lib/metrics/gc.js";
import process from "node:process";

/** A prom-client default-metric module: registers its metrics on `registry`. */
type MetricModule = (registry: Registry, config: { prefix: string }) => void;

/** prom-client's default metrics but the event-loop lag, in its own order. */
const PROM_CLIENT_MODULES = [
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  // prom-client registers this one only where the runtime has getActiveResourcesInfo.
  ...(typeof process.getActiveResourcesInfo === "function" ? [processResources] : []),
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
  gc,
] as MetricModule[];

/** How often the lag monitor's timer fires (prom-client's default precision). */
export const LAG_RESOLUTION_MS = 10;

/** Sub-buckets per power of two in the lag histogram: percentiles within 1/16 (6.25 %). */
const SUB_BUCKETS = 16;
/** Powers of two of microseconds covered: up to 2^32 us (71 minutes); longer counts as that. */
const OCTAVES = 32;

/** Statistics of the lag samples since the last reset, in milliseconds. */
export interface LagStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * Event-loop lag: a timer every `resolutionMs` records how late it fired. min, max, mean and
 * standard deviation are exact; percentiles come from a log-linear histogram of microseconds
 * (within 6.25 %, clamped to min..max), so no sample is ever dropped and memory stays fixed.
 */
export class EventLoopLag {
  readonly #resolutionMs: number;
  readonly #unrefTimer: ((timer: ReturnType<typeof setInterval>) => void) | undefined;
  readonly #buckets = new Uint32Array(SUB_BUCKETS * (OCTAVES + 1));
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #count = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;
  #sumSquares = 0;

  /**
   * `unrefTimer` is given the sampling timer's id when it starts, so that the timer does not
   * hold the process open (the composition root passes `Deno.unrefTimer`); without it the timer
   * keeps the process alive until {@link stop}.
   */
  constructor(
    resolutionMs = LAG_RESOLUTION_MS,
    options: { unrefTimer?: (timer: ReturnType<typeof setInterval>) => void } = {},
  ) {
    if (!Number.isFinite(resolutionMs) || resolutionMs <= 0) {
      throw new RangeError(`EventLoopLag resolutionMs must be > 0 ms, got ${resolutionMs}.`);
    }
    if (options.unrefTimer !== undefined && typeof options.unrefTimer !== "function") {
      throw new TypeError(
        `unrefTimer must be a function (timer) => void such as Deno.unrefTimer, got ${typeof options
          .unrefTimer}.`,
      );
    }
    this.#resolutionMs = resolutionMs;
    this.#unrefTimer = options.unrefTimer;
  }

  /** Starts sampling (the timer unref'd when an `unrefTimer` was given). Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      this.record(Math.max(0, now - this.#last - this.#resolutionMs));
      this.#last = now;
    }, this.#resolutionMs);
    this.#unrefTimer?.(timer);
    this.#timer = timer;
  }

  /** Stops sampling. Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records one lag sample, in milliseconds. */
  record(lagMs: number): void {
    this.#count++;
    this.#min = Math.min(this.#min, lagMs);
    this.#max = Math.max(this.#max, lagMs);
    this.#sum += lagMs;
    this.#sumSquares += lagMs * lagMs;
    this.#buckets[bucketOf(lagMs * 1000)]++;
  }

  /** The statistics since the last reset; zeros when there was no sample. */
  stats(): LagStats {
    const n = this.#count;
    if (n === 0) return { count: 0, min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };
    const mean = this.#sum / n;
    const variance = Math.max(0, this.#sumSquares / n - mean * mean);
    const clamp = (v: number) => Math.min(this.#max, Math.max(this.#min, v));
    return {
      count: n,
      min: this.#min,
      max: this.#max,
      mean,
      stddev: Math.sqrt(variance),
      p50: clamp(this.#percentile(0.5)),
      p90: clamp(this.#percentile(0.9)),
      p99: clamp(this.#percentile(0.99)),
    };
  }

  /** Starts a new window (after each scrape, as prom-client resets its histogram). */
  reset(): void {
    this.#buckets.fill(0);
    this.#count = 0;
    this.#min = Infinity;
    this.#max = 0;
    this.#sum = 0;
    this.#sumSquares = 0;
  }

  /**
   * The value (ms) below which a fraction `p` of the samples lie: its bucket's whole microseconds
   * below 16 us, else the bucket's middle.
   */
  #percentile(p: number): number {
    const rank = Math.ceil(p * this.#count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i];
      if (seen >= rank) {
        const [low, high] = bucketRange(i);
        return (i < SUB_BUCKETS ? low : (low + high) / 2) / 1000;
      }
    }
    return this.#max;
  }
}

/** The histogram bucket of `us` microseconds: exact below SUB_BUCKETS, then log-linear. */
function bucketOf(us: number): number {
  const v = Math.floor(us);
  if (v < SUB_BUCKETS) return v;
  const octave = Math.min(OCTAVES, Math.floor(Math.log2(v)) - 3); // 16..31 -> octave 1
  if (octave >= OCTAVES) return SUB_BUCKETS * (OCTAVES + 1) - 1;
  const sub = Math.floor(v / 2 ** (octave - 1)) - SUB_BUCKETS;
  return SUB_BUCKETS * octave + Math.min(SUB_BUCKETS - 1, sub);
}

/** The microseconds [low, high) a bucket holds. */
function bucketRange(i: number): [number, number] {
  if (i < SUB_BUCKETS) return [i, i + 1];
  const octave = Math.floor(i / SUB_BUCKETS);
  const width = 2 ** (octave - 1);
  const low = (SUB_BUCKETS + (i % SUB_BUCKETS)) * width;
  return [low, low + width];
}

/**
 * Registers the process metrics on `registry` with `prefix` (e.g. `rvr_`): the names of
 * prom-client's `collectDefaultMetrics`, with the lag family measured by `lag`, started here.
 */
export function registerProcessMetrics(
  registry: Registry,
  prefix: string,
  lag: EventLoopLag,
): void {
  for (const register of PROM_CLIENT_MODULES) register(registry, { prefix });
  const registers = [registry];
  const gauge = (name: string, help: string) =>
    new Gauge({ name: `${prefix}nodejs_eventloop_lag_${name}_seconds`, help, registers });
  const what =
    `event-loop lag beyond the ${LAG_RESOLUTION_MS} ms sampling timer since the last scrape`;
  // The first gauge's collect sets the others, which a scrape reads after it (prom-client's way).
  new Gauge({
    name: `${prefix}nodejs_eventloop_lag_seconds`,
    help: "Lag of event loop in seconds: how late a zero-delay timer ran, measured at the scrape.",
    registers,
    collect() {
      const started = performance.now();
      setTimeout(() => this.set((performance.now() - started) / 1000), 0);
      const s = lag.stats();
      lag.reset();
      min.set(s.min / 1000);
      max.set(s.max / 1000);
      mean.set(s.mean / 1000);
      stddev.set(s.stddev / 1000);
      p50.set(s.p50 / 1000);
      p90.set(s.p90 / 1000);
      p99.set(s.p99 / 1000);
    },
  });
  const min = gauge("min", `The minimum ${what}.`);
  const max = gauge("max", `The maximum ${what}.`);
  const mean = gauge("mean", `The mean ${what}.`);
  const stddev = gauge("stddev", `The standard deviation of the ${what}.`);
  const p50 = gauge("p50", `The 50th percentile of the ${what}.`);
  const p90 = gauge("p90", `The 90th percentile of the ${what}.`);
  const p99 = gauge("p99", `The 99th percentile of the ${what}.`);
  lag.start();
}
