/**
 * Both protocol eras on one Streamable HTTP endpoint, wired as main.ts wires it: a 2026-07-28
 * client (SDK v2, no session: tools with structured output, progress, cancellation that puts
 * drive_stop on the wire, resources, and the robot's events through `subscriptions/listen`) and a
 * 2025-era client (SDK 1.x: its session, `resources/subscribe`, log messages, and the session's
 * end stopping the robot) against the same robot at the same time. Real timers, the simulated
 * robot on a recorded MemoryPort.
 */
import assert from "node:assert/strict";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "@modelcontextprotocol/client";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport as LegacyHttpTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import {
  createServer,
  type McpHttpServer,
  RobotEventLog,
  serveMcpHttp,
  TOOL_NAMES,
  watchResources,
} from "../../src/mcp/mod.ts";
import { Runtime } from "../../src/robot/runtime.ts";
import { SIMULATED_KEY } from "../../src/tools/mod.ts";
import { keepAliveSimOpener, testSettings, type WireEvent, type WireTap } from "../_helpers/mod.ts";
import { robotMetrics } from "../../src/robot/mod.ts";

const MODERN = "2026-07-28";

interface Stack {
  runtime: Runtime;
  http: McpHttpServer;
  wire: WireTap;
  stopped: string[];
  close(): Promise<void>;
}

/** The runtime on the simulator and MCP over HTTP, both eras, as main.ts composes them. */
async function stack(): Promise<Stack> {
  const robot = keepAliveSimOpener({}, "eras");
  const runtime = new Runtime(
    { ...testSettings(), commandTimeout: 0 },
    robot.open,
    robotMetrics(),
  );
  await runtime.connection.connect();
  await runtime.rvr.ready();
  const eventLog = new RobotEventLog(runtime.bus);
  const deps = { runtime, streams: runtime.streams, moves: runtime.moves, version: "0.0.0-test" };
  const stopped: string[] = [];
  const http = await serveMcpHttp({
    port: 0,
    host: "127.0.0.1",
    createServer: (era) =>
      createServer(deps, {
        eventLog,
        updateWindowMs: 20,
        era,
        ...(era === "modern" ? { updates: "off" as const } : {}),
      }),
    resourceUpdates: (publish) => {
      const watch = watchResources(deps, eventLog, { updateWindowMs: 20, announce: publish });
      return () => watch.dispose();
    },
    onSessionClosed: async (id) => {
      await runtime.rvr.stop();
      stopped.push(id);
    },
  });
  return {
    runtime,
    http,
    wire: robot.wire,
    stopped,
    async close() {
      await http.close();
      eventLog.dispose();
      await runtime.close("sigterm");
      await robot.sim.stop();
    },
  };
}

async function modernClient(url: string): Promise<ModernClient> {
  const client = new ModernClient({ name: "eras-2026", version: "1" }, {
    versionNegotiation: { mode: { pin: MODERN } },
  });
  await client.connect(new ModernHttpTransport(new URL(url)));
  return client;
}

async function legacyClient(url: string): Promise<LegacyClient> {
  const client = new LegacyClient({ name: "eras-2025", version: "1" });
  await client.connect(new LegacyHttpTransport(new URL(url)));
  return client;
}

/** Resolves with the first packet named `name` the robot receives from now on. */
function nextReceived(wire: WireTap, name: string): Promise<WireEvent> {
  const { promise, resolve } = Promise.withResolvers<WireEvent>();
  const previous = wire.onReceived;
  wire.onReceived = (e) => {
    previous?.(e);
    if (e.name === name) {
      wire.onReceived = previous;
      resolve(e);
    }
  };
  return promise;
}

