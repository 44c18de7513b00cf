/**
 * A minimal MCP Apps host, for tests/mcp/app_test.ts (bundled for the browser by the test): an
 * SDK v2 `Client` over Streamable HTTP to the real server at `/mcp` of the page's own origin,
 * and ext-apps' host side, `AppBridge` over a `PostMessageTransport` to a sandboxed iframe. As a
 * chat client does it: list the tools, call `show_dashboard`, read the `ui://` resource its
 * `_meta.ui.resourceUri` names, show that HTML in an iframe (`sandbox="allow-scripts"`: opaque
 * origin, no network of its own), answer the page's `ui/initialize`, give it the tool's result,
 * and forward its tool calls to the server (the bridge does that for a bridge built with a
 * client).
 *
 * `window.testHost` holds what happened (`step`, `error`, the resource's MIME type, the tool's
 * uri, `initialized`) for the test to read.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

interface HostState {
  step: string;
  error: string;
  resourceUri: string;
  mimeType: string;
  initialized: boolean;
  toolCalls: string[];
}

const state: HostState = {
  step: "starting",
  error: "",
  resourceUri: "",
  mimeType: "",
  initialized: false,
  toolCalls: [],
};
(globalThis as unknown as { testHost: HostState }).testHost = state;

async function main(): Promise<void> {
  const client = new Client({ name: "rvr-test-host", version: "1.0.0" });
  state.step = "connecting";
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));

  state.step = "listing tools";
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === "show_dashboard");
  if (!tool) throw new Error("the server lists no show_dashboard tool");
  const ui = (tool._meta as { ui?: { resourceUri?: unknown } } | undefined)?.ui;
  if (typeof ui?.resourceUri !== "string" || !ui.resourceUri.startsWith("ui://")) {
    throw new Error("show_dashboard has no _meta.ui.resourceUri: " + JSON.stringify(tool._meta));
  }
  state.resourceUri = ui.resourceUri;

  state.step = "calling show_dashboard";
  const result = await client.callTool({ name: "show_dashboard", arguments: {} });

  state.step = "reading the page";
  const resource = await client.readResource({ uri: state.resourceUri });
  const content = resource.contents[0] as { mimeType?: string; text?: string };
  state.mimeType = content.mimeType ?? "";
  if (typeof content.text !== "string") throw new Error("the page resource has no text");

  const iframe = document.createElement("iframe");
  iframe.id = "app";
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.width = "1200px";
  iframe.style.height = "1000px";
  document.body.appendChild(iframe);
  const view = iframe.contentWindow;
  if (!view) throw new Error("the iframe has no window");

  const bridge = new AppBridge(client, { name: "rvr-test-host", version: "1.0.0" }, {
    serverTools: {},
  });
  bridge.addEventListener("initialized", () => {
    state.initialized = true;
    bridge.sendToolResult(result as Parameters<typeof bridge.sendToolResult>[0]).catch((e) => {
      state.error = "sendToolResult: " + String(e);
    });
  });
  state.step = "connecting the bridge";
  await bridge.connect(new PostMessageTransport(view, view));
  state.step = "showing the page";
  iframe.srcdoc = content.text;
  state.step = "shown";
}

main().catch((e) => {
  state.error = state.step + ": " + (e instanceof Error ? e.stack ?? e.message : String(e));
  console.error(state.error);
});
