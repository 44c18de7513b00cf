/**
 * The runtime while it connects, over the simulator with fake timers: robot calls wait for a
 * connect in progress (and get its link or its own error), fail at once when nothing connects,
 * the e-stop never waits; back-to-back connects join or replace cleanly, leaving the breaker
 * closed and every safety notification on the live link; the breaker does not count requests cut
 * short by a link the program closed itself.
 */
import assert from "node:assert/strict";
import { LinkClosedError, ResponseTimeoutError, RobotError } from "../../src/link/mod.ts";
import {
  NotConnectedError,
  RobotNotRespondingError,
  SAFETY_NOTIFY_COMMANDS,
} from "../../src/robot/mod.ts";
import { isLinkFailure, Runtime } from "../../src/robot/runtime.ts";
import type { SimOptions } from "../../src/sim/mod.ts";
import { makeRig } from "./_harness.ts";
import {
  type FakeClock,
  fakeClock,
  type KeepAliveSimOpener,
  keepAliveSimOpener,
  settleErrorWith,
  settleWith,
  testSettings,
  type WireTap,
} from "../_helpers/mod.ts";

const SETTINGS = testSettings();

/** A robot that sleeps and needs 800 ms to wake: a connect takes that long. */
const SLOW_ROBOT: SimOptions = { asleep: true, faults: { wakeLatencyMs: 800 } };

async function withRuntime(
  sim: SimOptions,
  fn: (rt: Runtime, sims: KeepAliveSimOpener, clock: FakeClock) => Promise<void>,
): Promise<void> {
  const clock = fakeClock();
  const sims = keepAliveSimOpener(sim, "connect");
  const rt = new Runtime(SETTINGS, sims.open);
  try {
    await fn(rt, sims, clock);
  } finally {
    try {
      await settleWith(clock, rt.close("sigterm"));
      if (sims.wires.length > 0) await sims.sim.stop();
    } finally {
      clock.uninstall();
    }
  }
}

/**
 * Each safety notification was switched on exactly once on `wire`, and the robot acknowledged that
 * request (its sequence number; a late reply to a closed link's request may share the wire).
 */
function assertSafetyNotificationsOn(wire: WireTap): void {
  for (const name of SAFETY_NOTIFY_COMMANDS) {
    const requests = wire.received(name);
    assert.equal(requests.length, 1, `${name} sent once on the live link`);
    const seqs = wire.sent(name).map((e) => e.packet.seq);
    assert.ok(seqs.includes(requests[0].packet.seq), `${name} acknowledged on the live link`);
  }
}

Deno.test("isLinkFailure: a link the program closed is not the robot's failure", () => {
  assert.equal(isLinkFailure(new LinkClosedError("/dev/pts/0")), false);
  assert.equal(isLinkFailure(new LinkClosedError("/dev/pts/0", new Error("hangup"))), true);
  assert.equal(isLinkFailure(new ResponseTimeoutError("echo", 200, 1, 3)), true);
  assert.equal(isLinkFailure(new RobotError("echo", 0x07, 1)), false);
});

Deno.test("a call during the auto-connect waits for it and runs", async () => {
  await withRuntime(SLOW_ROBOT, async (rt, sims, clock) => {
    rt.connection.startAutoConnect();
    await clock.tickAsync(0);
    assert.equal(rt.connection.status, "connecting");
    const reply = await settleWith(clock, rt.rvr.command("get_battery_percentage", {}));
    assert.equal(reply.percentage, sims.sim.battery.percentage);
    assert.ok(clock.now >= 800, `answered after the robot woke (${clock.now} ms)`);
    assert.equal(rt.connection.status, "connected");
  });
});

Deno.test("a call during an explicit connect waits for it; so does a stop", async () => {
  await withRuntime(SLOW_ROBOT, async (rt, sims, clock) => {
    const connecting = rt.connection.connect();
    const stop = rt.rvr.stop();
    const move = rt.rvr.driveWithHeading({ speed: 20, headingDeg: 0 });
    await settleWith(clock, connecting);
    assert.deepEqual(await settleWith(clock, stop), { command: "drive_stop" });
    assert.equal((await settleWith(clock, move)).superseded, false);
    const names = sims.wire.received().map((e) => e.name);
    assert.ok(names.indexOf("drive_stop") < names.indexOf("drive_with_heading"), names.join());
  });
});

Deno.test("a call while nothing connects fails at once, naming connect", async () => {
  await withRuntime({}, async (rt, _sims, clock) => {
    const failed = rt.rvr.command("get_battery_percentage", {}).then(
      () => assert.fail("not connected"),
      (e: unknown) => e,
    );
    await clock.tickAsync(0);
    const error = await failed;
    assert.ok(error instanceof NotConnectedError, String(error));
    assert.match(error.message, /state: disconnected.*Call connect/);
    assert.equal(rt.queue.stats.enqueued, 0);
    assert.equal(clock.now, 0, "no time passed");
  });
});

