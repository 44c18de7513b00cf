/**
 * `stop` always stops: a custom deceleration is bounded to what brings the robot to rest within
 * MAX_STOP_TIME_S from top speed, and until the robot reports that it stopped, follow-up
 * drive_stops go out (the StopGuard). Over the simulator, fake timers.
 */
import assert from "node:assert/strict";
import {
  MAX_STOP_DECELERATION_MPS2,
  MAX_STOP_TIME_S,
  MIN_STOP_DECELERATION_MPS2,
  STOP_CONFIRM_MS,
  TOP_SPEED_MPS,
} from "../../src/robot/mod.ts";
import { StopGuard } from "../../src/robot/safety/stop_guard.ts";
import { makeRig, type Rig } from "./_harness.ts";
import { type FakeClock, fakeClock } from "../_helpers/mod.ts";

async function withRig(fn: (rig: Rig, clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = fakeClock();
  const rig = makeRig({ commandTimeoutS: 0, speedLimitPercent: 100 });
  try {
    const report = await rig.rvr.ready();
    assert.ok(report.ok, report.failures.join("; "));
    await fn(rig, clock);
  } finally {
    try {
      await rig.close();
    } finally {
      clock.uninstall();
    }
  }
}

/** Full speed ahead until the treads reach top speed. */
async function driveAtTopSpeed(rig: Rig, clock: FakeClock): Promise<void> {
  await rig.rvr.driveTankSi({ leftMps: TOP_SPEED_MPS, rightMps: TOP_SPEED_MPS });
  await clock.tickAsync(1000);
  const { left, right } = rig.sim.body.treadSpeedMps;
  assert.ok(left > TOP_SPEED_MPS - 0.01 && right > TOP_SPEED_MPS - 0.01, `${left}, ${right}`);
}

Deno.test("the stated stop time follows from the bounds", () => {
  assert.equal(MIN_STOP_DECELERATION_MPS2, 1);
  assert.equal(MAX_STOP_TIME_S, 1.6);
  assert.ok(TOP_SPEED_MPS / MIN_STOP_DECELERATION_MPS2 <= MAX_STOP_TIME_S);
  assert.ok(STOP_CONFIRM_MS > MAX_STOP_TIME_S * 1000);
});

Deno.test("stop refuses a deceleration outside the bounds, naming the value and the range", async () => {
  await withRig(async (rig) => {
    for (const bad of [0.001, 0.99, MAX_STOP_DECELERATION_MPS2 + 0.5, NaN, Infinity, -2]) {
      await assert.rejects(rig.rvr.stop({ decelerationMps2: bad }), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.ok(e.message.includes(`got ${bad}`), e.message);
        assert.match(e.message, /from 1 to 20 \(m\/s\^2\)/);
        return true;
      });
    }
    assert.equal(rig.wire.received("drive_stop_custom_decel").length, 0);
  });
});

Deno.test("the slowest accepted stop brings the robot to rest within the stated time; no follow-up", async () => {
  await withRig(async (rig, clock) => {
    await driveAtTopSpeed(rig, clock);
    await rig.rvr.stop({ decelerationMps2: MIN_STOP_DECELERATION_MPS2 });
    await clock.tickAsync(MAX_STOP_TIME_S * 1000);
    assert.ok(rig.sim.body.isStopped, JSON.stringify(rig.sim.body.treadSpeedMps));
    assert.equal(rig.wire.sent("robot_has_stopped_notify").length, 1);
    await clock.tickAsync(STOP_CONFIRM_MS * 3);
    assert.equal(rig.wire.received("drive_stop").length, 0, "confirmed: no follow-up");
  });
});

Deno.test("a stop the robot never confirms gets follow-up drive_stops until it does", async (t) => {
  await t.step("the robot misses the stop, then hears a follow-up", async () => {
    await withRig(async (rig, clock) => {
      await driveAtTopSpeed(rig, clock);
      // The robot does not hear the stop (a lost packet) and sends nothing: no confirmation.
      rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn;
      await rig.rvr.stop({ decelerationMps2: 3 });
      await clock.tickAsync(STOP_CONFIRM_MS - 10);
      assert.equal(rig.wire.received("drive_stop").length, 0);
      await clock.tickAsync(20);
      assert.equal(rig.wire.received("drive_stop").length, 1, "the first follow-up");
      rig.sim.faults.silentAfterPackets = null; // it hears again
      await clock.tickAsync(STOP_CONFIRM_MS);
      assert.equal(rig.wire.received("drive_stop").length, 2, "the second follow-up is heard");
      await clock.tickAsync(MAX_STOP_TIME_S * 1000);
      assert.ok(rig.sim.body.isStopped, JSON.stringify(rig.sim.body.treadSpeedMps));
      await clock.tickAsync(STOP_CONFIRM_MS * 5);
      assert.equal(rig.wire.received("drive_stop").length, 2, "confirmed: no more");
      const followUps = rig.safetyEvents.filter((e) => e.type === "auto_stop" && e.data?.followUp);
      assert.deepEqual(followUps.map((e) => e.data?.followUp), [1, 2]);
      assert.match(followUps[0].detail, /did not report that it stopped/);
    });
  });
  await t.step("a robot that never answers gets three follow-ups, then a report", async () => {
    await withRig(async (rig, clock) => {
      await driveAtTopSpeed(rig, clock);
      rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn;
      await rig.rvr.stop({ decelerationMps2: 3 });
      await clock.tickAsync(STOP_CONFIRM_MS * 10);
      assert.equal(rig.wire.received("drive_stop").length, 3);
    });
  });
});

Deno.test("movement after a stop takes over: no follow-up", async () => {
  await withRig(async (rig, clock) => {
    await driveAtTopSpeed(rig, clock);
    await rig.rvr.stop({ decelerationMps2: 1 });
    rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn;
    await rig.rvr.driveWithHeading({ speed: 40, headingDeg: 0 }, { requestsResponse: false });
    await clock.tickAsync(STOP_CONFIRM_MS * 4);
    assert.equal(rig.wire.received("drive_stop").length, 0);
  });
});

Deno.test("StopGuard: confirm ends the wait; bad options are refused", async () => {
  const clock = fakeClock();
  try {
    const sent: number[] = [];
    const guard = new StopGuard({
      confirmMs: 100,
      maxFollowUps: 1,
      followUp: (n) => {
        sent.push(n);
        return Promise.resolve();
      },
      onUnconfirmed: (n) => sent.push(-n),
    });
    guard.arm();
    assert.equal(guard.pending, true);
    await clock.tickAsync(50);
    assert.equal(guard.confirm(), true);
    await clock.tickAsync(500);
    assert.deepEqual(sent, []);
    guard.arm();
    await clock.tickAsync(250);
    assert.deepEqual(sent, [1, -1]);
    assert.equal(guard.pending, false);
    guard.dispose();
    guard.arm();
    assert.equal(guard.pending, false, "disposed: arms nothing");
    assert.throws(
      () => new StopGuard({ confirmMs: 0, followUp: () => Promise.resolve(), onUnconfirmed() {} }),
      /confirmMs must be a number of ms > 0, got 0/,
    );
  } finally {
    clock.uninstall();
  }
});
