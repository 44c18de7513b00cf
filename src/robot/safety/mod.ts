/**
 * The robot's safety: the rules movement must pass (safety.ts: speed limit, watchdog, e-stop
 * latch, battery block), who holds the e-stop and who may release it (estop_latch.ts), what needs
 * a person's approval (approval.ts, RVR_APPROVAL), the closed sets of reasons, the stop confirmation (stop_guard.ts), the
 * per-link set-up (setup.ts) and the notifications that stop the robot (notifications.ts).
 *
 * @module
 */
export {
  DEFAULT_SPEED_LIMIT_PERCENT,
  isSpeedLimitedCommand,
  LIMIT_RULES,
  type LimitedField,
  type LimitResult,
  MAX_YAW_RATE_DPS,
  SPEED_LIMITED_COMMANDS,
  type SpeedLimitedCommand,
  TOP_SPEED_MPS,
} from "./speed_limit.ts";
export { DEFAULT_COMMAND_TIMEOUT_S } from "./watchdog.ts";
export {
  AUTO_STOP_REASONS,
  type AutoStopReason,
  ESTOP_ACTOR_OF,
  ESTOP_ACTORS,
  ESTOP_SOURCES,
  type EstopActor,
  type EstopSource,
  SHUTDOWN_REASONS,
  type ShutdownReason,
} from "./reasons.ts";
export { Safety, type SafetyOptions, type SafetyStatus } from "./safety.ts";
export {
  APPROVAL_ACTIONS,
  APPROVAL_ALLOWED,
  APPROVAL_DECISIONS,
  APPROVAL_NONE,
  type ApprovalAction,
  type ApprovalDecision,
  ApprovalPolicy,
  DEFAULT_APPROVAL,
  DEFAULT_APPROVAL_POLICY,
  parseApprovalPolicy,
} from "./approval.ts";
export {
  type ClearEstopOptions,
  EstopLatch,
  type EstopStatus,
  PERSON_ESTOP_WAY_OUT,
} from "./estop_latch.ts";
export {
  MAX_STOP_DECELERATION_MPS2,
  MAX_STOP_TIME_S,
  MIN_STOP_DECELERATION_MPS2,
  STOP_CONFIRM_MS,
  StopGuard,
  type StopGuardOptions,
} from "./stop_guard.ts";
export {
  type BatteryReading,
  publishBattery,
  SAFETY_NOTIFY_COMMANDS,
  SafetySetup,
  type SafetySetupReport,
} from "./setup.ts";
export { SafetyNotifications } from "./notifications.ts";