Deno.test("a waiting call gets the failed connect's own error, within the wake timeout", async () => {
  await withRuntime({ faults: { silentAfterPackets: 0 } }, async (rt, _sims, clock) => {
    rt.connection.startAutoConnect();
    const error = await settleErrorWith(clock, rt.rvr.command("get_battery_percentage", {}));
    assert.ok(error instanceof RobotNotRespondingError, String(error));
    assert.match(error.message, /No answer from an RVR on .* within 2000 ms/);
    assert.ok(clock.now <= SETTINGS.wakeTimeout * 1000 + 100, `${clock.now} ms`);
    assert.equal(rt.queue.stats.enqueued, 0);
  });
});

Deno.test("a waiting call ends with its own signal; the e-stop never waits", async () => {
  await withRuntime(SLOW_ROBOT, async (rt, _sims, clock) => {
    rt.connection.startAutoConnect();
    const controller = new AbortController();
    const waiting = rt.rvr.command("get_battery_percentage", {}, { signal: controller.signal });
    await clock.tickAsync(100);
    controller.abort(new DOMException("the client cancelled", "AbortError"));
    const error = await settleErrorWith(clock, waiting);
    assert.equal((error as DOMException).message, "the client cancelled");
    assert.ok(clock.now < 200, `${clock.now} ms`);
    // Still connecting: the e-stop latches and reports at once that nothing could be sent.
    assert.equal(rt.connection.status, "connecting");
    const before = clock.now;
    const estop = await rt.rvr.emergencyStop("api");
    assert.equal(estop.sent, false);
    assert.equal(clock.now, before);
    assert.equal(rt.state.safety.estopLatched, true);
  });
});

Deno.test("two connects at once: one attempt, one link, set-up complete, breaker closed", async () => {
  await withRuntime({ faults: { replyDelayMs: 30 } }, async (rt, sims, clock) => {
    const [a, b, c] = await settleWith(
      clock,
      Promise.all([rt.connection.connect(), rt.connection.connect(), rt.connection.connect()]),
    );
    assert.equal(a, b, "the second joined the first");
    assert.equal(b, c, "so did the third");
    assert.equal(sims.wires.length, 1, "one port opened");
    const report = await settleWith(clock, rt.rvr.ready());
    assert.ok(report.ok, report.failures.join("; "));
    assert.equal(rt.breaker.state.name, "closed");
    assertSafetyNotificationsOn(sims.wire);
  });
});

Deno.test("connect, then at once connect again (twice): the live link is fully set up, the breaker closed", async () => {
  // Replies take 30 ms: each link's safety set-up is still in flight when the next connect closes it.
  await withRuntime({ faults: { replyDelayMs: 30 } }, async (rt, sims, clock) => {
    for (let i = 0; i < 3; i++) await settleWith(clock, rt.connection.connect());
    assert.equal(sims.wires.length, 3);
    const first = sims.wires[0];
    assert.ok(
      first.received("enable_motor_stall_notify").length === 1 &&
        first.sent("enable_motor_stall_notify").length === 0,
      "the first link closed while its set-up was in flight",
    );
    const report = await settleWith(clock, rt.rvr.ready());
    assert.ok(report.ok, report.failures.join("; "));
    assertSafetyNotificationsOn(sims.wire);
    assert.equal(rt.breaker.state.name, "closed");
    assert.equal(rt.breaker.stats.failures, 0, "nothing counted against the robot");
    assert.equal(rt.connection.status, "connected");
    // And the robot answers as usual.
    const battery = await settleWith(clock, rt.rvr.command("get_battery_percentage", {}));
    assert.equal(typeof battery.percentage, "number");
  });
});

Deno.test("a safety set-up refused by an open circuit is retried until it is complete", async () => {
  const clock = fakeClock();
  const rig = makeRig({
    connect: false,
    commandTimeoutS: 0,
    breaker: { failureThreshold: 1, openMs: 1500 },
  });
  try {
    await rig.breaker.execute(() => Promise.reject(new Error("the robot stopped answering")))
      .catch((e: Error) => assert.equal(e.message, "the robot stopped answering"));
    assert.equal(rig.breaker.state.name, "open");
    rig.links.announce();
    const report = await rig.rvr.ready();
    assert.equal(report.ok, false);
    assert.ok(
      report.failures.some((f) => f.startsWith("enable_motor_stall_notify: ") && /open/.test(f)),
      report.failures.join("; "),
    );
    assert.equal(rig.wire.received("enable_motor_stall_notify").length, 0);
    await clock.tickAsync(20_000);
    assert.equal(rig.breaker.state.name, "closed");
    for (const name of SAFETY_NOTIFY_COMMANDS) {
      assert.ok(rig.wire.sent(name).length >= 1, `${name} switched on by a retry`);
    }
    const retries = rig.wire.received("get_battery_percentage").length;
    await clock.tickAsync(60_000);
    assert.equal(rig.wire.received("get_battery_percentage").length, retries, "retries stop");
  } finally {
    try {
      await rig.close();
    } finally {
      clock.uninstall();
    }
  }
});
