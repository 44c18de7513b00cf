/**
 * Sensor metrics: rvr_sensor_samples_total{sensor} (valid readings), rvr_sensor_rate_hz{sensor}
 * ((n - 1) / span of the readings in the last {@link RATE_WINDOW_MS}, or 2.5 periods when that is
 * longer; 0 with fewer than two), rvr_sensor_data_age_seconds{sensor} (at scrape time),
 * rvr_sensor_drops_total{reason} (invalid, unknown_token, undecodable; the 1st, 10th, 100th, ...
 * drop of each reason is logged).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RobotMetrics as Metrics } from "../metrics.ts";
import type { SensorName, SensorReading } from "./catalogue.ts";

const log = getLogger(["rvr", "robot", "sensors"]);

/** Why a streamed notification or reading was not counted as a sample. */
export const SENSOR_DROP_REASONS = ["invalid", "unknown_token", "undecodable"] as const;
export type SensorDropReason = typeof SENSOR_DROP_REASONS[number];

/** Window of rvr_sensor_rate_hz (at least; 2.5 periods when longer). */
export const RATE_WINDOW_MS = 5000;
/** Arrival times kept per sensor for the rate. */
const MAX_RATE_TIMES = 4096;

/** Logs the 1st, 10th, 100th, ... occurrence of a drop reason. */
function isPowerOfTen(n: number): boolean {
  let x = n;
  while (x >= 10 && x % 10 === 0) x /= 10;
  return x === 1;
}

export class SensorRateMetrics {
  readonly #metrics: Metrics;
  readonly #rateTimes = new Map<SensorName, number[]>();
  readonly #dropCounts: Record<SensorDropReason, number> = {
    invalid: 0,
    unknown_token: 0,
    undecodable: 0,
  };

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  /** A valid reading: one sample, one arrival time for the rate. */
  sample(sensor: SensorName, at: number): void {
    this.#metrics.sensorSamplesTotal.inc({ sensor });
    let times = this.#rateTimes.get(sensor);
    if (times === undefined) this.#rateTimes.set(sensor, times = []);
    times.push(at);
    if (times.length > MAX_RATE_TIMES) times.splice(0, times.length - MAX_RATE_TIMES);
  }

  drop(reason: SensorDropReason, detail: Record<string, unknown>): void {
    this.#metrics.sensorDropsTotal.inc({ reason });
    const n = ++this.#dropCounts[reason];
    if (isPowerOfTen(n)) {
      log.warn("Dropped sensor stream data ({reason}, occurrence {n})", { reason, n, ...detail });
    }
  }

  /**
   * Rate and age gauges at `now` (a scrape): the rate over the window for `intervalMs` (the
   * configured period, 0 when none), the age of each of `latest`.
   */
  collect(now: number, intervalMs: number, latest: Iterable<SensorReading>): void {
    const windowMs = Math.max(RATE_WINDOW_MS, 2.5 * intervalMs);
    for (const [sensor, times] of this.#rateTimes) {
      let first = 0;
      while (first < times.length && times[first] <= now - windowMs) first++;
      if (first > 0) times.splice(0, first);
      const n = times.length;
      const spanMs = n >= 2 ? times[n - 1] - times[0] : 0;
      this.#metrics.sensorRateHz.set({ sensor }, spanMs > 0 ? ((n - 1) * 1000) / spanMs : 0);
    }
    for (const r of latest) {
      this.#metrics.sensorDataAgeSeconds.set({ sensor: r.sensor }, Math.max(0, now - r.at) / 1000);
    }
  }
}
