/**
 * A minimal MCP Apps host, for tests/mcp/app_test.ts (bundled for the browser by the test): an
 * SDK v2 `Client` over Streamable HTTP to the real server at `/mcp` of the page's own origin,
 * and ext-apps' host side, `AppBridge` over a `PostMessageTransport` to a sandboxed iframe. As a
 * chat client does it: list the tools, call `show_dashboard`, read the `ui://` resource its
 * `_meta.ui.resourceUri` names, show that HTML in an iframe (`sandbox="allow-scripts"`: opaque
 * origin, no network of its own), answer the page's `ui/initialize`, give it the tool's result,
 * and forward its tool calls to the server. Tool visibility (`_meta.ui.visibility`) as a host
 * honours it: the tools a model would be offered leave out the app-only ones, and the page may
 * call every tool but the model-only ones (any other call is refused here, not forwarded).
 *
 * `window.testHost` holds what happened (`step`, `error`, the resource's MIME type, the tool's
 * uri, `initialized`, the tools offered to the model, the app-only ones, the page's tool calls by
 * name) for the test to read.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  AppBridge,
  isToolVisibilityAppOnly,
  isToolVisibilityModelOnly,
  PostMessageTransport,
} from "@modelcontextprotocol/ext-apps/app-bridge";

interface HostState {
  step: string;
  error: string;
  resourceUri: string;
  mimeType: string;
  initialized: boolean;
  /** The tools a model is offered (all but the app-only ones). */
  modelTools: string[];
  /** The tools only the page may call. */
  appOnlyTools: string[];
  /** The page's tool calls, by name: how many (refused ones too). */
  toolCalls: Record<string, number>;
}

const state: HostState = {
  step: "starting",
  error: "",
  resourceUri: "",
  mimeType: "",
  initialized: false,
  modelTools: [],
  appOnlyTools: [],
  toolCalls: {},
};
(globalThis as unknown as { testHost: HostState }).testHost = state;

async function main(): Promise<void> {
  const client = new Client({ name: "rvr-test-host", version: "1.0.0" });
  state.step = "connecting";
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));

  state.step = "listing tools";
  const { tools } = await client.listTools();
  state.modelTools = tools.filter((t) => !isToolVisibilityAppOnly(t)).map((t) => t.name);
  state.appOnlyTools = tools.filter((t) => isToolVisibilityAppOnly(t)).map((t) => t.name);
  const appCallable = new Set(
    tools.filter((t) => !isToolVisibilityModelOnly(t)).map((t) => t.name),
  );
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

  // Built without the client: the bridge would forward every call; this host checks each first.
  const bridge = new AppBridge(null, { name: "rvr-test-host", version: "1.0.0" }, {
    serverTools: {},
  });
  bridge.oncalltool = (params, extra) => {
    state.toolCalls[params.name] = (state.toolCalls[params.name] ?? 0) + 1;
    if (!appCallable.has(params.name)) {
      return Promise.reject(new Error(`the app may not call ${params.name} (not listed for apps)`));
    }
    return client.request({ method: "tools/call", params }, { signal: extra.mcpReq.signal });
  };
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
