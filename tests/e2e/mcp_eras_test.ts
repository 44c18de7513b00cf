/**
 * Both protocol eras on stdio, as a client runs the server: `deno task start` on the built-in
 * simulator, spawned by the SDK's own stdio client transport. A 2026-07-28 client (SDK v2, pinned:
 * no `initialize`) and a 2025-era client (SDK 1.x) each get the tools, structured results, the
 * resources, and the robot's events (a `subscriptions/listen` stream; `resources/subscribe` and
 * log messages). Each connection is its own process; leaving (stdin at its end) ends it with exit
 * 0, as tests/e2e/main_test.ts shows for the robot's wire.
 */
import assert from "node:assert/strict";
import { Client as ModernClient } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport as LegacyStdio } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { TOOL_NAMES } from "../../src/mcp/mod.ts";
import { ROOT } from "./_process.ts";

/** `deno task start` on the simulator, its log kept (not shown) for the assertion messages. */
function serverParams() {
  return {
    command: Deno.execPath(),
    args: ["task", "--quiet", "start"],
    cwd: ROOT,
    env: { ...Deno.env.toObject(), NO_COLOR: "1", RVR_SERIAL_PORT: "sim" },
    stderr: "pipe" as const,
  };
}

/** Collects a transport's stderr lines. */
function collect(stream: { on(event: "data", f: (chunk: unknown) => void): unknown } | null) {
  const lines: string[] = [];
  let rest = "";
  stream?.on("data", (chunk) => {
    const text = rest + String(chunk);
    const parts = text.split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  });
  return lines;
}

Deno.test("stdio, 2026-07-28: tools, results, resources, and the robot's events on a listen stream", async () => {
  const transport = new ModernStdio(serverParams());
  const log = collect(transport.stderr);
  const client = new ModernClient({ name: "e2e-2026", version: "1" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(transport);
  try {
    assert.equal(client.getProtocolEra(), "modern");
    assert.equal(client.getServerVersion()?.name, "rvr-mcp");
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), [...TOOL_NAMES]);
    const updated = Promise.withResolvers<string>();
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      updated.resolve(n.params.uri);
    });
    const subscription = await client.listen({ resourceSubscriptions: ["rvr://events"] });
    assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, ["rvr://events"]);
    // The robot answers beside MCP: connect waits for it.
    const connected = await client.callTool({ name: "connect", arguments: {} });
    assert.equal(connected.isError, undefined, `${JSON.stringify(connected)}\n${log.join("\n")}`);
    const estop = await client.callTool({ name: "emergency_stop", arguments: {} });
    assert.equal(estop.isError, undefined, JSON.stringify(estop));
    assert.equal(await updated.promise, "rvr://events");
    const events = await client.readResource({ uri: "rvr://events" });
    const content = JSON.parse((events.contents[0] as { text: string }).text);
    assert.ok(content.events.some((e: { name: string }) => e.name === "estop"), log.join("\n"));
    const refused = await client.callTool({
      name: "drive_with_heading",
      arguments: { speed: 50, heading: 0 },
    });
    assert.equal(refused.isError, true);
    await subscription.close();
  } finally {
    await client.close();
  }
  assert.ok(log.every((l) => JSON.parse(l)), "every log line is JSON");
});

Deno.test("stdio, 2025 era (SDK 1.x): subscribe and log messages still reach the client", async () => {
  const transport = new LegacyStdio(serverParams());
  const log = collect(transport.stderr);
  const client = new LegacyClient({ name: "e2e-2025", version: "1" });
  await client.connect(transport);
  try {
    const updated = Promise.withResolvers<string>();
    const estopLogged = Promise.withResolvers<unknown>();
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.resolve(n.params.uri);
    });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      const data = n.params.data as { event?: string };
      if (data.event === "estop") estopLogged.resolve({ level: n.params.level, ...data });
    });
    await client.subscribeResource({ uri: "rvr://events" });
    const connected = await client.callTool({ name: "connect", arguments: {} });
    assert.equal(connected.isError, undefined, `${JSON.stringify(connected)}\n${log.join("\n")}`);
    const estop = await client.callTool({ name: "emergency_stop", arguments: {} });
    assert.equal(estop.isError, undefined, JSON.stringify(estop));
    assert.equal(await updated.promise, "rvr://events");
    assert.equal((await estopLogged.promise as { level: string }).level, "warning");
  } finally {
    await client.close();
  }
  assert.ok(log.every((l) => JSON.parse(l)), "every log line is JSON");
});
