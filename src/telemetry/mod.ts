/**
 * The telemetry layer, above the robot: the aggregator (robot bus events in windows), the state
 * model people watch (folded from those events, framed as a full frame then deltas), the frame
 * codec (json_delta.ts: frames, the client side, a generic encoder), the wire formats (wire/:
 * JSON now) and the recorder (batches as JSON lines, into a sink the caller opens). Other layers
 * import it through this file; the browser imports the pure files (json_delta.ts, wire/json.ts,
 * state.ts) directly, since this file pulls in logging.
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
  TELEMETRY_DECIMALS,
  type TelemetryInit,
  type TelemetryState,
} from "./state.ts";
export { type FromSnapshotOptions, TelemetryModel } from "./model.ts";
export { applyFrame, DeltaEncoder, StaleFrameError, type TelemetryFrame } from "./json_delta.ts";
export type { WireFormat } from "./wire/format.ts";
export { jsonWire } from "./wire/json.ts";
export {
  batchLine,
  openTelemetryFile,
  RECORDER_LOSS_REASONS,
  type RecorderLossReason,
  type RecorderOptions,
  type RecorderSink,
  type RecorderStats,
  type RecorderWriter,
  TelemetryRecorder,
} from "./recorder.ts";
export {
  type TelemetryInstruments,
  telemetryInstruments,
  type TelemetryMetrics,
  telemetryMetrics,
} from "./metrics.ts";
