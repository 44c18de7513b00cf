/**
 * A real MCP client against createServer over the in-memory transport, with a real Runtime over
 * a keep-alive SimulatedRvr on a MemoryPort (every connection gets a fresh recorded port), and
 * the real SensorStreams and Moves. Time is faked (see tests/robot/_harness.ts): install the
 * clock first, build the rig, drive every promise with {@link McpRig.settle}.
 */
import assert from "node:assert/strict";
import {
  Client as ModernClient,
  type ClientCapabilities as ModernClientCapabilities,
  type ElicitRequest as ModernElicitRequest,
  type ElicitResult as ModernElicitResult,
  InMemoryTransport as ModernInMemoryTransport,
} from "@modelcontextprotocol/client";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  type CallToolResult,
  type ClientCapabilities,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import { createServer, type RvrMcpServer, type ServerOptions } from "../../src/mcp/server.ts";
import { SIMULATED_KEY } from "../../src/tools/mod.ts";
import type { PortOpener } from "../../src/robot/mod.ts";
import { Moves } from "../../src/robot/moves/mod.ts";
import { Runtime, type RuntimeSettings } from "../../src/robot/runtime.ts";
import { SensorStreams } from "../../src/robot/sensors/mod.ts";
import { type SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import {
  type FakeClock,
  fakeClock,
  keepAliveSimOpener,
  settleWith,
  testSettings,
  WireTap,
} from "../_helpers/mod.ts";
import { robotMetrics } from "../../src/robot/mod.ts";

export interface RigOptions {
  settings?: Partial<RuntimeSettings>;
  sim?: SimOptions;
  server?: ServerOptions;
  /** Connect the runtime before the client starts (default true). */
  connect?: boolean;
  /** Wraps the simulator's port opener, e.g. to resolve RVR_SERIAL_PORT=auto as main.ts does. */
  opener?: (simulator: PortOpener) => PortOpener;
  /** The client's capabilities (default none) and its answer to elicitation/create. */
  client?: {
    capabilities?: ClientCapabilities;
    onElicit?: (params: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;
  };
}

export interface McpRig {
  readonly clock: FakeClock;
  readonly runtime: Runtime;
  readonly streams: SensorStreams;
  readonly moves: Moves;
  readonly server: RvrMcpServer;
  readonly client: Client;
  /** The simulated robot (after the first connect). */
  readonly sim: SimulatedRvr;
  /** The recorded robot side of the current connection. */
  readonly wire: WireTap;
  readonly wires: WireTap[];
  /** Ticks fake time until `p` settles (up to 60 s of it); rethrows its rejection. */
  settle<T>(p: Promise<T>): Promise<T>;
  /** tools/call, settled. */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /**
   * tools/call that must succeed; returns its structuredContent without the `simulated_robot`
   * mark, which every result on this simulated robot must carry.
   */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** tools/call that must fail; returns its text. */
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Builds the rig; installs the fake clock (uninstalled by close()). */
export async function makeMcpRig(options: RigOptions = {}): Promise<McpRig> {
  const clock = fakeClock();
  const robot = keepAliveSimOpener(options.sim, "mcp");
  const { open, wires } = robot;
  const settle = <T>(p: Promise<T>): Promise<T> => settleWith(clock, p, 60_000);
  const runtime = new Runtime(
    testSettings(options.settings),
    options.opener?.(open) ?? open,
    robotMetrics(),
  );
  const { streams, moves } = runtime;
  const server = createServer({ runtime, streams, moves, version: "0.0.0-test" }, options.server);
  const client = new Client({ name: "rvr-mcp-test", version: "1.0.0" }, {
    capabilities: options.client?.capabilities ?? {},
  });
  const onElicit = options.client?.onElicit;
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, (req) => onElicit(req.params));
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  if (options.connect ?? true) {
    await settle(runtime.connection.connect());
    await settle(runtime.rvr.ready());
  }
  await settle(server.connect(serverTransport));
  await settle(client.connect(clientTransport));
  // The client checks structuredContent against each tool's output schema once it listed them.
  await settle(client.listTools());

  const call = (name: string, args: Record<string, unknown> = {}) =>
    settle(client.callTool({ name, arguments: args }) as Promise<CallToolResult>);
  const rig: McpRig = {
    clock,
    runtime,
    streams,
    moves,
    server,
    client,
    get sim(): SimulatedRvr {
      return robot.sim;
    },
    get wire(): WireTap {
      return robot.wire;
    },
    wires,
    settle,
    call,
    async ok<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
      const r = await call(name, args);
      assert.ok(!r.isError, `${name} failed: ${JSON.stringify(r.content)}`);
      assert.ok(r.structuredContent, `${name} returned no structuredContent`);
      const text = (r.content[0] as { type: string; text: string }).text;
      assert.deepEqual(JSON.parse(text), r.structuredContent, "the text is the JSON");
      const { [SIMULATED_KEY]: simulated, ...rest } = r.structuredContent;
      assert.equal(simulated, true, `${name} says the robot is simulated: ${text}`);
      return rest as T;
    },
    async fails(name: string, args: Record<string, unknown> = {}): Promise<string> {
      const r = await call(name, args);
      assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r.structuredContent)}`);
      return (r.content[0] as { type: string; text: string }).text;
    },
    async close() {
      try {
        await settle(client.close());
        await settle(server.close());
        moves.dispose();
        streams.dispose();
        await settle(runtime.close("sigterm"));
        if (wires.length > 0) await settle(robot.sim.stop());
      } finally {
        clock.uninstall();
      }
    },
  };
  return rig;
}

/** Names of the packets the robot received since index `from` of `wire.events`. */
export function receivedNames(wire: WireTap, from = 0): string[] {
  return wire.events.slice(from).filter((e) => e.dir === "in").map((e) => e.name);
}

/** The 2026-07-28 client of {@link connectModernClient}. */
export interface ModernClientOptions {
  /** Its capabilities (default none), sent in every request's envelope. */
  capabilities?: ModernClientCapabilities;
  /** Its answer to an embedded elicitation/create of an input_required result. */
  onElicit?: (
    params: ModernElicitRequest["params"],
  ) => ModernElicitResult | Promise<ModernElicitResult>;
  /** Fulfil input_required results itself and call again (default true); false: manual. */
  autoFulfill?: boolean;
}

/**
 * A 2026-07-28 client (SDK v2, pinned) on the rig's robot, served as src/mcp/stdio.ts serves it:
 * the SDK's `serveStdio` entry (here over an in-memory pair) picks the era from the client's
 * opening message and builds the server for it with createServer. Close it before the rig.
 */
export async function connectModernClient(
  rig: McpRig,
  options: ModernClientOptions = {},
): Promise<{ client: ModernClient; close(): Promise<void> }> {
  const deps = {
    runtime: rig.runtime,
    streams: rig.streams,
    moves: rig.moves,
    version: "0.0.0-test",
  };
  const [clientTransport, serverTransport] = ModernInMemoryTransport.createLinkedPair();
  const handle = serveStdio((ctx) => createServer(deps, { era: ctx.era }), {
    transport: serverTransport,
  });
  const client = new ModernClient({ name: "rvr-mcp-test-2026", version: "1.0.0" }, {
    capabilities: options.capabilities ?? {},
    versionNegotiation: { mode: { pin: "2026-07-28" } },
    inputRequired: { autoFulfill: options.autoFulfill ?? true },
  });
  const onElicit = options.onElicit;
  if (onElicit) client.setRequestHandler("elicitation/create", (req) => onElicit(req.params));
  await rig.settle(client.connect(clientTransport));
  // The client checks structuredContent against each tool's output schema once it listed them.
  await rig.settle(client.listTools());
  return {
    client,
    async close() {
      await rig.settle(client.close());
      await rig.settle(handle.close());
    },
  };
}
