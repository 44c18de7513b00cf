/**
 * The fleet: robots joining a NATS broker as members (tool calls, telemetry, e-stop), and the
 * gateway that drives them all. The contract (subjects, payloads, the .proto) is README's
 * "Classroom" section.
 *
 * @module
 */
export {
  type Classroom,
  classroomIds,
  type ClassroomOptions,
  type ClassroomRobot,
  MAX_CLASSROOM,
  startClassroom,
} from "./classroom.ts";
export { type CallRequest, type CallResponse, parseCallRequest, runCall } from "./call.ts";
export { DrivenRobots, type DrivenStop, MOVES } from "./driven.ts";
export { FLEET_ERROR_CODES, FleetError, type FleetErrorCode } from "./errors.ts";
export { type FanInCounts, TelemetryFanIn } from "./fan_in.ts";
export {
  type CallOptions,
  Gateway,
  type GatewayOptions,
  type RobotResult,
  type RobotView,
} from "./gateway.ts";
export { Member, type MemberOptions, type MemberStats, memberStatus } from "./member.ts";
export { FleetMetrics } from "./metrics.ts";
export {
  FleetLink,
  type FleetLinkOptions,
  isAuthError,
  isNoResponders,
  isRequestTimeout,
} from "./nats.ts";
export { Registry, type RobotEntry } from "./registry.ts";
export {
  callRobots,
  fleetEmergencyStop,
  forwarded,
  GATEWAY_INFO,
  type GatewayTool,
  gatewayTools,
  listRobots,
} from "./tools.ts";
export { type StopAllResult } from "./stop_all.ts";
export {
  checkId,
  DEFAULT_FLEET,
  fleetSubjects,
  ID_PATTERN,
  ID_SHAPE,
  idFromHostname,
  parseServers,
  SERVICE_NAME,
} from "./subjects.ts";
