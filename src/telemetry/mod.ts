/**
 * The telemetry layer, above the robot: the aggregator (robot bus events in windows), the state
 * model people watch (and its frames: a full one, then deltas), and the recorder (batches as JSON
 * lines). Other layers import it through this file; the browser imports the pure codec files
 * (json_delta.ts) directly.
 *
 * @module
 */
export {
  AGGREGATED_TOPICS,
  Aggregator,
  type AggregatorOptions,
  type AggregatorStats,
  type Batch,
  type BatchSubscribeOptions,
  type RobotEvent,
} from "./aggregator.ts";
export {
  emptyTelemetryState,
  headingFromYaw,
  MOTOR_THERMAL_STATUSES,
  type MotorThermalStatus,
  type TelemetryInit,
  TelemetryModel,
  type TelemetryState,
} from "./model.ts";
export { applyFrame, DeltaEncoder, StaleFrameError, type TelemetryFrame } from "./json_delta.ts";
export {
  batchLine,
  RECORDER_LOSS_REASONS,
  type RecorderLossReason,
  type RecorderOptions,
  type RecorderStats,
  TelemetryRecorder,
} from "./recorder.ts";
