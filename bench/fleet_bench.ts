/**
 * A classroom of 30 simulated robots (fleet-sim's composition: each its own Runtime, simulator,
 * aggregator, broker connection and Member) on a real nats-server, and the gateway, all on one
 * machine. Claims (issue 14):
 *
 * - stop-all: from the gateway's `emergency_stop` tool call (no robot: the broadcast) to the last
 *   robot's `drive_stop` on its wire, p99 <= 50 ms ("stop-all ..." bench; p50/p95/p99 of every
 *   sample printed to stderr at the end);
 * - `call_robots get_battery_status` on all 30 finishes within 2x one robot's call: both are
 *   benches here, and their ratio (of medians, same run) is printed to stderr;
 * - telemetry from 30 robots at 10 windows/s reaches the gateway with every batch accounted for
 *   (received + counted drops = sent): checked at load over 3 s of streaming, printed, and the
 *   bench file fails if a batch is unaccounted;
 * - memory per simulated robot (RSS growth over building the 30, divided by 30) and the gateway
 *   program's RSS (`rvr-mcp fleet` as its own process, after list_robots) are printed.
 *
 * Output for people goes to stderr: bench/gate.ts reads `deno bench --json` from stdout.
 *
 * Run: deno bench --allow-all bench/fleet_bench.ts   (needs nats-server on PATH)
 */
import {
  fleetEmergencyStop,
  FleetLink,
  Gateway,
  Member,
  startClassroom,
} from "../src/fleet/mod.ts";
import { MemoryPort } from "../src/link/mod.ts";
import { robotMetrics, Runtime } from "../src/robot/mod.ts";
import { Aggregator } from "../src/telemetry/mod.ts";
import type { OpenedPort } from "../src/robot/connection.ts";
import { SimulatedRvr } from "../src/sim/mod.ts";
import { testSettings, WireTap } from "../tests/_helpers/mod.ts";
import { NatsServer } from "../tests/fleet/_nats.ts";
import { until } from "../tests/fleet/_members.ts";
import { StdioRpc } from "../tests/e2e/_jsonrpc.ts";
import { spawnMain } from "../tests/e2e/_process.ts";

const ROBOTS = Number(Deno.env.get("FLEET_BENCH_ROBOTS") ?? 30);

function rssBytes(): number {
  return Deno.memoryUsage().rss;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(name: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2);
  return `${name}: n=${s.length} p50=${f(percentile(s, 50))} ms p95=${f(percentile(s, 95))} ms ` +
    `p99=${f(percentile(s, 99))} ms max=${f(s.at(-1) ?? NaN)} ms`;
}

const nats = await NatsServer.start();
const wires = new Map<string, WireTap>();
const runtimes = new Map<string, Runtime>();
const sims: SimulatedRvr[] = [];

// ---- the classroom ------------------------------------------------------------------------------

const rssBefore = rssBytes();
const classroom = await startClassroom({
  robots: ROBOTS,
  fleet: "bench",
  version: "0.0.0-bench",
  link: { servers: [nats.url] },
  build: async (id) => {
    let sim: SimulatedRvr | undefined;
    const runtime = new Runtime(
      testSettings({ requestTimeoutMs: 1000, commandTimeout: 0, sensorInterval: 100 }),
      (): Promise<OpenedPort> => {
        const [host, device] = MemoryPort.pair(id);
        const wire = new WireTap(device);
        wires.set(id, wire);
        sim = new SimulatedRvr(wire, { inactivityTimeoutMs: 0 });
        sims.push(sim);
        sim.start();
        return Promise.resolve({ port: host, simulated: true, close: () => device.close() });
      },
      robotMetrics(),
    );
    await runtime.connection.connect();
    runtimes.set(id, runtime);
    const aggregator = new Aggregator(runtime.bus, { windowMs: 100 });
    return {
      robot: runtime,
      aggregator,
      close: async () => {
        await runtime.close("disconnect");
        aggregator.close();
        await sim?.stop();
      },
    };
  },
});
const perRobotMb = (rssBytes() - rssBefore) / ROBOTS / 1e6;
console.error(`classroom: ${ROBOTS} robots built`);

const link = new FleetLink({ servers: [nats.url], name: "bench gateway" });
const gateway = new Gateway({ link, fleet: "bench", pollMs: 500 });
gateway.start();
await until(
  () => gateway.robots().filter((r) => r.status === "online").length === ROBOTS,
  `all ${ROBOTS} robots online`,
  30_000,
  50,
);

console.error(`gateway: ${ROBOTS} robots online`);

// ---- telemetry: every batch accounted for ---------------------------------------------------------

