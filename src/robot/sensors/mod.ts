/**
 * Sensor streams: the catalogue of sensors (catalogue.ts), slot allocation (slots.ts), the
 * configuration on the robot (setup.ts), the latest-reading cache (cache.ts), the bus and listener
 * fan-outs (fan_out.ts), rate metrics (rate_metrics.ts) and the SensorStreams facade
 * (streams.ts). Other files import sensors through this one.
 *
 * @module
 */
export { MAX_STREAM_PERIOD_MS, type SensorName, type SensorReading, SENSORS } from "./catalogue.ts";
export { allocateSlots, MAX_SLOT_DATA_BYTES, type SlotPlan } from "./slots.ts";
export type { SensorSnapshot } from "./cache.ts";
export { RATE_WINDOW_MS, SENSOR_DROP_REASONS, type SensorDropReason } from "./rate_metrics.ts";
export {
  SensorStreams,
  type SensorStreamsOptions,
  type StreamSlotStatus,
  type StreamStatus,
} from "./streams.ts";
