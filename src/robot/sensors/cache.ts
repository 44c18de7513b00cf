/** The latest reading of each sensor, and its age against the cache's time to live. */
import type { SensorName, SensorReading } from "./catalogue.ts";

export interface SensorSnapshot extends SensorReading {
  ageMs: number;
  /** ageMs > cacheTtlMs. */
  stale: boolean;
}

export class SensorCache {
  readonly #ttlMs: number;
  readonly #latest = new Map<SensorName, SensorReading>();

  /** `ttlMs`: a cached reading older than this is `stale` (RVR_SENSOR_CACHE_TTL in ms, >= 0). */
  constructor(ttlMs: number) {
    if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs < 0) {
      throw new RangeError(
        `cacheTtlMs must be a number of ms >= 0 (RVR_SENSOR_CACHE_TTL), got ${String(ttlMs)}; ` +
          `e.g. 1000.`,
      );
    }
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  set(reading: SensorReading): void {
    this.#latest.set(reading.sensor, reading);
  }

  /** Copies of the readings of `names` with their age at `now`, in that order; none yet: left out. */
  snapshots(names: readonly SensorName[], now: number): SensorSnapshot[] {
    const out: SensorSnapshot[] = [];
    for (const name of names) {
      const r = this.#latest.get(name);
      if (r === undefined) continue;
      const ageMs = Math.max(0, now - r.at);
      out.push({ ...r, values: { ...r.values }, ageMs, stale: ageMs > this.#ttlMs });
    }
    return out;
  }

  /** Every cached reading, in the order their sensors first arrived. */
  readings(): IterableIterator<SensorReading> {
    return this.#latest.values();
  }
}
