/**
 * The MCP layer: `createServer(deps)` builds an MCP server with every RVR tool, the resources
 * (rvr://status, rvr://sensors, rvr://events), logging and instructions; http.ts serves it over
 * Streamable HTTP. Other layers (main.ts) import it through this file.
 *
 * @module
 */
export {
  createServer,
  INSTRUCTIONS,
  RvrMcpServer,
  SERVER_NAME,
  type ServerDeps,
  type ServerOptions,
  TOOL_GROUPS,
  TOOL_NAMES,
} from "./server.ts";
export {
  DEFAULT_EVENT_CAPACITY,
  DEFAULT_UPDATE_WINDOW_MS,
  RESOURCE_URIS,
  type RobotEvent,
  RobotEventLog,
} from "./resources.ts";
export * from "./http.ts";
export { createToolServer, type ToolServerInfo } from "./tool_server.ts";
