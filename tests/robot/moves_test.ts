/**
 * Moves against the simulated robot (fake timers): drives complete on the firmware's 0x3A with the
 * final pose, keep the user's frame, report progress, time out, stop on cancellation, yield to
 * stops and the e-stop; pivots turn the signed angle of any size, measured on the IMU.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_DISTANCE_SPEED_MPS,
  MoveCancelledError,
  MoveFailedError,
  type MoveOutcome,
  type MoveProgress,
  Moves,
  MoveSupersededError,
  MoveTimeoutError,
  PIVOT_TOLERANCE_DEG,
  wrap180,
  yawToHeading,
} from "../../src/robot/moves/mod.ts";
import {
  CancelledByEmergencyStopError,
  EmergencyStopActiveError,
  MotionStoppedError,
  TOP_SPEED_MPS,
} from "../../src/robot/mod.ts";
import { SensorStreams } from "../../src/robot/sensors/mod.ts";
import { TRACK_WIDTH_M } from "../../src/sim/body/mod.ts";
import { makeRig, type Rig, type RigOptions } from "./_harness.ts";
import {
  type FakeClock,
  fakeClock,
  paramsOf,
  settleErrorWith,
  settleWith,
  tickUntil,
  type WireEvent,
} from "../_helpers/mod.ts";

/**
 * Marks `p` as followed at once, so a rejection that comes before the test awaits it is not an
 * unhandled one; the test still awaits (and asserts) `p` itself.
 */
function follow<T>(p: Promise<T>): Promise<T> {
  p.catch((e: unknown) => e);
  return p;
}

interface Env {
  rig: Rig;
  clock: FakeClock;
  streams: SensorStreams;
  moves: Moves;
}

/** `userResets`: the resets the test itself makes through Moves (a move never makes any). */
async function withMoves(
  options: RigOptions,
  fn: (env: Env) => Promise<void>,
  userResets: { yaw: number; locator: number } = { yaw: 0, locator: 0 },
): Promise<void> {
  const clock = fakeClock();
  const rig = makeRig({ commandTimeoutS: 0, speedLimitPercent: 100, ...options });
  const streams = new SensorStreams({
    links: rig.links,
    rvr: rig.rvr,
    bus: rig.bus,
    metrics: rig.metrics,
    cacheTtlMs: 1000,
    defaultIntervalMs: 250,
  });
  const moves = new Moves({ rvr: rig.rvr, streams, links: rig.links });
  try {
    const report = await rig.rvr.ready();
    assert.ok(report.ok, report.failures.join("; "));
    await clock.tickAsync(0);
    rig.wire.clear();
    await fn({ rig, clock, streams, moves });
    assert.equal(
      rig.wire.received("reset_yaw").length,
      userResets.yaw,
      "no yaw reset but the user's: the frame is kept",
    );
    assert.equal(
      rig.wire.received("reset_locator_x_and_y").length,
      userResets.locator,
      "no locator reset but the user's",
    );
  } finally {
    try {
      moves.dispose();
      streams.dispose();
      await rig.close();
    } finally {
      clock.uninstall();
    }
  }
}

/** Names the robot received from index `from` on. */
function namesFrom(rig: Rig, from: number): string[] {
  return rig.wire.events.slice(from).filter((e) => e.dir === "in").map((e) => e.name);
}

/** Rotation of the body since `before` from the tread travel, degrees, + = left (CCW). */
function rotationDeg(rig: Rig, before: { left: number; right: number }): number {
  const t = rig.sim.body.treadTravelM;
  return ((t.right - before.right) - (t.left - before.left)) / TRACK_WIDTH_M * 180 / Math.PI;
}

