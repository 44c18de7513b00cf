/**
 * Robot-layer timings against the simulated robot over a MemoryPort pair (real link, queue,
 * breaker, safety; real timers).
 *
 * - "emergency stop": from the emergencyStop() call to the drive_stop bytes handed to the host
 *   port (timestamped inside a BytePort decorator's write), while one command awaits its reply
 *   and 100 movement commands are queued. Budget: p99 < 1 ms.
 * - "command overhead": what queue + breaker + metrics (+ safety for movement) add per command,
 *   against the bare link as baseline.
 */
import { type BytePort, type BytePortHandlers, MemoryPort, RvrLink } from "../src/link/mod.ts";
import { FrameDecoder } from "../src/protocol/mod.ts";
import { CircuitBreaker, CommandQueue, EventBus } from "../src/core/mod.ts";
import {
  type LinkProvider,
  robotMetrics,
  type RobotTopics,
  Rvr,
  Safety,
  StateStore,
} from "../src/robot/mod.ts";
import { SimulatedRvr } from "../src/sim/mod.ts";
import { calibrate } from "./_calibration.ts";

calibrate("start"); // bench/gate.ts's yardstick, before the benches (and again after them)

/** Host-side port decorator: calls `onWrite` at the start of every write, before the bytes go. */
class ProbePort implements BytePort {
  onWrite: ((bytes: Uint8Array) => void) | undefined;
  constructor(readonly inner: BytePort) {}
  get path(): string {
    return this.inner.path;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  start(handlers: BytePortHandlers): void {
    this.inner.start(handlers);
  }
  write(bytes: Uint8Array): Promise<void> {
    this.onWrite?.(bytes);
    return this.inner.write(bytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function buildStack() {
  const [host, device] = MemoryPort.pair("bench");
  const probe = new ProbePort(host);
  const sim = new SimulatedRvr(device, { inactivityTimeoutMs: 0 });
  sim.start();
  const link = new RvrLink(probe, { defaultTimeoutMs: 1000 });
  link.start();
  const links: LinkProvider = {
    current: () => link,
    peek: () => link,
    awaitLink: () => Promise.resolve(link),
    onConnected: () => () => {},
    onDisconnected: () => () => {},
  };
  const queue = new CommandQueue({ capacity: 100 });
  const breaker = new CircuitBreaker({ name: "bench" });
  const bus = new EventBus<RobotTopics>();
  const state = new StateStore();
  const metrics = robotMetrics();
  const safety = new Safety({ bus, state, metrics, speedLimitPercent: 50, commandTimeoutS: 0 });
  const rvr = new Rvr({ links, queue, breaker, bus, state, safety, metrics });
  return { sim, link, probe, queue, rvr };
}

// The stack lives for the whole run (deno bench exits when the benches are done).
const stack = buildStack();
await stack.rvr.ready();

const stopDecoder = new FrameDecoder();

Deno.bench({
  name: "emergency stop: call -> drive_stop written (100 queued, 1 in flight)",
  group: "estop",
  n: 500,
  warmup: 50,
  async fn(b) {
    const { rvr, queue, sim, probe } = stack;
    rvr.clearEmergencyStop();
    sim.faults.replyDelayMs = 1;
    const inFlight = rvr.command("get_battery_percentage", {});
    while (queue.stats.runningCommand === null) await Promise.resolve();
    const queued: Promise<unknown>[] = [];
    for (let i = 0; i < 99; i++) {
      queued.push(
        rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: i / 100, speedMps: 0.2 }).catch((e) => e),
      );
    }
    queued.push(rvr.driveTankNormalized({ left: 10, right: 10 }).catch((e) => e));
    if (queue.depth !== 100) throw new Error(`expected 100 queued, got ${queue.depth}`);
    let first: Uint8Array | undefined;
    probe.onWrite = (bytes) => {
      if (first !== undefined) return;
      b.end();
      first = bytes;
    };
    b.start();
    const stopped = rvr.emergencyStop("api");
    probe.onWrite = undefined;
    const packets = stopDecoder.push(first ?? new Uint8Array());
    if (packets.length !== 1 || packets[0].did !== 0x16 || packets[0].cid !== 0x42) {
      throw new Error("the first bytes written after emergencyStop() were not drive_stop");
    }
    const result = await stopped;
    if (!result.sent || result.cancelledQueued !== 100) {
      throw new Error(`e-stop sent=${result.sent}, cancelled ${result.cancelledQueued}`);
    }
    await Promise.all(queued);
    await inFlight;
    sim.faults.replyDelayMs = 0;
  },
});

Deno.bench({
  name: "emergencyStop() returns (write + cancel 100 queued + latch)",
  group: "estop-sync",
  n: 500,
  warmup: 50,
  async fn(b) {
    const { rvr, queue, sim } = stack;
    rvr.clearEmergencyStop();
    sim.faults.replyDelayMs = 1;
    const inFlight = rvr.command("get_battery_percentage", {});
    while (queue.stats.runningCommand === null) await Promise.resolve();
    const queued: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      queued.push(
        rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: i / 100, speedMps: 0.2 }).catch((e) => e),
      );
    }
    b.start();
    const stopped = rvr.emergencyStop("api");
    b.end();
    await stopped;
    await Promise.all(queued);
    await inFlight;
    sim.faults.replyDelayMs = 0;
  },
});

Deno.bench({
  name: "link.request echo (bare link + simulator)",
  group: "command",
  baseline: true,
  async fn() {
    await stack.link.request("echo", { data: [] }, { target: 1 });
  },
});

Deno.bench({
  name: "rvr.command echo (queue + breaker + metrics + link + simulator)",
  group: "command",
  async fn() {
    stack.rvr.clearEmergencyStop();
    await stack.rvr.command("echo", { data: [] }, { target: 1 });
  },
});

Deno.bench({
  name: "link.request drive_tank_normalized (bare link, fire-and-forget)",
  group: "movement",
  baseline: true,
  async fn() {
    await stack.link.request("drive_tank_normalized", { left_velocity: 10, right_velocity: 10 });
  },
});

Deno.bench({
  name: "rvr.driveTankNormalized (safety + limit + queue + breaker + link)",
  group: "movement",
  async fn() {
    stack.rvr.clearEmergencyStop();
    await stack.rvr.driveTankNormalized({ left: 10, right: 10 });
  },
});

calibrate("end"); // bench/gate.ts's yardstick again, after the benches
