/**
 * MCP Apps (extension `io.modelcontextprotocol/ui`): pages a tool opens inside the client, served
 * as `ui://` resources of type {@link APP_MIME_TYPE}. {@link registerApps} is called by the server
 * factory (server.ts) for every instance, so an app listed in {@link APPS} is served to both
 * protocol eras on every transport: its page as a resource (`registerAppResource` of
 * `@modelcontextprotocol/ext-apps`), its tool like a catalog tool (_tool.ts) whose `_meta` names
 * the page (`ui.resourceUri`, and the older `ui/resourceUri` key for older hosts).
 *
 * Adding one: its `ui://rvr-mcp/...` uri, a title, the HTML (self-contained: the host's sandbox
 * gives it no network; it reaches the robot by calling the server's own tools through the host)
 * and the tool that opens it.
 *
 * **dashboard** (`show_dashboard`, `ui://rvr-mcp/dashboard`): the side port's dashboard inside
 * the chat (src/mcp/app): the live x/y path, battery, e-stop state, the sensors being streamed,
 * an EMERGENCY STOP button. The page polls `get_telemetry` and presses `emergency_stop` through
 * the host.
 *
 * @module
 */
import {
  registerAppResource,
  RESOURCE_MIME_TYPE,
  RESOURCE_URI_META_KEY,
} from "@modelcontextprotocol/ext-apps/server";
import type { McpServer } from "@modelcontextprotocol/server";
import { CATALOG, type Tool, tool } from "../tools/mod.ts";
import { appHtml } from "./app/page.ts";
import { registerTool, type ServerDeps, type ToolEnv } from "./_tool.ts";

/** The MIME type of an MCP App page. */
export const APP_MIME_TYPE: typeof RESOURCE_MIME_TYPE = RESOURCE_MIME_TYPE;

/** One app page and the tool that opens it. */
export interface AppDef {
  /** `ui://rvr-mcp/<name>` */
  readonly uri: `ui://${string}`;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  html(deps: ServerDeps): string;
  /** The tool that opens the page (registered like a catalog tool, with the page's uri). */
  readonly tool: Tool;
}

function catalogTool(name: string): Tool {
  const t = CATALOG.find((c) => c.name === name);
  if (t === undefined) throw new Error(`The tool catalog has no ${name}.`);
  return t;
}

const getTelemetry = catalogTool("get_telemetry");

/** show_dashboard: opens the dashboard page; its result is get_telemetry's (the state now). */
export const showDashboard: Tool = tool({
  name: "show_dashboard",
  title: "Show the dashboard",
  description:
    "Opens the robot's live dashboard in the chat (an MCP App, where the client shows them): " +
    "the x/y path on a map, heading, battery, e-stop state, safety, the sensors being " +
    "streamed, and an EMERGENCY STOP button for the person. The map moves with the locator " +
    "stream (start_sensor_streaming with locator and imu). Returns the telemetry state now, " +
    "as get_telemetry does; sends nothing to the robot.",
  input: {},
  output: getTelemetry.output,
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  handler: (robot, args, ctx) => getTelemetry.handler(robot, args, ctx),
});

/** Every app page the server serves. */
export const APPS: readonly AppDef[] = [{
  uri: "ui://rvr-mcp/dashboard",
  name: "dashboard",
  title: "RVR dashboard",
  description: "The robot's live dashboard (map, battery, e-stop, sensors, EMERGENCY STOP), " +
    "opened by show_dashboard.",
  html: () => appHtml(),
  tool: showDashboard,
}];

/** The names of the app tools, in the order they are listed (after the catalog's). */
export const APP_TOOL_NAMES: readonly string[] = APPS.map((a) => a.tool.name);

/** Registers {@link APPS} on `server`: each page as a resource, each tool run against `env`. */
export function registerApps(server: McpServer, deps: ServerDeps, env: ToolEnv): void {
  for (const app of APPS) {
    registerAppResource(server, app.name, app.uri, {
      title: app.title,
      description: app.description,
      mimeType: APP_MIME_TYPE,
    }, (uri) => ({
      contents: [{ uri: uri.href, mimeType: APP_MIME_TYPE, text: app.html(deps) }],
    }));
    registerTool(server, app.tool, env, {
      ui: { resourceUri: app.uri },
      [RESOURCE_URI_META_KEY]: app.uri,
    });
  }
}
