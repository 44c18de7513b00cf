/**
 * MCP Apps (extension `io.modelcontextprotocol/ui`): pages a tool opens inside the client, served
 * as `ui://` resources of type {@link APP_MIME_TYPE}. {@link registerApps} is called by the server
 * factory (server.ts) for every instance, so an app listed in {@link APPS} is served to both
 * protocol eras on every transport: its page as a resource (`registerAppResource` of
 * `@modelcontextprotocol/ext-apps`), its tool like a catalog tool (_tool.ts) whose `_meta` names
 * the page (`ui.resourceUri`, and the older `ui/resourceUri` key for older hosts).
 *
 * Adding one: its `ui://rvr-mcp/...` uri, a title, the HTML (self-contained: the host's sandbox
 * gives it no network; it reaches the robot by calling the server's own tools through the host),
 * the tool that opens it and the tools only its page calls (`_meta.ui.visibility: ["app"]`: the
 * host lists them to the page, never to the model).
 *
 * **dashboard** (`show_dashboard`, `ui://rvr-mcp/dashboard`): the side port's dashboard inside
 * the chat (src/mcp/app): the live x/y path, battery, e-stop state, the sensors being streamed,
 * an EMERGENCY STOP button. The page polls `get_telemetry` and presses `app_emergency_stop`
 * through the host: a person's stop (source "app"), which the model clears only with that
 * person's accept (clear_emergency_stop). The model's own e-stop is `emergency_stop`, which takes
 * no source: nothing the model can call says it is a person.
 *
 * @module
 */
import type { McpUiToolMeta } from "@modelcontextprotocol/ext-apps";
import {
  registerAppResource,
  RESOURCE_MIME_TYPE,
  RESOURCE_URI_META_KEY,
} from "@modelcontextprotocol/ext-apps/server";
import type { McpServer } from "@modelcontextprotocol/server";
import { CATALOG, type Tool, tool } from "../tools/mod.ts";
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
  /**
   * The page's HTML. Loaded when a host reads the page, not at start: the dashboard's page code
   * is 0.7 MB of text that most sessions never ask for.
   */
  html(deps: ServerDeps): Promise<string>;
  /** The tool that opens the page (registered like a catalog tool, with the page's uri). */
  readonly tool: Tool;
  /**
   * Tools only the page calls: listed with `_meta.ui.visibility: ["app"]`, which a host honours
   * by offering them to the page and hiding them from the model.
   */
  readonly appTools: readonly Tool[];
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

const emergencyStop = catalogTool("emergency_stop");

/** What the EMERGENCY STOP button of the dashboard app latches as (get_safety_status: estop.reason). */
export const APP_ESTOP_REASON = "EMERGENCY STOP button in the MCP App";

/**
 * app_emergency_stop: the dashboard app's EMERGENCY STOP button (app-only). A person's stop, like
 * the side port's button: `emergency_stop` with source "app", so clear_emergency_stop asks the
 * person before the model may release it.
 */
export const appEmergencyStop: Tool = tool({
  name: "app_emergency_stop",
  title: "EMERGENCY STOP button (MCP App)",
  description: "For the dashboard app's EMERGENCY STOP button only (hidden from the model by the " +
    "host; a model stops the robot with emergency_stop). A person pressed it: stops the robot at " +
    "once and latches as that person's emergency stop (get_safety_status: estop.latched_by " +
    '"person", source "app"), exactly as emergency_stop does otherwise; clear_emergency_stop then ' +
    "asks the person before releasing it.",
  input: {},
  output: emergencyStop.output,
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.emergencyStop("app", {
      reason: APP_ESTOP_REASON,
      correlationId: ctx.correlationId,
    });
    return {
      sent: r.sent,
      error: r.error ?? null,
      cancelled_queued: r.cancelledQueued,
      newly_latched: r.newlyLatched,
      latched_at: new Date(r.latchedAt).toISOString(),
    };
  },
});

/** Every app page the server serves. */
export const APPS: readonly AppDef[] = [{
  uri: "ui://rvr-mcp/dashboard",
  name: "dashboard",
  title: "RVR dashboard",
  description: "The robot's live dashboard (map, battery, e-stop, sensors, EMERGENCY STOP), " +
    "opened by show_dashboard.",
  html: async () => (await import("./app/page.ts")).appHtml(),
  tool: showDashboard,
  appTools: [appEmergencyStop],
}];

/**
 * The names of the app tools (each app's opening tool, then its app-only ones), in the order they
 * are listed (after the catalog's).
 */
export const APP_TOOL_NAMES: readonly string[] = APPS.flatMap((a) => [
  a.tool.name,
  ...a.appTools.map((t) => t.name),
]);

/** The names of the tools only an app's page calls (`_meta.ui.visibility: ["app"]`). */
export const APP_ONLY_TOOL_NAMES: readonly string[] = APPS.flatMap((a) =>
  a.appTools.map((t) => t.name)
);

/** Registers {@link APPS} on `server`: each page as a resource, each tool run against `env`. */
export function registerApps(server: McpServer, deps: ServerDeps, env: ToolEnv): void {
  for (const app of APPS) {
    registerAppResource(server, app.name, app.uri, {
      title: app.title,
      description: app.description,
      mimeType: APP_MIME_TYPE,
    }, async (uri) => ({
      contents: [{ uri: uri.href, mimeType: APP_MIME_TYPE, text: await app.html(deps) }],
    }));
    registerTool(server, app.tool, env, {
      ui: { resourceUri: app.uri },
      [RESOURCE_URI_META_KEY]: app.uri,
    });
    // No flat `ui/resourceUri` key: a host too old for `visibility` must not open the page for it.
    const appOnly: McpUiToolMeta = { resourceUri: app.uri, visibility: ["app"] };
    for (const t of app.appTools) registerTool(server, t, env, { ui: appOnly });
  }
}
