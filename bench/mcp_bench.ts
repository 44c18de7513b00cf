/**
 * MCP tools/call round trips over the in-memory transport: a real SDK Client against
 * createServer, a real Runtime over the simulated robot on a MemoryPort (real timers), every
 * layer in the path (JSON-RPC, zod input and output validation, the tool helper, queue, breaker,
 * link, the simulator's reply). The lead adds the stdio and pty variants.
 *
 * - get_battery_status: four queries to the robot per call.
 * - drive_with_heading: one movement command (speed limit, watchdog), acknowledged by the robot.
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { MemoryPort } from "../src/link/mod.ts";
import { createServer } from "../src/mcp/server.ts";
import type { OpenedPort } from "../src/robot/connection.ts";
import { Runtime } from "../src/robot/runtime.ts";
import { SimulatedRvr } from "../src/sim/mod.ts";
import { robotMetrics } from "../src/robot/mod.ts";
import { calibrate } from "./_calibration.ts";

calibrate("start"); // bench/gate.ts's yardstick, before the benches (and again after them)

async function buildStack() {
  let sim: SimulatedRvr | undefined;
  const runtime = new Runtime(
    {
      serialPort: "sim",
      baudRate: 115200,
      requestTimeoutMs: 1000,
      wakeTimeout: 5,
      heartbeatMs: 0,
      maxSpeedPercent: 50,
      commandTimeout: 0,
      commandQueueSize: 100,
      circuitBreakerFailureThreshold: 5,
      circuitBreakerTimeout: 10,
      sensorInterval: 250,
      sensorCacheTtl: 1000,
    },
    (): Promise<OpenedPort> => {
      const [host, device] = MemoryPort.pair("bench");
      sim = new SimulatedRvr(device, { inactivityTimeoutMs: 0 });
      sim.start();
      return Promise.resolve({ port: host, simulated: true, close: () => device.close() });
    },
    robotMetrics(),
  );
  await runtime.connection.connect();
  await runtime.rvr.ready();
  const { streams, moves } = runtime;
  const server = createServer({ runtime, streams, moves, version: "bench" });
  const client = new Client({ name: "bench", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  await client.listTools();
  return { client, sim };
}

// The stack lives for the whole run (deno bench exits when the benches are done).
const { client } = await buildStack();

async function call(name: string, args: Record<string, unknown>): Promise<void> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
}

Deno.bench({
  name: "tools/call get_battery_status (in-memory)",
  group: "mcp in-memory",
  baseline: true,
  warmup: 50,
  n: 1000,
  async fn() {
    await call("get_battery_status", {});
  },
});

let heading = 0;
Deno.bench({
  name: "tools/call drive_with_heading (in-memory)",
  group: "mcp in-memory",
  warmup: 50,
  n: 1000,
  async fn() {
    heading = (heading + 7) % 360;
    await call("drive_with_heading", { speed: 40, heading });
  },
});

calibrate("end"); // bench/gate.ts's yardstick again, after the benches
