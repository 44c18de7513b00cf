/**
 * The composed runtime over the simulator: metrics fed from every layer, the circuit breaker
 * opened by timeouts and closed by its echo probe, e-stop on the wire while open, and drive_stop
 * before the link of a silent robot closes. Fake timers throughout.
 */
import assert from "node:assert/strict";
import { CircuitOpenError } from "../../src/core/mod.ts";
import { Runtime, shutdownReasonFor } from "../../src/robot/runtime.ts";
import {
  type FakeClock,
  fakeClock,
  keepAliveSimOpener,
  sampleValue,
  settleWith,
  testSettings,
  WireTap,
} from "../_helpers/mod.ts";

const SETTINGS = testSettings();

const simOpener = () => keepAliveSimOpener({}, "rt");

/** The robot's last packets on `wire` were drive_stop, then only the IR follow/evade stops. */
function assertStoppedLast(wire: WireTap): void {
  const names = wire.received().map((e) => e.name);
  const stop = names.lastIndexOf("drive_stop");
  assert.ok(stop >= 0, `drive_stop on the wire; got ${names.join(", ")}`);
  assert.deepEqual(names.slice(stop + 1), [
    "stop_robot_to_robot_infrared_following",
    "stop_robot_to_robot_infrared_evading",
  ]);
}

Deno.test("shutdown reasons map onto the safety layer's", () => {
  assert.equal(shutdownReasonFor("sigterm"), "sigterm");
  assert.equal(shutdownReasonFor("robot silent: 2 heartbeat echoes unanswered"), "link_loss");
  assert.equal(shutdownReasonFor("link closed: hangup"), "link_loss");
  assert.equal(shutdownReasonFor("reconnect requested"), "disconnect");
});

Deno.test("runtime: metrics from every layer after a drive", async () => {
  const clock = fakeClock();
  const sims = simOpener();
  const rt = new Runtime(SETTINGS, sims.open);
  let stateChanges = 0;
  rt.state.addListener(() => stateChanges++);
  try {
    await settleWith(clock, rt.connection.connect());
    const move = await settleWith(clock, rt.rvr.driveWithHeading({ speed: 200, headingDeg: 0 }));
    assert.equal(move.limited, true);
    await settleWith(clock, rt.rvr.command("get_battery_percentage", {}));
    await clock.tickAsync(500);
    const text = await rt.metrics.text();
    const value = (name: string, labels?: Record<string, string>) =>
      sampleValue(text, name, labels) ?? NaN;
    assert.ok(value("rvr_link_bytes_total", { direction: "out" }) > 0);
    assert.ok(value("rvr_link_frames_total", { direction: "in" }) > 0);
    assert.equal(value("rvr_connection_state", { state: "connected" }), 1);
    // One read by the safety set-up at connect, one by this test.
    assert.equal(
      value("rvr_commands_total", { command: "get_battery_percentage", outcome: "ok" }),
      2,
    );
    // The same two reads, each one link request timed once.
    assert.equal(value("rvr_link_request_seconds_count", { command: "get_battery_percentage" }), 2);
    assert.equal(
      value("rvr_safety_limited_commands_total", { command: "drive_with_heading" }),
      1,
    );
    assert.ok(value("rvr_queue_wait_seconds_count", { priority: "normal" }) >= 2);
    assert.equal(value("rvr_breaker_state"), 0);
    assert.equal(value("rvr_power_state", { state: "awake" }), 1);
    // connecting, connected, power awake, battery ...: each change on the bus once.
    assert.ok(stateChanges >= 3, `${stateChanges} state changes`);
    assert.equal(
      value("rvr_bus_published_total", { topic: "robot.state" }),
      stateChanges,
    );
  } finally {
    await settleWith(clock, rt.close("sigterm"));
    await sims.sim.stop();
    clock.uninstall();
  }
  assertStoppedLast(sims.wires[0]);
});

Deno.test("runtime: one robot.state event per state change", async () => {
  const clock = fakeClock();
  const sims = simOpener();
  const rt = new Runtime(SETTINGS, sims.open);
  try {
    await settleWith(clock, rt.connection.connect());
    await settleWith(clock, rt.rvr.ready());
    const events: string[] = [];
    rt.bus.subscribe("robot.state", (e) => {
      events.push(`${e.payload.aspect}`);
    });
    assert.equal(rt.state.setPower("asleep", { reason: "test" }), true);
    await clock.tickAsync(0);
    assert.deepEqual(events, ["power"]);
    await settleWith(clock, rt.rvr.emergencyStop("api"));
    await clock.tickAsync(0);
    assert.deepEqual(events, ["power", "safety"]);
  } finally {
    await settleWith(clock, rt.close("sigterm"));
    await sims.sim.stop();
    clock.uninstall();
  }
});

/** A runtime on fake time and a keep-alive simulator, connected, closed after `fn`. */
async function withConnectedRuntime(
  fn: (rig: { clock: FakeClock; sims: ReturnType<typeof simOpener>; rt: Runtime }) => Promise<void>,
): Promise<void> {
  const clock = fakeClock();
  const sims = simOpener();
  const rt = new Runtime(SETTINGS, sims.open);
  try {
    await settleWith(clock, rt.connection.connect());
    await fn({ clock, sims, rt });
  } finally {
    await settleWith(clock, rt.close("sigterm"));
    await sims.sim.stop();
    clock.uninstall();
  }
}

