/**
 * The side port (RVR_HTTP_PORT): /metrics, /healthz, /readyz, the telemetry WebSocket, the
 * dashboard page and POST /estop (server.ts), the telemetry hub and its protocol
 * (telemetry_ws.ts), and the page itself (dashboard.ts: the files of dashboard/, embedded). Other
 * layers import it through this file.
 *
 * @module
 */
export * from "./server.ts";
export * from "./telemetry_ws.ts";
export * from "./dashboard.ts";
export { FLEET_PAGE, fleetSideHandler, type FleetSideOptions } from "./fleet_side.ts";
