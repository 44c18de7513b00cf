/**
 * Runtime-core hot paths. Budgets (on the 2-core CI box):
 * - queue throughput, instant executor:            >= 100 000 commands/s (<= 10 ms per 1000);
 *   the queue's own share is "queue: 1000 commands, no timeout", the rest Deno's timers
 * - queue + circuit breaker overhead per command:   < 20 us over calling the executor directly
 *   (compare "queue+breaker: 1000 commands" with "direct: 1000 executor calls", divide by 1000)
 * - emergency path, call to executor start, with 100 commands queued and one in flight:
 *   p99 < 1 ms
 *
 * Run: deno bench --allow-all bench/core_bench.ts
 */
import { CircuitBreaker, type Command, CommandQueue, EventBus } from "../src/core/mod.ts";
import { calibrate } from "./_calibration.ts";

calibrate("start"); // bench/gate.ts's yardstick, before the benches (and again after them)

const BATCH = 1000;
const instant = (cmd: Command): Promise<string> => Promise.resolve(cmd.name);
const QUERY: Command = { name: "get_battery_percentage", kind: "query" };
const DRIVE: Command = { name: "drive_with_heading", kind: "movement" };
const ESTOP: Command = { name: "estop", kind: "safety" };
/** What the e-stop does to queued commands, as the robot layer says it: movement is cancelled. */
class Cancelled extends Error {}
const cancelMovement = (cmd: Command) =>
  cmd.kind === "movement" ? new Cancelled(cmd.name) : undefined;

// 1000 commands without the per-command timeout: what the queue's own code costs. With the
// default 5 s timeout, Deno's setTimeout + clearTimeout of every command is most of the bench
// below (about 1.4 of 1.8 ms per 1000 on the 2-core machine) and noisy from run to run, which
// would hide a 2x slowdown of the queue itself; this one shows it. It runs first: after the
// timer-heavy benches its minimum varied 1.6x between runs, before them it holds within 2 %.
Deno.bench("queue: 1000 commands, no timeout (the queue's own work)", {
  group: "throughput",
}, async () => {
  const queue = new CommandQueue({ capacity: BATCH, defaultTimeoutMs: Infinity });
  const all: Promise<unknown>[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) all[i] = queue.enqueue(QUERY, instant);
  await Promise.all(all);
});

Deno.bench("queue: 1000 commands, instant executor (throughput)", {
  group: "throughput",
  baseline: true,
}, async () => {
  const queue = new CommandQueue({ capacity: BATCH });
  const all: Promise<unknown>[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) all[i] = queue.enqueue(QUERY, instant);
  await Promise.all(all);
});

Deno.bench("queue: one command awaited (latency)", { group: "throughput" }, async () => {
  await oneQueue.enqueue(QUERY, instant);
});
const oneQueue = new CommandQueue();

Deno.bench("direct: 1000 executor calls", { group: "overhead", baseline: true }, async () => {
  const all: Promise<unknown>[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) all[i] = instant(QUERY);
  await Promise.all(all);
});

Deno.bench("queue+breaker: 1000 commands", { group: "overhead" }, async () => {
  const queue = new CommandQueue({ capacity: BATCH });
  const all: Promise<unknown>[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) all[i] = breaker.execute(() => queue.enqueue(QUERY, instant));
  await Promise.all(all);
});
const breaker = new CircuitBreaker({ name: "bench" });

Deno.bench(
  "emergency: call -> executor start, 100 queued + 1 in flight",
  { group: "emergency", n: 3000, warmup: 100 },
  async (b) => {
    const queue = new CommandQueue({ capacity: 100 });
    const inFlight = Promise.withResolvers<string>();
    const all: Promise<unknown>[] = [queue.enqueue(QUERY, () => inFlight.promise)];
    await Promise.resolve(); // let it start: it now awaits its "reply"
    await Promise.resolve();
    for (let i = 0; i < 100; i++) all.push(queue.enqueue(i % 2 === 0 ? DRIVE : QUERY, instant));
    if (queue.stats.running !== 1 || queue.depth !== 100) throw new Error("bench: bad setup");
    b.start();
    const estop = queue.emergency(ESTOP, () => {
      b.end();
      return Promise.resolve("stopped");
    }, { cancel: cancelMovement });
    await estop;
    inFlight.resolve("done");
    queue.close("bench iteration over");
    const results = await Promise.allSettled(all);
    const cancelled =
      results.filter((r) => r.status === "rejected" && r.reason instanceof Cancelled).length;
    if (cancelled !== 50) throw new Error(`bench: ${cancelled} of 50 queued drives cancelled`);
  },
);

interface Topics {
  sample: { n: number };
}
const bus = new EventBus<Topics>({ bufferSize: 2048 });
let received = 0;
bus.subscribe("sample", () => {
  received++;
});
bus.subscribe("sample", () => {
  received++;
});

Deno.bench("bus: publish 1000 to 2 subscribers and deliver", { group: "bus" }, async () => {
  const before = received;
  for (let n = 0; n < BATCH; n++) bus.publish("sample", { n });
  while (received - before < 2 * BATCH) await Promise.resolve();
});

calibrate("end"); // bench/gate.ts's yardstick again, after the benches
