/**
 * The simulator's opt-in UART pace (src/sim/line_rate.ts), on fake time: at 10 000 baud a byte
 * takes exactly 1 ms (10 bits), so a request of n bytes reaches the robot n ms after it was
 * written and its reply of m bytes reaches the host m ms after that; two requests written at once
 * queue on the line. Without the option the simulator answers at memory speed (the other sim
 * tests). Bad rates are refused naming the value.
 */
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { encodeRequest } from "../../src/protocol/mod.ts";
import { checkLineBaud, LineRatePort, lineTimeMs, SimulatedRvr } from "../../src/sim/mod.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { simOptionsFromFlags } from "../../main.ts";
import { ConfigError } from "../../src/config.ts";
import { fakeClock } from "../_helpers/mod.ts";
import { rig } from "./_client.ts";

const BAUD = 10_000; // 1 ms per byte
const STEP_MS = 0.25;

/** A real event-loop turn (near deliveries are waited for by turns, not fake timers). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

Deno.test("lineTimeMs: 10 bits per byte (8N1)", () => {
  assert.equal(lineTimeMs(10, 10_000), 10);
  assert.ok(Math.abs(lineTimeMs(10, 115_200) - 0.868) < 0.001);
});

Deno.test("line rate: a request reaches the robot, and its reply the host, after their bytes' line time", async () => {
  const r = rig({ lineBaud: BAUD, inactivityTimeoutMs: 0 });
  let now = 0;
  /** Advances fake time in small steps until `done()`; returns the fake time it held at. */
  const until = async (done: () => boolean, maxMs = 200) => {
    while (!done()) {
      if (now > maxMs) assert.fail(`nothing after ${maxMs} ms of fake time`);
      await r.clock.tickAsync(STEP_MS);
      now += STEP_MS;
      // Near deliveries wait for event-loop turns, not fake timers: let them run.
      await turn();
      await turn();
    }
    return now;
  };
  try {
    const request = encodeRequest("echo", { data: [1, 2, 3] }, { seq: 7, target: 1 });
    const n = request.length;
    await r.client.send(request);
    const atRobot = await until(() => r.sim.stats.packetsIn === 1);
    assert.ok(atRobot >= n && atRobot <= n + STEP_MS, `request of ${n} bytes at ${atRobot} ms`);
    assert.equal(r.client.responses().length, 0, "the reply is on its way back");
    const atHost = await until(() => r.client.responses().length === 1);
    const m = r.client.wire.length;
    assert.ok(m >= n, `the reply carries the echoed bytes (${m} bytes)`);
    assert.ok(
      atHost >= n + m && atHost <= n + m + STEP_MS,
      `reply of ${m} bytes at ${atHost} ms (request ${n} ms + reply ${m} ms)`,
    );
    assert.equal(r.client.responseTo(7).seq, 7);
  } finally {
    await r.close();
  }
});

Deno.test("line rate: chunks queue on the line, each direction on its own", async () => {
  using clock = fakeClock();
  const [host, device] = MemoryPort.pair("line");
  const line = new LineRatePort(device, { baud: BAUD });
  const arrived: [number, number][] = [];
  line.start({ onData: (c) => arrived.push([c.length, Date.now()]), onClose: () => {} });
  const hostGot: [number, number][] = [];
  host.start({ onData: (c) => hostGot.push([c.length, Date.now()]), onClose: () => {} });
  await host.write(new Uint8Array(2));
  await host.write(new Uint8Array(3));
  // The other direction is free: 1 byte takes 1 ms, however busy the way in is.
  let written = false;
  line.write(new Uint8Array(1)).then(() => written = true);
  for (let t = 0; t < 8 / STEP_MS; t++) {
    await clock.tickAsync(STEP_MS);
    await turn();
    await turn();
  }
  assert.equal(written, true);
  assert.equal(hostGot.length, 1);
  assert.ok(hostGot[0][1] >= 1 && hostGot[0][1] <= 1 + STEP_MS, `1 byte out at ${hostGot[0][1]}`);
  assert.deepEqual(arrived.map(([n]) => n), [2, 3], "in order");
  assert.ok(arrived[0][1] >= 2 && arrived[0][1] <= 2 + STEP_MS, `2 bytes in at ${arrived[0][1]}`);
  assert.ok(
    arrived[1][1] >= 5 && arrived[1][1] <= 5 + STEP_MS,
    `then 3 more, after the first: at ${arrived[1][1]} ms`,
  );
  await host.close();
  await line.close();
  await clock.tickAsync(0);
});

Deno.test("line rate: bad rates are refused naming the value and the way out", () => {
  assert.equal(checkLineBaud(115_200), 115_200);
  for (const bad of [0, 299, 115_200.5, 5_000_000]) {
    assert.throws(() => checkLineBaud(bad), new RegExp(`got ${bad}; a real RVR's UART runs at`));
  }
  const [, device] = MemoryPort.pair("bad");
  assert.throws(() => new SimulatedRvr(device, { lineBaud: 12 }), /300-4000000 baud.*got 12/);
  assert.deepEqual(simOptionsFromFlags({ "line-baud": "115200" }).lineBaud, 115_200);
  assert.equal(simOptionsFromFlags({}).lineBaud, undefined);
  assert.throws(
    () => simOptionsFromFlags({ "line-baud": "12" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /Invalid --line-baud=12: allowed is an integer 300-4000000, e\.g\. 115200/.test(e.message),
  );
});
