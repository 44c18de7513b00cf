/**
 * The robot layer: the typed RVR API (rvr.ts: a facade over command_policy.ts, _pipeline.ts,
 * drive.ts, stops.ts), the safety rules (safety/), the event bus topics
 * (events.ts), the state store (state.ts), the connection (connection.ts, link_provider.ts),
 * sensor streams (sensors/), moves that take time (moves/) and the composed runtime
 * (runtime.ts). Other layers import it
 * through this file; telemetry (aggregator, state model, deltas, recorder) is its own layer above,
 * src/telemetry.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./events.ts";
export * from "./link_provider.ts";
export * from "./connection.ts";
export {
  APPROVAL_ACTIONS,
  APPROVAL_ALLOWED,
  APPROVAL_DECISIONS,
  APPROVAL_NONE,
  type ApprovalAction,
  type ApprovalDecision,
  ApprovalPolicy,
  AUTO_STOP_REASONS,
  type AutoStopReason,
  type ClearEstopOptions,
  DEFAULT_APPROVAL,
  DEFAULT_APPROVAL_POLICY,
  DEFAULT_COMMAND_TIMEOUT_S,
  DEFAULT_SPEED_LIMIT_PERCENT,
  ESTOP_ACTOR_OF,
  ESTOP_ACTORS,
  ESTOP_SOURCES,
  type EstopActor,
  type EstopSource,
  type EstopStatus,
  isSpeedLimitedCommand,
  LIMIT_RULES,
  type LimitedField,
  type LimitResult,
  MAX_STOP_DECELERATION_MPS2,
  MAX_STOP_TIME_S,
  MAX_YAW_RATE_DPS,
  MIN_STOP_DECELERATION_MPS2,
  parseApprovalPolicy,
  PERSON_ESTOP_WAY_OUT,
  Safety,
  type SafetyOptions,
  type SafetyStatus,
  SHUTDOWN_REASONS,
  type ShutdownReason,
  SPEED_LIMITED_COMMANDS,
  type SpeedLimitedCommand,
  STOP_CONFIRM_MS,
  TOP_SPEED_MPS,
} from "./safety/mod.ts";
export { BatteryCriticalError, ESTOP_ACTIVE_MESSAGE } from "./errors.ts";
export {
  commandKindOf,
  CONTINUOUS_DRIVE_COMMANDS,
  type ContinuousDriveCommand,
  isContinuousDriveCommand,
  isMovementCommand,
  MOVEMENT_COMMANDS,
  type MovementCommand,
  STOP_COMMANDS,
  type StopCommand,
} from "./command_policy.ts";
export * from "./rvr.ts";
export * from "./sensors/mod.ts";
export * from "./moves/mod.ts";
export * from "./runtime.ts";
export * from "./state.ts";
export {
  nextNotification,
  type NextNotificationOptions,
  type PendingNotification,
} from "./next_notification.ts";
export { type BatteryThresholds, batteryThresholds } from "./battery_thresholds.ts";
export * from "./metrics.ts";