Deno.test("runtime: one deadline per request: a command that waited gets the rest of its budget as its reply timeout", () =>
  withConnectedRuntime(async ({ clock, sims, rt }) => {
    sims.sim.faults.silentAfterPackets = sims.sim.stats.packetsIn; // the robot stops answering
    const t0 = Date.now();
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail("a silent robot cannot answer"),
        (e: Error) => ({ error: e as Error & { timeoutMs?: number }, at: Date.now() - t0 }),
      );
    // Configuration runs alone: the second waits for the first to time out.
    const first = outcome(
      rt.rvr.command("reset_yaw", {}, { timeoutMs: 300, requestsResponse: true }),
    );
    const second = outcome(
      rt.rvr.command("reset_yaw", {}, { timeoutMs: 500, requestsResponse: true }),
    );
    await clock.tickAsync(1000);
    const a = await first;
    const b = await second;
    assert.equal(a.error.name, "ResponseTimeoutError");
    assert.equal(a.at, 300);
    assert.equal(b.error.name, "ResponseTimeoutError", "the link's deadline; the queue had none");
    assert.equal(b.at, 500, "within its own budget of 500 ms, though it waited 300 of it");
    assert.equal(b.error.timeoutMs, 200, "its reply timeout is what was left");
  }));

Deno.test("runtime: timeouts open the breaker, e-stop still reaches the wire, the echo probe closes it", () =>
  withConnectedRuntime(async ({ clock, sims, rt }) => {
    sims.sim.faults.silentAfterPackets = sims.sim.stats.packetsIn; // the robot stops answering
    for (let i = 0; i < SETTINGS.circuitBreakerFailureThreshold; i++) {
      await settleWith(clock, rt.rvr.command("get_battery_percentage", {})).then(
        () => assert.fail("a silent robot cannot answer"),
        (e: Error) => assert.equal(e.name, "ResponseTimeoutError"),
      );
    }
    assert.equal(rt.breaker.state.name, "open");
    const refused = await settleWith(clock, rt.rvr.command("get_battery_percentage", {})).then(
      () => assert.fail("the circuit is open"),
      (e) => e,
    );
    assert.ok(refused instanceof CircuitOpenError);
    assert.ok(refused.retryInMs > 0 && refused.retryInMs <= 10_000);
    const wire = sims.wires[0];
    const before = wire.received("drive_stop").length;
    const stop = await settleWith(clock, rt.rvr.emergencyStop("tool"));
    assert.equal(stop.sent, true);
    assert.equal(
      wire.received("drive_stop").length,
      before + 1,
      "drive_stop on the wire while open",
    );
    rt.rvr.clearEmergencyStop();
    // The robot answers again; after the open period one echo probe closes the circuit.
    sims.sim.faults.silentAfterPackets = null;
    await clock.tickAsync(10_000);
    await settleWith(
      clock,
      new Promise<void>((resolve) => {
        const check = () => rt.breaker.state.name === "closed" ? resolve() : setTimeout(check, 10);
        check();
      }),
    );
    const battery = await settleWith(clock, rt.rvr.command("get_battery_percentage", {}));
    assert.equal(typeof (battery as { percentage: number }).percentage, "number");
    const text = await rt.metrics.text();
    assert.match(text, /^rvr_breaker_transitions_total\{to="open"\} 1$/m);
    assert.match(text, /^rvr_breaker_transitions_total\{to="closed"\} 1$/m);
    assert.match(text, /^rvr_breaker_rejections_total 1$/m);
  }));

Deno.test("runtime: a robot that goes silent gets drive_stop before its link closes, then is found again", async () => {
  const clock = fakeClock();
  const sims = simOpener();
  const rt = new Runtime({ ...SETTINGS, heartbeatMs: 500 }, sims.open);
  try {
    await settleWith(clock, rt.connection.connect());
    await settleWith(clock, rt.rvr.driveWithHeading({ speed: 60, headingDeg: 0 }));
    sims.sim.faults.silentAfterPackets = sims.sim.stats.packetsIn;
    const again = new Promise<void>((resolve) => {
      const off = rt.connection.onConnected(() => {
        off();
        resolve();
      });
    });
    // Let the heartbeat notice, then let the robot answer again so the reconnect succeeds.
    await settleWith(
      clock,
      new Promise<void>((resolve) => {
        const off = rt.connection.onDisconnected(() => {
          off();
          sims.sim.faults.silentAfterPackets = null;
          resolve();
        });
      }),
    );
    await settleWith(clock, again);
    assertStoppedLast(sims.wires[0]);
    assert.equal(rt.connection.status, "connected");
    assert.match(await rt.metrics.text(), /^rvr_safety_auto_stops_total\{reason="link_loss"\} 1$/m);
  } finally {
    await settleWith(clock, rt.close("sigterm"));
    await sims.sim.stop();
    clock.uninstall();
  }
});
