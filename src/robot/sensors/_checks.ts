/** Argument checks of the sensor stream API: where input enters, with the value and the fix. */
import { MIN_STREAM_PERIOD_MS } from "../../protocol/mod.ts";
import { MAX_STREAM_PERIOD_MS, type SensorName, SENSORS } from "./catalogue.ts";

/** A streaming period in whole ms within what start_streaming_service carries. */
export function checkInterval(what: string, ms: unknown): number {
  if (
    typeof ms !== "number" || !Number.isInteger(ms) || ms < MIN_STREAM_PERIOD_MS ||
    ms > MAX_STREAM_PERIOD_MS
  ) {
    throw new RangeError(
      `${what} must be a whole number of ms from ${MIN_STREAM_PERIOD_MS} to ` +
        `${MAX_STREAM_PERIOD_MS}, got ${String(ms)}; e.g. 100 for 10 samples per second.`,
    );
  }
  return ms;
}

/** Known sensor names, deduplicated, in {@link SENSORS} order. */
export function checkSensors(what: string, sensors: unknown, allowEmpty: boolean): SensorName[] {
  if (!Array.isArray(sensors)) {
    throw new TypeError(
      `${what} must be an array of sensor names (${SENSORS.join(", ")}), got ${String(sensors)}.`,
    );
  }
  if (sensors.length === 0 && !allowEmpty) {
    throw new RangeError(
      `${what} is empty; name at least one of ${SENSORS.join(", ")} (or stop streaming).`,
    );
  }
  for (const s of sensors) {
    if (!(SENSORS as readonly unknown[]).includes(s)) {
      throw new RangeError(
        `Unknown sensor ${JSON.stringify(s)} in ${what}; use ${SENSORS.join(", ")}.`,
      );
    }
  }
  const set = new Set(sensors as SensorName[]);
  return SENSORS.filter((s) => set.has(s));
}
