/**
 * A real MCP client against createServer over the in-memory transport, with a real Runtime over
 * a keep-alive SimulatedRvr on a MemoryPort (every connection gets a fresh recorded port), and
 * the real SensorStreams and Moves. Time is faked (see tests/robot/_harness.ts): install the
 * clock first, build the rig, drive every promise with {@link McpRig.settle}.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Metrics } from "../../src/core/metrics.ts";
import { MemoryPort } from "../../src/link/mod.ts";
import { createServer, type RvrMcpServer, type ServerOptions } from "../../src/mcp/server.ts";
import type { OpenedPort, PortOpener } from "../../src/robot/connection.ts";
import { Moves } from "../../src/robot/moves.ts";
import { Runtime, type RuntimeSettings } from "../../src/robot/runtime.ts";
import { SensorStreams } from "../../src/robot/sensors.ts";
import { type SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import { type Clock, installClock, RecordingPort } from "../robot/_harness.ts";

export const SETTINGS: RuntimeSettings = {
  serialPort: "sim",
  baudRate: 115200,
  requestTimeoutMs: 200,
  wakeTimeout: 2,
  heartbeatMs: 0,
  maxSpeedPercent: 50,
  commandTimeout: 5,
  commandQueueSize: 100,
  circuitBreakerFailureThreshold: 3,
  circuitBreakerTimeout: 10,
  sensorInterval: 100,
  sensorCacheTtl: 1000,
};

export interface RigOptions {
  settings?: Partial<RuntimeSettings>;
  sim?: SimOptions;
  server?: ServerOptions;
  /** Connect the runtime before the client starts (default true). */
  connect?: boolean;
}

export interface McpRig {
  readonly clock: Clock;
  readonly runtime: Runtime;
  readonly streams: SensorStreams;
  readonly moves: Moves;
  readonly server: RvrMcpServer;
  readonly client: Client;
  /** The simulated robot (after the first connect). */
  readonly sim: SimulatedRvr;
  /** The recorded robot side of the current connection. */
  readonly wire: RecordingPort;
  readonly wires: RecordingPort[];
  /** Ticks fake time until `p` settles (up to 60 s of it); rethrows its rejection. */
  settle<T>(p: Promise<T>): Promise<T>;
  /** tools/call, settled. */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** tools/call that must succeed; returns its structuredContent. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** tools/call that must fail; returns its text. */
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Builds the rig; installs the fake clock (uninstalled by close()). */
export async function makeMcpRig(options: RigOptions = {}): Promise<McpRig> {
  const clock = installClock();
  let sim: SimulatedRvr | undefined;
  const wires: RecordingPort[] = [];
  const open: PortOpener = (): Promise<OpenedPort> => {
    const [host, device] = MemoryPort.pair("mcp");
    const wire = new RecordingPort(device);
    wires.push(wire);
    if (sim) sim.attach(wire);
    else {
      sim = new SimulatedRvr(wire, { keepAlive: true, inactivityTimeoutMs: 0, ...options.sim });
      sim.start();
    }
    return Promise.resolve({ port: host, simulated: true, close: () => device.close() });
  };
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    let outcome: { ok: true; v: T } | { ok: false; e: unknown } | undefined;
    p.then((v) => outcome = { ok: true, v }, (e) => outcome = { ok: false, e });
    for (let i = 0; i < 6000 && outcome === undefined; i++) await clock.tickAsync(10);
    if (outcome === undefined) throw new Error("still pending after 60 s of fake time");
    if (!outcome.ok) throw outcome.e;
    return outcome.v;
  };
  const runtime = new Runtime(
    { ...SETTINGS, ...options.settings },
    open,
    new Metrics({ processMetrics: false }),
  );
  const { streams, moves } = runtime;
  const server = createServer({ runtime, streams, moves, version: "0.0.0-test" }, options.server);
  const client = new Client({ name: "rvr-mcp-test", version: "1.0.0" });
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
      if (!sim) throw new Error("the simulator starts with the first connect");
      return sim;
    },
    get wire(): RecordingPort {
      const w = wires.at(-1);
      if (!w) throw new Error("not connected yet");
      return w;
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
      return r.structuredContent as T;
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
        if (sim) await settle(sim.stop());
      } finally {
        clock.uninstall();
      }
    },
  };
  return rig;
}

/** Names of the packets the robot received since index `from` of `wire.events`. */
export function receivedNames(wire: RecordingPort, from = 0): string[] {
  return wire.events.slice(from).filter((e) => e.dir === "in").map((e) => e.name);
}