const ctx = {
  correlationId: "bench",
  signal: new AbortController().signal,
  notify: () => {},
};
await gateway.callRobots(
  "start_sensor_streaming",
  { sensors: ["imu"], interval_ms: 40 },
  ["all"],
  {
    maxParallel: ROBOTS,
  },
);
const members = classroom.members.map((m) => m.member as Member);
const sentAt = () => members.reduce((n, m) => n + m.stats.batchesSent + m.stats.batchesDropped, 0);
await new Promise((r) => setTimeout(r, 3000));
await gateway.callRobots("stop_sensor_streaming", {}, ["all"], { maxParallel: ROBOTS });
// The last windows close and travel; then nothing more is sent.
await new Promise((r) => setTimeout(r, 500));
await link.ready().then((nc) => nc.flush());
const sent = sentAt();
const dropped = members.reduce((n, m) => n + m.stats.batchesDropped, 0);
let received = 0;
let lost = 0;
for (const c of gateway.telemetry.counts.values()) {
  received += c.received;
  lost += c.lost;
}
console.error(
  `telemetry: ${ROBOTS} robots, 3 s of 100 ms windows, imu at 25 Hz: sent ${sent}, received ${received}, ` +
    `dropped (counted by members) ${dropped}, lost in transit (seq gaps) ${lost}; ` +
    `received + dropped + lost = ${received + dropped + lost}`,
);
if (received + dropped !== sent) {
  throw new Error(
    `telemetry not accounted for: received ${received} + dropped ${dropped} != sent ${sent}`,
  );
}

// ---- the gateway program's RSS ------------------------------------------------------------------

{
  const program = spawnMain(["fleet"], { RVR_FLEET_URL: nats.url, RVR_FLEET_NAME: "bench" });
  const rpc = new StdioRpc(program.child.stdin, program.stdout);
  await rpc.initialize();
  const listed = await rpc.callTool("list_robots");
  const n = (listed.structuredContent?.robots as unknown[] | undefined)?.length ?? 0;
  const status = await Deno.readTextFile(`/proc/${program.child.pid}/status`);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  console.error(
    `memory: ${perRobotMb.toFixed(1)} MB RSS per simulated robot (30 built in this process); ` +
      `the gateway program (rvr-mcp fleet, ${n} robots listed): ${
        (rssKb / 1024).toFixed(1)
      } MB RSS`,
  );
  program.child.kill("SIGTERM");
  await program.child.status;
  await program.stdout.done;
  await program.stderr.done;
}

// ---- benches ------------------------------------------------------------------------------------

const stopSamples: number[] = [];

Deno.bench({
  name: "stop-all: emergency_stop tool call -> last drive_stop on 30 robots' wires",
  group: "stop-all",
  n: 100,
  warmup: 5,
  async fn(b) {
    const pending = new Set(wires.keys());
    const { promise, resolve } = Promise.withResolvers<void>();
    for (const [id, wire] of wires) {
      wire.onReceived = (e) => {
        if (e.name !== "drive_stop") return;
        pending.delete(id);
        if (pending.size === 0) resolve();
      };
    }
    b.start();
    const started = performance.now();
    const call = fleetEmergencyStop.handler(gateway, { timeout_ms: 2000 }, ctx);
    await promise;
    stopSamples.push(performance.now() - started);
    b.end();
    await call;
    for (const w of wires.values()) w.onReceived = undefined;
    for (const r of runtimes.values()) r.rvr.clearEmergencyStop("bench");
  },
});

const oneSamples: number[] = [];
const allSamples: number[] = [];

Deno.bench({
  name: "call get_battery_status on one robot (of the 30)",
  group: "call",
  baseline: true,
  n: 100,
  warmup: 5,
  async fn() {
    const started = performance.now();
    await gateway.call("sim-01", "get_battery_status", {});
    oneSamples.push(performance.now() - started);
  },
});

Deno.bench({
  name: "call_robots get_battery_status on all 30 (max_parallel 30)",
  group: "call",
  n: 50,
  warmup: 3,
  async fn() {
    const started = performance.now();
    const results = await gateway.callRobots("get_battery_status", {}, ["all"], {
      maxParallel: ROBOTS,
    });
    allSamples.push(performance.now() - started);
    if (!results.every((r) => r.ok)) throw new Error(JSON.stringify(results.find((r) => !r.ok)));
  },
});

globalThis.addEventListener("unload", () => {
  if (stopSamples.length) console.error(report("stop-all -> last drive_stop", stopSamples));
  if (oneSamples.length && allSamples.length) {
    const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
    console.error(report("call one robot", oneSamples));
    console.error(report("call_robots all 30", allSamples));
    console.error(
      `call_robots on 30 / one robot's call (medians, same run): ` +
        `${(median(allSamples) / median(oneSamples)).toFixed(2)}x`,
    );
  }
  gateway.close();
  nats.kill();
});
