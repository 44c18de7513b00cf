/**
 * MCP Apps (extension `io.modelcontextprotocol/ui`): pages a tool opens inside the client, served
 * as `ui://` resources of type {@link APP_MIME_TYPE}. {@link registerApps} is called by the server
 * factory (server.ts) for every instance, so an app listed in {@link APPS} is served to both
 * protocol eras on every transport; its tool names the page in `_meta.ui.resourceUri`.
 *
 * Adding one: its `ui://rvr-mcp/...` uri, a title, and the HTML (self-contained: the host's
 * sandbox gives it no network; it reaches the robot by calling the server's own tools through the
 * host). None are defined yet.
 *
 * @module
 */
import type { McpServer } from "@modelcontextprotocol/server";
import type { ServerDeps } from "./_tool.ts";

/** The MIME type of an MCP App page. */
export const APP_MIME_TYPE = "text/html;profile=mcp-app";

/** One app page. */
export interface AppDef {
  /** `ui://rvr-mcp/<name>` */
  readonly uri: `ui://${string}`;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  html(deps: ServerDeps): string;
}

/** Every app page the server serves. */
export const APPS: readonly AppDef[] = [];

/** Registers {@link APPS} as resources on `server`. */
export function registerApps(server: McpServer, deps: ServerDeps): void {
  for (const app of APPS) {
    server.registerResource(app.name, app.uri, {
      title: app.title,
      description: app.description,
      mimeType: APP_MIME_TYPE,
    }, (uri) => ({
      contents: [{ uri: uri.href, mimeType: APP_MIME_TYPE, text: app.html(deps) }],
    }));
  }
}