Deno.test("HTTP, 2026-07-28: no session; tools, structured output, resources and progress", async () => {
  const s = await stack();
  const client = await modernClient(s.http.url);
  try {
    assert.equal(client.getProtocolEra(), "modern");
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
    assert.equal(s.http.sessions, 0, "the 2026 era has no sessions");
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), [...TOOL_NAMES]);
    const drive = tools.find((t) => t.name === "drive_forward");
    assert.equal(drive?.annotations?.destructiveHint, true);
    const outputProps = drive?.outputSchema?.properties as Record<string, unknown> | undefined;
    assert.ok(outputProps?.[SIMULATED_KEY], "output schema with the mark");

    const battery = await client.callTool({ name: "get_battery_status", arguments: {} });
    assert.equal(battery.isError, undefined, JSON.stringify(battery));
    const level = battery.structuredContent as Record<string, unknown> | undefined;
    assert.equal(level?.[SIMULATED_KEY], true);
    assert.equal(typeof level?.percentage, "number");

    const refused = await client.callTool({ name: "set_speed_limit", arguments: { percent: 500 } })
      .catch((e: Error) => e);
    assert.match(
      String(refused instanceof Error ? refused.message : JSON.stringify(refused)),
      /percent/,
    );

    const status = await client.readResource({ uri: "rvr://status" });
    const content = JSON.parse((status.contents[0] as { text: string }).text);
    assert.equal(content.connection.status, "connected");

    const progress: number[] = [];
    const moved = await client.callTool(
      { name: "drive_forward", arguments: { distance: 0.2 } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    assert.equal(moved.isError, undefined, JSON.stringify(moved));
    assert.ok(progress.length > 0, "progress notifications on the call's own stream");
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress only grows");
  } finally {
    await client.close();
    await s.close();
  }
});

Deno.test("HTTP, 2026-07-28: cancelling a move (closing its stream) puts drive_stop on the wire", async () => {
  const s = await stack();
  const client = await modernClient(s.http.url);
  try {
    const abort = new AbortController();
    const started = Promise.withResolvers<void>();
    const stop = nextReceived(s.wire, "drive_stop");
    const call = client.callTool(
      { name: "drive_forward", arguments: { distance: 3 } },
      { signal: abort.signal, onprogress: () => started.resolve() },
    );
    await started.promise;
    const from = s.wire.events.length;
    abort.abort();
    await assert.rejects(call);
    const e = await stop;
    assert.ok(s.wire.events.indexOf(e) >= from, "drive_stop after the cancel");
  } finally {
    await client.close();
    await s.close();
  }
});

Deno.test("HTTP, both eras at once: the robot's events reach each (listen stream; subscribe and log)", async () => {
  const s = await stack();
  const modern = await modernClient(s.http.url);
  const legacy = await legacyClient(s.http.url);
  try {
    assert.equal(s.http.sessions, 1, "only the 2025-era client has a session");
    // 2026: rvr://events and rvr://status updates on a subscriptions/listen stream.
    const modernUpdates: string[] = [];
    const modernEvents = Promise.withResolvers<void>();
    modern.setNotificationHandler("notifications/resources/updated", (n) => {
      modernUpdates.push(n.params.uri);
      if (n.params.uri === "rvr://events") modernEvents.resolve();
    });
    const subscription = await modern.listen({ resourceSubscriptions: ["rvr://events"] });
    assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, ["rvr://events"]);
    // 2025: resources/subscribe, updates and log messages on the session.
    const legacyEvents = Promise.withResolvers<void>();
    const logged = Promise.withResolvers<Record<string, unknown>>();
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      if (n.params.uri === "rvr://events") legacyEvents.resolve();
    });
    legacy.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logged.resolve(n.params.data as Record<string, unknown>);
    });
    await legacy.subscribeResource({ uri: "rvr://events" });

    const estop = await modern.callTool({ name: "emergency_stop", arguments: {} });
    assert.equal(estop.isError, undefined, JSON.stringify(estop));
    await modernEvents.promise;
    await legacyEvents.promise;
    assert.ok(modernUpdates.every((u) => u === "rvr://events"), "only what the stream asked for");
    assert.equal((await logged.promise).event, "estop");
    const events = await modern.readResource({ uri: "rvr://events" });
    const log = JSON.parse((events.contents[0] as { text: string }).text);
    assert.ok(log.events.some((e: { name: string }) => e.name === "estop"));

    // The 2025-era client leaving (DELETE) stops the robot; the 2026 client goes on.
    const cleared = await legacy.callTool({ name: "clear_emergency_stop", arguments: {} });
    assert.equal(cleared.isError, undefined, JSON.stringify(cleared));
    const drive = await legacy.callTool({
      name: "drive_with_heading",
      arguments: { speed: 60, heading: 0 },
    });
    assert.equal(drive.isError, undefined, JSON.stringify(drive));
    const stop = nextReceived(s.wire, "drive_stop");
    await (legacy.transport as LegacyHttpTransport).terminateSession();
    await stop;
    assert.equal(s.stopped.length, 1);
    assert.equal(s.http.sessions, 0);
    await subscription.close();
    assert.equal(await subscription.closed, "local");
  } finally {
    await legacy.close();
    await modern.close();
    await s.close();
  }
});
