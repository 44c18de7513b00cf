/**
 * The robot layer: the typed RVR API (rvr.ts), the safety rules (safety.ts), the event bus topics
 * (events.ts), the connection (connection.ts, link_provider.ts), sensor streams (sensors.ts),
 * moves that take time (moves.ts), the composed runtime (runtime.ts), and telemetry: the
 * aggregator, the delta-encoded state and the recorder. Other layers import it
 * through this file.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./events.ts";
export * from "./link_provider.ts";
export * from "./connection.ts";
export * from "./safety.ts";
export * from "./rvr.ts";
export {
  MAX_STOP_DECELERATION_MPS2,
  MAX_STOP_TIME_S,
  MIN_STOP_DECELERATION_MPS2,
  STOP_CONFIRM_MS,
} from "./stop_guard.ts";
export * from "./sensors.ts";
export * from "./moves.ts";
export * from "./runtime.ts";
export {
  nextNotification,
  type NextNotificationOptions,
  type PendingNotification,
} from "./next_notification.ts";
export { type BatteryThresholds, batteryThresholds } from "./battery_thresholds.ts";
export * from "./aggregator.ts";
export * from "./telemetry.ts";
export * from "./recorder.ts";