function assertNear(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (+-${tol})`);
}

Deno.test("drive_to_position completes on 0x3A with the final pose, progress and the speed limit", async () => {
  await withMoves({ speedLimitPercent: 50 }, async ({ rig, clock, moves }) => {
    const progress: MoveProgress[] = [];
    const out = await settleWith(
      clock,
      moves.driveToPosition({ x_m: 0.4, y_m: 0.8, speed_mps: 1 }, {
        onProgress: (p) => progress.push(p),
      }),
    );
    const body = rig.sim.body.pose;
    assert.equal(out.success, true);
    assert.equal(out.move, "drive_to_position");
    assertNear(out.pose.x_m, 0.4, 0.025, "x");
    assertNear(out.pose.y_m, 0.8, 0.025, "y");
    assertNear(out.pose.x_m, body.x, 0.001, "x vs body");
    assertNear(out.pose.y_m, body.y, 0.001, "y vs body");
    assertNear(out.pose.yaw_deg, body.yawDeg, 0.1, "yaw vs body");
    // No final heading: it ends facing its direction of travel.
    const travel = Math.atan2(-0.4, 0.8) * 180 / Math.PI;
    assertNear(out.target?.yaw_deg ?? NaN, travel, 1e-3, "target yaw");
    assertNear(out.pose.yaw_deg, travel, 1.5, "final yaw");
    assertNear(out.pose.heading_deg, yawToHeading(out.pose.yaw_deg), 1e-9, "heading");
    // Speed limit: requested 1 m/s, applied 50 % of the top speed.
    assert.deepEqual(out.requested, { speed_mps: 1 });
    assertNear(out.applied.speed_mps, TOP_SPEED_MPS / 2, 1e-6, "applied speed");
    assert.equal(out.limited, true);
    assert.equal(out.speed_limit_percent, 50);
    const [cmd] = rig.wire.received("drive_to_position_si");
    const sent = paramsOf("drive_to_position_si", cmd);
    assertNear(sent.x, 0.4, 1e-6, "x sent");
    assertNear(sent.y, 0.8, 1e-6, "y sent");
    assertNear(sent.linear_speed, TOP_SPEED_MPS / 2, 1e-6, "speed sent");
    assert.equal(sent.flags, 0);
    // It completed on the firmware's result, which came after the command.
    const result = rig.wire.indexOf("out", "xy_position_drive_result_notify");
    assert.ok(result > rig.wire.events.indexOf(cmd));
    assert.equal(rig.wire.sent("xy_position_drive_result_notify").length, 1);
    assert.ok(out.duration_ms > 500 && out.duration_ms < out.timeout_ms, String(out.duration_ms));
    // Progress: several, strictly increasing, in metres of the straight line, ending at the total.
    assert.ok(progress.length >= 2, `${progress.length} progress reports`);
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i].progress > progress[i - 1].progress);
    }
    const total = Math.hypot(0.4, 0.8);
    for (const p of progress) assertNear(p.total, total, 1e-4, "total");
    assert.equal(progress.at(-1)?.progress, progress.at(-1)?.total);
    assert.match(progress[0].message, /drive_to_position: .* of 0\.89 m/);
  });
});

Deno.test("drive_to_position with a final heading: heading convention, 90 = right", async () => {
  await withMoves({}, async ({ rig, clock, moves }) => {
    const out = await settleWith(
      clock,
      moves.driveToPosition({ x_m: -0.3, y_m: 0.3, speed_mps: 0.4, final_heading_deg: 90 }),
    );
    assertNear(out.pose.yaw_deg, -90, 1.5, "yaw");
    assertNear(out.pose.heading_deg, 90, 1.5, "heading");
    assertNear(rig.sim.body.pose.yawDeg, -90, 1.5, "body yaw");
    const sent = paramsOf("drive_to_position_si", rig.wire.received("drive_to_position_si")[0]);
    assertNear(sent.yaw_angle, -90, 1e-6, "yaw sent");
  });
});

Deno.test("drive_forward/backward from a rotated, offset pose go along the heading; frame kept", async () => {
  await withMoves({}, async ({ rig, clock, moves }) => {
    // Get somewhere with a yaw that is neither 0 nor a right angle.
    await settleWith(clock, moves.pivot({ degrees: -35 }));
    await settleWith(clock, moves.driveToPosition({ x_m: -0.3, y_m: 0.45, speed_mps: 0.5 }));
    const start = await settleWith(clock, moves.pose());
    assert.ok(Math.abs(start.yaw_deg) > 10 && Math.hypot(start.x_m, start.y_m) > 0.3);
    const worldBefore = rig.sim.body.worldPose;
    const mark = rig.wire.events.length;
    const fwd = await settleWith(
      clock,
      moves.driveDistance({ distance_m: 0.5, direction: "forward" }),
    );
    const rad = start.yaw_deg * Math.PI / 180;
    assertNear(fwd.pose.x_m, start.x_m - 0.5 * Math.sin(rad), 0.025, "forward x");
    assertNear(fwd.pose.y_m, start.y_m + 0.5 * Math.cos(rad), 0.025, "forward y");
    assertNear(wrap180(fwd.pose.yaw_deg - start.yaw_deg), 0, 1.5, "forward keeps the yaw");
    const w = rig.sim.body.worldPose;
    assertNear(Math.hypot(w.x - worldBefore.x, w.y - worldBefore.y), 0.5, 0.025, "world distance");
    assert.deepEqual(fwd.requested, { speed_mps: DEFAULT_DISTANCE_SPEED_MPS });
    const sentFwd = paramsOf(
      "drive_to_position_si",
      rig.wire.received("drive_to_position_si").at(-1) as WireEvent,
    );
    assert.equal(sentFwd.flags, 0);
    assertNear(sentFwd.yaw_angle, start.yaw_deg, 1e-4, "yaw sent");
    const back = await settleWith(
      clock,
      moves.driveDistance({ distance_m: 0.5, direction: "backward", speed_mps: 0.3 }),
    );
    assert.equal(back.move, "drive_backward");
    assertNear(back.pose.x_m, start.x_m, 0.03, "back x");
    assertNear(back.pose.y_m, start.y_m, 0.03, "back y");
    assertNear(wrap180(back.pose.yaw_deg - start.yaw_deg), 0, 1.5, "backward still faces forward");
    const sentBack = paramsOf(
      "drive_to_position_si",
      rig.wire.received("drive_to_position_si").at(-1) as WireEvent,
    );
    assert.equal(sentBack.flags, 1, "force reverse");
    const names = namesFrom(rig, mark);
    assert.ok(!names.includes("reset_yaw") && !names.includes("reset_locator_x_and_y"));
    assert.ok(!names.includes("set_locator_flags"));
  });
});

Deno.test("pivot: signed, any size, measured on the IMU (90, -90, 270, 360)", async (t) => {
  await withMoves({}, async ({ rig, clock, moves }) => {
    const tol = PIVOT_TOLERANCE_DEG + 0.5;
    const turn = async (degrees: number, progress?: MoveProgress[]) => {
      const treads = rig.sim.body.treadTravelM;
      const yaw0 = rig.sim.body.pose.yawDeg;
      const mark = rig.wire.events.length;
      const out = await settleWith(
        clock,
        moves.pivot({ degrees }, { onProgress: progress && ((p) => progress.push(p)) }),
      );
      return { out, rotation: rotationDeg(rig, treads), yaw0, mark };
    };
    await t.step("90 turns right (clockwise): yaw -90", async () => {
      const { out, rotation, yaw0 } = await turn(90);
      assertNear(rotation, -90, tol, "body rotation");
      assertNear(out.turned_deg ?? NaN, 90, tol, "turned");
      assertNear(wrap180(out.pose.yaw_deg - yaw0), -90, tol, "yaw change");
      assertNear(out.pose.yaw_deg, rig.sim.body.pose.yawDeg, 0.1, "pose vs body");
    });
    await t.step("-90 turns left back", async () => {
      const { out, rotation } = await turn(-90);
      assertNear(rotation, 90, tol, "body rotation");
      assertNear(out.turned_deg ?? NaN, -90, tol, "turned");
    });
    const yawStart = rig.sim.body.pose.yawDeg;
    await t.step("270 is 270 to the right: faces where -90 would, turned 270", async () => {
      const progress: MoveProgress[] = [];
      const { out, rotation, mark } = await turn(270, progress);
      assertNear(rotation, -270, tol, "body rotation");
      assertNear(out.turned_deg ?? NaN, 270, tol, "turned");
      assertNear(wrap180(out.pose.yaw_deg - (yawStart + 90)), 0, tol, "same facing as -90");
      assert.ok(progress.length >= 5);
      for (let i = 1; i < progress.length; i++) {
        assert.ok(progress[i].progress > progress[i - 1].progress);
      }
      assert.equal(progress.at(-1)?.total, 270);
      // Every yaw target is < 180 degrees from the last one, stepping clockwise only, and the
      // last one is the goal; drive_stop ends it.
      const targets = rig.wire.events.slice(mark).filter((e) =>
        e.dir === "in" && e.name === "drive_with_yaw_si"
      ).map((e) => paramsOf("drive_with_yaw_si", e));
      assert.ok(targets.length >= 3);
      let unwrapped = yawStart;
      for (const p of targets) {
        assert.equal(p.linear_velocity, 0);
        const step = wrap180(p.yaw_angle - wrap180(unwrapped));
        assert.ok(step <= 0.001 && step > -180, `step ${step}`);
        unwrapped += step;
      }
      assertNear(unwrapped, yawStart - 270, 1e-3, "last target");
      const names = namesFrom(rig, mark);
      assert.ok(names.lastIndexOf("drive_stop") > names.lastIndexOf("drive_with_yaw_si"));
    });
    await t.step("360 is a full turn: same facing, turned 360", async () => {
      const { out, rotation, yaw0 } = await turn(360);
      assertNear(rotation, -360, tol, "body rotation");
      assertNear(out.turned_deg ?? NaN, 360, tol, "turned");
      assertNear(wrap180(out.pose.yaw_deg - yaw0), 0, tol, "same facing");
    });
    await t.step("-720 is two turns left", async () => {
      const { rotation } = await turn(-720);
      assertNear(rotation, 720, tol, "body rotation");
    });
  });
});

Deno.test("timeouts: a silent robot (drive) and a held robot (pivot) are stopped; clear errors", async (t) => {
  await t.step("drive_to_position: the result never comes", async () => {
    await withMoves({}, async ({ rig, clock, moves }) => {
      const p = follow(moves.driveToPosition({ x_m: 0, y_m: 0.6, speed_mps: 0.5 }));
      await tickUntil(clock, () => rig.wire.received("drive_to_position_si").length > 0, "sent");
      const mark = rig.wire.events.length;
      const sentAt = Date.now();
      rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn - 1; // silent from now on
      const e = await settleErrorWith(clock, p);
      assert.ok(e instanceof MoveTimeoutError, String(e));
      // 1.5 * 0.6 m / 0.5 m/s + 0 deg of turns + 3 s
      assert.equal(e.timeoutMs, 4800);
      assert.ok(Date.now() - sentAt >= 4800);
      assert.equal(e.move, "drive_to_position");
      assert.match(
        e.message,
        /^drive_to_position did not finish within 4\.8 s \(0\.60 m at 0\.50 m\/s to \(0\.00, 0\.60\) m, 0 deg of turns, \+3 s margin\); the robot was stopped at \(/,
      );
      assert.ok(namesFrom(rig, mark).includes("drive_stop"), "drive_stop on the wire");
    });
  });
  await t.step("pivot: something holds the robot against the turn", async () => {
    await withMoves({}, async ({ rig, clock, moves }) => {
      rig.sim.body.setExternalRotation({ x: 0, y: 0, z: 260 });
      const mark = rig.wire.events.length;
      const e = await settleErrorWith(clock, moves.pivot({ degrees: 90 }));
      rig.sim.body.setExternalRotation(null);
      assert.ok(e instanceof MoveTimeoutError, String(e));
      assert.equal(e.timeoutMs, 5000);
      assert.match(
        e.message,
        /^pivot did not finish within 5\.0 s \(90 deg requested, -?\d+\.\d deg measured/,
      );
      const names = namesFrom(rig, mark);
      assert.ok(names.lastIndexOf("drive_stop") > names.lastIndexOf("drive_with_yaw_si"));
      await clock.tickAsync(1000);
      assert.ok(rig.sim.body.isStopped);
    });
  });
});

Deno.test("cancellation: the signal stops the robot; a stop, a stall and the e-stop end the move", async (t) => {
  await t.step("options.signal (MCP cancel) -> drive_stop, MoveCancelledError", async () => {
    await withMoves({}, async ({ rig, clock, moves }) => {
      const ac = new AbortController();
      const p = follow(
        moves.driveToPosition({ x_m: 0, y_m: 2, speed_mps: 0.5 }, { signal: ac.signal }),
      );
      await tickUntil(clock, () => rig.sim.body.pose.y > 0.3, "moving");
      const mark = rig.wire.events.length;
      ac.abort(new Error("client cancelled"));
      const e = await settleErrorWith(clock, p);
      assert.ok(e instanceof MoveCancelledError, String(e));
      assert.match(
        e.message,
        /drive_to_position was cancelled by the caller \(client cancelled\); the robot was stopped at/,
      );
      assert.equal(namesFrom(rig, mark).filter((n) => n === "drive_stop").length, 1);
      await clock.tickAsync(1000);
      assert.ok(rig.sim.body.isStopped);
      assert.ok(rig.sim.body.pose.y < 1.2);
    });
  });
  await t.step("an already aborted signal sends no movement", async () => {
    await withMoves({}, async ({ rig, clock, moves }) => {
      const e = await settleErrorWith(
        clock,
        moves.pivot({ degrees: 45 }, { signal: AbortSignal.abort() }),
      );
      assert.ok(e instanceof MoveCancelledError, String(e));
      assert.equal(rig.wire.received("drive_with_yaw_si").length, 0);
      assert.equal(rig.wire.received("drive_stop").length, 0, "nothing was sent, nothing to stop");
    });
  });
  await t.step(
    "cancelled while its streams are being set up: nothing sent, streams handed back",
    async () => {
      await withMoves({}, async ({ rig, clock, streams, moves }) => {
        rig.sim.faults.replyDelayMs = 100;
        const ac = new AbortController();
        const p = follow(
          moves.driveDistance({ distance_m: 1, direction: "forward" }, { signal: ac.signal }),
        );
        await tickUntil(
          clock,
          () => rig.wire.received("clear_streaming_service").length > 0,
          "setting up",
        );
        ac.abort();
        const e = await settleErrorWith(clock, p);
        assert.ok(e instanceof MoveCancelledError, String(e));
        await clock.tickAsync(1500);
        assert.deepEqual(streams.status().sensors, []);
        assert.equal(rig.sim.isStreaming(2), false);
        assert.equal(rig.wire.received("drive_to_position_si").length, 0);
        assert.equal(rig.wire.received("drive_stop").length, 0);
      });
    },
  );
  await t.step("rvr.stop() during a move: MotionStoppedError, no second drive_stop", async () => {
    await withMoves({}, async ({ rig, clock, moves }) => {
      const p = follow(moves.pivot({ degrees: 720 }));
      await tickUntil(clock, () => rig.wire.received("drive_with_yaw_si").length > 2, "turning");
      const mark = rig.wire.events.length;
      await settleWith(clock, rig.rvr.stop());
      const e = await settleErrorWith(clock, p);
      assert.ok(e instanceof MotionStoppedError && e.reason === "stop", String(e));
      await clock.tickAsync(1000);
      const names = namesFrom(rig, mark);
      assert.equal(names.filter((n) => n === "drive_stop").length, 1);
      assert.ok(!names.includes("drive_with_yaw_si"), "the pivot stopped steering");
    });
  });
  await t.step("a stall during a drive (safety auto-stop) ends it", async () => {
    await withMoves({}, async ({ rig, clock, moves }) => {
      const p = follow(moves.driveToPosition({ x_m: 0, y_m: 1, speed_mps: 0.5 }));
      await tickUntil(clock, () => rig.sim.body.pose.y > 0.2, "moving");
      rig.sim.body.setTreadBlocked("left", true);
      rig.sim.body.setTreadBlocked("right", true);
      const e = await settleErrorWith(clock, p);
      assert.ok(e instanceof MotionStoppedError && e.reason === "stall", String(e));
    });
  });
  await t.step(
    "e-stop during a move: rejected, only the e-stop's drive_stop; refused while latched",
    async () => {
      await withMoves({}, async ({ rig, clock, moves }) => {
        const p = follow(moves.driveDistance({ distance_m: 1, direction: "forward" }));
        await tickUntil(clock, () => rig.sim.body.pose.y > 0.2, "moving");
        const mark = rig.wire.events.length;
        await settleWith(clock, rig.rvr.emergencyStop("api"));
        const e = await settleErrorWith(clock, p);
        assert.ok(e instanceof CancelledByEmergencyStopError, String(e));
        await clock.tickAsync(500);
        assert.equal(namesFrom(rig, mark).filter((n) => n === "drive_stop").length, 1);
        const refused = await settleErrorWith(
          clock,
          moves.driveToPosition({ x_m: 1, y_m: 1, speed_mps: 0.5 }),
        );
        assert.ok(refused instanceof EmergencyStopActiveError, String(refused));
        const refusedPivot = await settleErrorWith(clock, moves.pivot({ degrees: 90 }));
        assert.ok(refusedPivot instanceof EmergencyStopActiveError, String(refusedPivot));
        assert.equal(rig.wire.received("drive_to_position_si").length, 1);
        assert.equal(namesFrom(rig, mark).filter((n) => n === "drive_stop").length, 1);
        rig.rvr.clearEmergencyStop();
        const out = await settleWith(clock, moves.pivot({ degrees: 90 }));
        assert.equal(out.success, true);
      });
    },
  );
});

Deno.test("a newer move replaces a running one; the old drive's 0x3A is not taken for the new", async () => {
  await withMoves({}, async ({ rig, clock, moves }) => {
    const first = moves.driveToPosition({ x_m: 0, y_m: 2, speed_mps: 0.4 });
    const firstResult = first.then(() => undefined, (e: unknown) => e);
    await tickUntil(clock, () => rig.sim.body.pose.y > 0.3, "moving");
    const mark = rig.wire.events.length;
    const second = await settleWith(
      clock,
      moves.driveToPosition({ x_m: 0.5, y_m: 0.5, speed_mps: 0.4 }),
    );
    const e = await firstResult;
    assert.ok(e instanceof MoveSupersededError && e.by === "drive_to_position", String(e));
    assertNear(second.pose.x_m, 0.5, 0.025, "second x");
    assertNear(second.pose.y_m, 0.5, 0.025, "second y");
    const results = rig.wire.events.slice(mark).filter((x) =>
      x.dir === "out" && x.name === "xy_position_drive_result_notify"
    ).map((x) => x.packet.payload[0]);
    assert.deepEqual(results, [0, 1], "the first drive's failure, then the second's success");
    assert.ok(!namesFrom(rig, mark).includes("drive_stop"));
  });
});

Deno.test("another drive command taking over: MoveFailedError, and Moves sends no stop", async () => {
  await withMoves({}, async ({ rig, clock, moves }) => {
    const p = follow(moves.driveToPosition({ x_m: 0, y_m: 1.5, speed_mps: 0.4 }));
    await tickUntil(clock, () => rig.sim.body.pose.y > 0.2, "moving");
    const mark = rig.wire.events.length;
    await settleWith(clock, rig.rvr.driveWithHeading({ speed: 40, headingDeg: 90 }));
    const e = await settleErrorWith(clock, p);
    assert.ok(e instanceof MoveFailedError, String(e));
    assert.match(e.message, /position controller reported failure \(another drive command/);
    assert.ok(!namesFrom(rig, mark).includes("drive_stop"));
    await settleWith(clock, rig.rvr.stop());
  });
});

Deno.test("a tracked move holds the watchdog, which re-arms when the move ends", async () => {
  await withMoves({ commandTimeoutS: 1 }, async ({ rig, clock, moves }) => {
    // 1.5 m at 0.3 m/s takes ~5 s: far longer than the 1 s auto-stop, which must not end it.
    const outcome = await settleWith(
      clock,
      moves.driveToPosition({ x_m: 0, y_m: 1.5, speed_mps: 0.3 }),
    );
    assert.equal(outcome.success, true);
    assert.ok(Math.abs(outcome.pose.y_m - 1.5) < 0.05, `ended at y ${outcome.pose.y_m}`);
    assert.equal(rig.safety.watchdogArmed, true, "re-armed once the move ended");
    assert.equal(rig.safetyEvents.filter((e) => e.type === "auto_stop").length, 0);
    await clock.tickAsync(1100);
    assert.equal(rig.safetyEvents.filter((e) => e.type === "auto_stop").length, 1);
  });
});

Deno.test("bad arguments are refused at once, naming the value; nothing is sent", async () => {
  await withMoves({}, async ({ rig, clock, moves }) => {
    const cases: [() => Promise<MoveOutcome>, RegExp][] = [
      [() => moves.driveToPosition({ x_m: NaN, y_m: 0, speed_mps: 1 }), /x_m must be .* got NaN/],
      [() => moves.driveToPosition({ x_m: 0, y_m: 0, speed_mps: 0 }), /speed_mps must be > 0/],
      [() => moves.driveToPosition({ x_m: 0, y_m: 0, speed_mps: 3 }), /from 0 to 2, got 3/],
      [
        () => moves.driveToPosition({ x_m: 0, y_m: 0, speed_mps: 1, final_heading_deg: Infinity }),
        /final_heading_deg .* got Infinity/,
      ],
      [
        () => moves.driveDistance({ distance_m: -1, direction: "forward" }),
        /drive_forward distance_m .* got -1/,
      ],
      [
        () => moves.driveDistance({ distance_m: 0, direction: "backward" }),
        /drive_backward distance_m must be > 0/,
      ],
      [
        () => moves.driveDistance({ distance_m: 1, direction: "up" as "forward" }),
        /direction must be "forward" or "backward", got "up"/,
      ],
      [() => moves.pivot({ degrees: 4000 }), /pivot degrees .* got 4000.*positive turns right/],
    ];
    for (const [call, pattern] of cases) {
      const e = await settleErrorWith(clock, call());
      assert.ok(e instanceof RangeError, String(e));
      assert.match(e.message, pattern);
    }
    assert.equal(rig.wire.received().length, 0);
  });
});

Deno.test("pose() streams briefly when needed; moves keep the user's streams", async () => {
  await withMoves({}, async ({ rig, clock, streams, moves }) => {
    await settleWith(clock, moves.driveToPosition({ x_m: 0.2, y_m: 0.3, speed_mps: 0.5 }));
    assert.equal(streams.status().active, false, "released after the move");
    assert.equal(rig.sim.isStreaming(2), false);
    const pose = await settleWith(clock, moves.pose());
    assertNear(pose.x_m, rig.sim.body.pose.x, 1e-4, "x");
    assertNear(pose.yaw_deg, rig.sim.body.pose.yawDeg, 1e-4, "yaw");
    assert.equal(rig.sim.isStreaming(2), false, "released again");
    await settleWith(clock, streams.start(["ambient_light"], { intervalMs: 500 }));
    const p = follow(moves.pivot({ degrees: -45 }));
    await tickUntil(clock, () => rig.wire.received("drive_with_yaw_si").length > 0, "turning");
    const during = streams.status();
    assert.deepEqual(during.sensors, ["imu", "locator", "ambient_light"]);
    assert.equal(during.intervalMs, 100);
    await settleWith(clock, p);
    await clock.tickAsync(100);
    const after = streams.status();
    assert.deepEqual(after.sensors, ["ambient_light"]);
    assert.equal(after.intervalMs, 500);
    assert.equal(rig.sim.streamingSlots(2).size, 0);
    assert.equal(rig.sim.isStreaming(1), true);
  });
});

Deno.test("resets right after a move: pose() and the next move are in the new frame", async (t) => {
  const variants = [
    { label: "yaw, then locator", order: ["yaw", "locator"], viaMoves: true },
    { label: "locator, then yaw", order: ["locator", "yaw"], viaMoves: true },
    // Not through Moves, so it cannot know: the next move still starts from a new sample.
    { label: "both sent with rvr.command", order: ["yaw", "locator"], viaMoves: false },
  ] as const;
  for (const v of variants) {
    await t.step(v.label, async () => {
      await withMoves({}, async ({ rig, clock, moves }) => {
        const turned = await settleWith(clock, moves.pivot({ degrees: 30 }));
        await settleWith(clock, moves.driveDistance({ distance_m: 0.2, direction: "forward" }));
        assert.ok(Math.abs(turned.pose.yaw_deg) > 20, "somewhere else, turned");
        for (const which of v.order) {
          const reset: Promise<unknown> = v.viaMoves
            ? (which === "yaw" ? moves.resetYaw() : moves.resetLocator())
            : rig.rvr.command(which === "yaw" ? "reset_yaw" : "reset_locator_x_and_y", {}, {
              requestsResponse: true,
            });
          await settleWith(clock, reset);
        }
        if (v.viaMoves) {
          // Asked at once (the move's last samples are still "fresh"): the new frame's origin.
          const pose = await settleWith(clock, moves.pose());
          assertNear(pose.x_m, 0, 1e-3, "x after the reset");
          assertNear(pose.y_m, 0, 1e-3, "y after the reset");
          assertNear(wrap180(pose.yaw_deg), 0, 0.1, "yaw after the reset");
        }
        const worldBefore = rig.sim.body.worldPose;
        const out = await settleWith(
          clock,
          moves.driveDistance({ distance_m: 0.5, direction: "forward" }),
        );
        const sent = paramsOf(
          "drive_to_position_si",
          rig.wire.received("drive_to_position_si").at(-1) as WireEvent,
        );
        assertNear(sent.x, 0, 1e-4, "target x sent");
        assertNear(sent.y, 0.5, 1e-4, "target y sent");
        assertNear(sent.yaw_angle, 0, 0.1, "final yaw sent");
        assertNear(out.pose.x_m, 0, 0.025, "x");
        assertNear(out.pose.y_m, 0.5, 0.025, "y");
        assertNear(wrap180(out.pose.yaw_deg), 0, 1.5, "yaw");
        // The body drove 0.5 m along the direction it faced at the reset.
        const w = rig.sim.body.worldPose;
        const dir = worldBefore.headingRad;
        assertNear(w.x - worldBefore.x, -0.5 * Math.sin(dir), 0.025, "world dx");
        assertNear(w.y - worldBefore.y, 0.5 * Math.cos(dir), 0.025, "world dy");
      }, { yaw: 1, locator: 1 });
    });
  }
});
