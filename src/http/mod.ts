/**
 * The side port (RVR_HTTP_PORT): /metrics, /healthz, /readyz, the telemetry WebSocket, the
 * dashboard page and POST /estop (server.ts), the telemetry hub and its protocol
 * (telemetry_ws.ts), the page itself (dashboard.ts: the files of dashboard/, embedded), and the
 * bounded request body every HTTP server reads through (body_limit.ts). Other
 * layers import it through this file.
 *
 * @module
 */
export * from "./server.ts";
export {
  BodyTooLargeError,
  checkBodyLimit,
  declaredLength,
  DEFAULT_MAX_BODY_BYTES,
  MAX_BODY_SETTING,
  readBody,
  type ReadBodyOptions,
} from "./body_limit.ts";
export * from "./telemetry_ws.ts";
export * from "./dashboard.ts";
export { FLEET_PAGE, fleetSideHandler, type FleetSideOptions } from "./fleet_side.ts";
export * from "./metrics.ts";
