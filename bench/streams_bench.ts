/**
 * Sensor stream timings (real timers).
 *
 * - "decodeSlot": one ST token-1 notification of the 11-sensor layout (quaternion, imu,
 *   accelerometer, gyroscope at 32-bit: 52 data bytes) into values, as SensorStreams decodes it:
 *   protocol's decodeSlotData on the link's byte array (the name is kept so bench/budgets.json
 *   still matches).
 * - "ingest": 100 notifications (25 periods of the 4 slots of all 11 sensors) written on the
 *   robot's side of a MemoryPort pair until every one of their 275 readings reached an onReading
 *   listener: framing, RvrLink, SensorStreams (decode, cache, metrics, bus publish). At 30 Hz
 *   (the shortest period, 33 ms) the robot sends 120 such notifications per second.
 */
import { EventBus } from "../src/core/mod.ts";
import { CircuitBreaker, CommandQueue } from "../src/core/mod.ts";
import { MemoryPort, RvrLink } from "../src/link/mod.ts";
import {
  buildNotification,
  decodeSlotData,
  encodePacket,
  encodeSlotData,
  type NodeId,
} from "../src/protocol/mod.ts";
import {
  type LinkProvider,
  robotMetrics,
  type RobotTopics,
  Rvr,
  Safety,
  StateStore,
} from "../src/robot/mod.ts";
import { allocateSlots, SENSORS, SensorStreams } from "../src/robot/sensors/mod.ts";
import { SimulatedRvr } from "../src/sim/mod.ts";
import { calibrate } from "./_calibration.ts";

calibrate("start"); // bench/gate.ts's yardstick, before the benches (and again after them)

const slots = allocateSlots([...SENSORS]);
const st1 = slots.find((s) => s.node === 2 && s.token === 1);
if (st1 === undefined) throw new Error("no ST token 1 in the 11-sensor layout");
const st1Data = [
  ...encodeSlotData(st1.entries, {
    quaternion: { W: 0.7, X: 0.1, Y: -0.1, Z: 0.7 },
    imu: { Pitch: 1.5, Roll: -0.5, Yaw: 45 },
    accelerometer: { X: 0.01, Y: 0.02, Z: 0.99 },
    gyroscope: { X: 0.1, Y: -0.2, Z: 30 },
  }),
];

// Sub-microsecond: a long warm-up keeps deno bench timing batches of 10 000 calls, 300 of them
// (see bench/protocol_bench.ts), for a minimum bench/gate.ts can rely on.
Deno.bench({
  name: "decodeSlot: ST token 1, 4 services, 52 bytes",
  group: "decode",
  warmup: 50_000,
  n: 3_000_000,
}, () => {
  decodeSlotData(st1.entries, st1Data);
});

// ---- the ingest path over a real stack ---------------------------------------------------------

const [host, device] = MemoryPort.pair("streams-bench");
const sim = new SimulatedRvr(device, { inactivityTimeoutMs: 0 });
sim.start();
const link = new RvrLink(host, { defaultTimeoutMs: 1000 });
link.start();
const links: LinkProvider = {
  current: () => link,
  peek: () => link,
  awaitLink: () => Promise.resolve(link),
  onConnected: () => () => {},
  onDisconnected: () => () => {},
};
const bus = new EventBus<RobotTopics>();
const state = new StateStore();
const metrics = robotMetrics();
const safety = new Safety({ bus, state, metrics, commandTimeoutS: 0 });
const rvr = new Rvr({
  links,
  queue: new CommandQueue({ capacity: 100 }),
  breaker: new CircuitBreaker({ name: "bench" }),
  bus,
  state,
  safety,
  metrics,
});
const streams = new SensorStreams({
  links,
  rvr,
  bus,
  metrics,
  cacheTtlMs: 1000,
  defaultIntervalMs: 250,
});
// The longest period: the simulator itself stays quiet during the bench.
await streams.start([...SENSORS], { intervalMs: 65535 });
const burst: Uint8Array[] = [];
let readingsPerBurst = 0;
for (let period = 0; period < 25; period++) {
  for (const slot of slots) {
    const data = encodeSlotData(slot.entries, {});
    burst.push(encodePacket(
      buildNotification(
        "streaming_service_data_notify",
        { token: slot.token, sensor_data: [...data] },
        slot.node as NodeId,
      ),
    ));
    readingsPerBurst += slot.sensors.length;
  }
}
const bytes = new Uint8Array(burst.reduce((n, b) => n + b.length, 0));
burst.reduce((o, b) => (bytes.set(b, o), o + b.length), 0);
let received = 0;
let wake: (() => void) | undefined;
streams.onReading(() => {
  if (++received === readingsPerBurst) wake?.();
});

Deno.bench({
  name: "ingest: 100 notifications (275 readings) from the wire to a listener",
  group: "ingest",
}, async () => {
  received = 0;
  const done = new Promise<void>((resolve) => wake = resolve);
  await device.write(bytes);
  await done;
});

globalThis.addEventListener("unload", () => {
  streams.dispose();
  void link.close().then(() => sim.stop());
});

calibrate("end"); // bench/gate.ts's yardstick again, after the benches
