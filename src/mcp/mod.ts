/**
 * The MCP layer: `createServer(deps)` builds an MCP server with every RVR tool, the resources
 * (rvr://status, rvr://sensors, rvr://events), prompts, app pages, logging and instructions, for
 * either protocol era; stdio.ts serves it on stdin/stdout and http.ts over Streamable HTTP, both
 * eras each (SDK v2). Other layers (main.ts) import it through this file.
 *
 * @module
 */
export {
  createServer,
  type Era,
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
  type ResourceUpdates,
  type ResourceWatch,
  type RobotEvent,
  RobotEventLog,
  watchResources,
} from "./resources.ts";
export * from "./http.ts";
export { createToolServer, type ToolServerInfo, type ToolServerOptions } from "./tool_server.ts";
export * from "./stdio.ts";
