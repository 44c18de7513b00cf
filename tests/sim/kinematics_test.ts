import assert from "node:assert/strict";
import {
  type BodyEvent,
  CONTROLLER_IDS,
  DEFAULT_SLEW_PARAMETERS,
  ENCODER_TICKS_PER_METRE,
  MAX_TREAD_ACCEL_MPS2,
  MAX_TREAD_SPEED_MPS,
  MAX_YAW_RATE_DPS,
  RvrBody,
  STALL_DETECT_MS,
  STANDARD_GRAVITY_MPS2,
  TRACK_WIDTH_M,
  wrapDeg,
  XY_POSITION_TOLERANCE_M,
} from "../../src/sim/body/mod.ts";

interface Timed {
  atMs: number;
  event: BodyEvent;
}

/** Steps `body` for `ms` in steps of `dtMs`; `each` runs before every step (e.g. re-send). */
function run(
  body: RvrBody,
  ms: number,
  dtMs = 10,
  each?: (tMs: number) => void,
): Timed[] {
  const out: Timed[] = [];
  let t = 0;
  while (t < ms - 1e-9) {
    const dt = Math.min(dtMs, ms - t);
    each?.(t);
    t += dt;
    for (const event of body.step(dt)) out.push({ atMs: t, event });
  }
  return out;
}
const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected} +- ${tol}, got ${actual}`,
  );
const types = (evs: Timed[]) => evs.map((e) => e.event.type);

Deno.test("straight drive", async (t) => {
  const a = DEFAULT_SLEW_PARAMETERS.linearAcceleration;
  const v = (128 / 255) * MAX_TREAD_SPEED_MPS;

  await t.step("distance = v*T - v^2/(2a) with the acceleration ramp", () => {
    const b = new RvrBody();
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(128, 0, 0));
    near(b.pose.y, v * 1.5 - (v * v) / (2 * a), 0.005, "y");
    near(b.pose.x, 0, 1e-9, "x");
    near(b.pose.yawDeg, 0, 1e-9, "yaw");
    near(b.speedMps, v, 1e-9, "speed");
    near(b.velocity.y, v, 1e-9, "velocity.y");
    assert.equal(b.activeControllerId, CONTROLLER_IDS.yawAdvanced);
  });

  await t.step("speed ramps at the slew acceleration (no teleporting)", () => {
    const b = new RvrBody();
    b.driveWithHeading(255, 0, 0);
    let prev = 0;
    run(b, 300, 10, () => {
      const s = b.speedMps;
      assert.ok(s - prev <= a * 0.01 + 1e-9, `speed jumped from ${prev} to ${s}`);
      prev = s;
    });
    near(b.speedMps, a * 0.3, 1e-6, "speed after 300 ms");
  });

  await t.step("the result hardly depends on the step size (1..50 ms)", () => {
    const poses = [1, 7, 10, 33, 50].map((dt) => {
      const b = new RvrBody();
      b.driveWithHeading(200, 0, 0);
      run(b, 1500, dt);
      const c = new RvrBody();
      run(c, 3000, dt, (ms) => ms % 500 < dt && c.driveRcSi(120, 0.6, 0));
      return { straight: b.pose.y, arc: c.pose };
    });
    for (const p of poses) {
      near(p.straight, poses[0].straight, 0.0005, "straight y across step sizes");
      near(p.arc.x, poses[0].arc.x, 0.0005, "arc x across step sizes");
      near(p.arc.y, poses[0].arc.y, 0.0005, "arc y across step sizes");
      near(p.arc.yawDeg, poses[0].arc.yawDeg, 0.01, "arc yaw across step sizes");
    }
  });

  await t.step("reverse flag drives backwards, nose still on the heading", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(100, 0, 0x01));
    assert.ok(b.pose.y < -0.3, `y ${b.pose.y}`);
    near(b.pose.yawDeg, 0, 1e-9, "yaw");
    assert.ok(b.treadSpeedMps.left < 0 && b.treadSpeedMps.right < 0);
  });

  await t.step("encoders follow tread travel", () => {
    const b = new RvrBody();
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(128, 0, 0));
    const e = b.encoders;
    near(e.left, b.pose.y * ENCODER_TICKS_PER_METRE, 1, "left ticks");
    near(e.right, b.pose.y * ENCODER_TICKS_PER_METRE, 1, "right ticks");
    assert.ok(Number.isInteger(e.left) && Number.isInteger(e.right));
  });
});

Deno.test("drive_with_heading turns with the left-hand heading", async (t) => {
  await t.step("heading 90 ends facing right (yaw -90) moving +x", () => {
    const b = new RvrBody();
    let maxMoveWhileTurning = 0;
    run(b, 2000, 10, (ms) => {
      if (ms % 500 === 0) b.driveWithHeading(128, 90, 0);
      if (Math.abs(wrapDeg(b.pose.yawDeg + 90)) > 6) {
        maxMoveWhileTurning = Math.max(maxMoveWhileTurning, Math.hypot(b.pose.x, b.pose.y));
      }
    });
    near(b.pose.yawDeg, -90, 0.5, "yaw");
    assert.ok(b.velocity.x > 0.7, `velocity.x ${b.velocity.x}`);
    near(b.velocity.y, 0, 0.01, "velocity.y");
    assert.ok(b.pose.x > 0.5, `x ${b.pose.x}`);
    // Advanced controller: from standstill it turns in place first.
    assert.ok(maxMoveWhileTurning < 0.005, `moved ${maxMoveWhileTurning} m while turning`);
  });

  await t.step("heading 270 faces left (yaw +90)", () => {
    const b = new RvrBody();
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(0, 270, 0));
    near(b.pose.yawDeg, 90, 0.5, "yaw");
    near(b.pose.x, 0, 0.001, "x");
  });

  await t.step("yaw basic controller (4) arcs instead of turning in place", () => {
    const b = new RvrBody();
    b.setDefaultControlSystem(3, 4);
    b.driveWithHeading(128, 90, 0);
    run(b, 300);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.yawBasic);
    assert.ok(b.pose.y > 0.02, `y ${b.pose.y}`);
  });

  await t.step("yaw rate at standstill is capped by slew c (200 deg/s default)", () => {
    const b = new RvrBody();
    let peak = 0;
    run(b, 1200, 10, () => {
      if (b.elapsedMs === 0) b.driveWithHeading(0, 180, 0);
      peak = Math.max(peak, Math.abs(b.gyroscope.z));
    });
    assert.ok(peak <= DEFAULT_SLEW_PARAMETERS.c + 1e-6, `peak ${peak}`);
    assert.ok(peak > 150, `peak ${peak}`);
  });

  await t.step("fast-turn flag lifts the slew cap up to 624 deg/s", () => {
    const b = new RvrBody();
    let peak = 0;
    run(b, 1000, 10, () => {
      if (b.elapsedMs === 0) b.driveWithHeading(0, 180, 0x04);
      peak = Math.max(peak, Math.abs(b.gyroscope.z));
    });
    assert.ok(peak > 300 && peak <= MAX_YAW_RATE_DPS + 1e-6, `peak ${peak}`);
  });

  await t.step("bad values throw RangeError naming the value", () => {
    const b = new RvrBody();
    assert.throws(() => b.driveWithHeading(256, 0, 0), /256/);
    assert.throws(() => b.driveWithHeading(10, -1, 0), RangeError);
    assert.throws(() => b.driveWithYawSi(Number.NaN, 1), /NaN/);
  });
});

Deno.test("tank and RC drive", async (t) => {
  await t.step("tank spin in place", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(-0.5, 0.5));
    near(Math.hypot(b.pose.x, b.pose.y), 0, 1e-9, "position");
    const rateDps = ((2 * 0.5) / TRACK_WIDTH_M) * (180 / Math.PI);
    near(b.gyroscope.z, rateDps, 1e-6, "gyro z (+ = left)");
    const e = b.encoders;
    assert.equal(e.left, -e.right);
    assert.ok(e.right > 0);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.tank);
  });

  await t.step("tank SI saturates at the tread limit; normalized 127 = top speed", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(5, 5));
    near(b.speedMps, MAX_TREAD_SPEED_MPS, 1e-9, "SI saturated");
    const n = new RvrBody();
    run(n, 1000, 10, (ms) => ms % 500 === 0 && n.driveTankNormalized(127, -127));
    near(n.treadSpeedMps.left, MAX_TREAD_SPEED_MPS, 1e-9, "normalized left");
    near(n.treadSpeedMps.right, -MAX_TREAD_SPEED_MPS, 1e-9, "normalized right");
    assert.throws(() => n.driveTankNormalized(128, 0), /128/);
  });

  await t.step("RC turn radius = v / yaw rate, turning left", () => {
    const b = new RvrBody();
    const v = 0.5;
    const w = 90;
    const r = v / (w * Math.PI / 180);
    const points: { x: number; y: number }[] = [];
    run(b, 5000, 10, (ms) => {
      if (ms % 500 === 0) b.driveRcSi(w, v, 0);
      if (ms >= 1000) points.push(b.pose); // exactly one turn (4 s) at steady state
    });
    const cx = points.reduce((s, p) => s + p.x, 0) / points.length;
    const cy = points.reduce((s, p) => s + p.y, 0) / points.length;
    for (const p of points) near(Math.hypot(p.x - cx, p.y - cy), r, 0.002, "radius");
    assert.ok(cx < -0.25, `turn centre on the left, x ${cx}`);
    near(b.gyroscope.z, w, 1e-6, "gyro z");
    near(b.speedMps, v, 1e-9, "speed");
    assert.equal(b.activeControllerId, CONTROLLER_IDS.rcRate);
  });

  await t.step("RC slew flag uses controller 6 and slews the linear velocity", () => {
    const b = new RvrBody();
    b.driveRcSi(0, 1, 0x01);
    run(b, 100);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.rcSlew);
    near(b.speedMps, 0.3, 1e-6, "speed after 100 ms at 3 m/s^2");
    const fast = new RvrBody();
    fast.driveRcSi(0, 1, 0);
    run(fast, 100);
    assert.ok(fast.speedMps > 0.45, `rate mode ramps at the motor limit, got ${fast.speedMps}`);
  });

  await t.step("RC normalized 127 yaw = 624 deg/s command (treads limit it)", () => {
    const b = new RvrBody();
    run(b, 600, 10, (ms) => ms % 500 === 0 && b.driveRcNormalized(127, 0, 0));
    const treadLimitDps = ((2 * MAX_TREAD_SPEED_MPS) / TRACK_WIDTH_M) * 180 / Math.PI;
    near(b.gyroscope.z, Math.min(MAX_YAW_RATE_DPS, treadLimitDps), 1e-6, "gyro z");
  });
});

Deno.test("raw motors", async (t) => {
  await t.step("duty below the friction threshold does not move", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.rawMotors(1, 20, 1, 20));
    assert.equal(b.speedMps, 0);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.rawMotor);
  });
  await t.step("full duty forward approaches top speed; reverse goes backwards", () => {
    const b = new RvrBody();
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.rawMotors(1, 255, 2, 255));
    near(b.treadSpeedMps.left, MAX_TREAD_SPEED_MPS, 0.01, "left");
    near(b.treadSpeedMps.right, -MAX_TREAD_SPEED_MPS, 0.01, "right");
  });
  await t.step("mode 3 and duty 256 are rejected", () => {
    const b = new RvrBody();
    assert.throws(() => b.rawMotors(3, 10, 0, 0), /got 3/);
    assert.throws(() => b.rawMotors(1, 256, 0, 0), /256/);
  });
});

Deno.test("drive to position", async (t) => {
  const drive = (b: RvrBody, ms: number) => run(b, ms);

  await t.step("arrives within tolerance, ends at the final yaw, success event", () => {
    const b = new RvrBody();
    b.driveToPositionSi(45, 0.5, 1, 1, 0);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.xyPosition);
    const evs = drive(b, 6000);
    assert.deepEqual(evs.map((e) => e.event), [{
      type: "xy_position_drive_result",
      success: true,
    }]);
    near(b.pose.x, 0.5, XY_POSITION_TOLERANCE_M, "x");
    near(b.pose.y, 1, XY_POSITION_TOLERANCE_M, "y");
    near(b.pose.yawDeg, 45, 2, "final yaw");
    assert.equal(b.activeControllerId, CONTROLLER_IDS.deceleratingStop);
    assert.ok(b.isStopped);
  });

  await t.step("it is not subject to the control timeout (long drive)", () => {
    const b = new RvrBody();
    b.driveToPositionSi(0, 0, 3, 0.4, 0);
    const evs = drive(b, 12000);
    assert.deepEqual(evs.map((e) => e.event), [{
      type: "xy_position_drive_result",
      success: true,
    }]);
    near(b.pose.y, 3, XY_POSITION_TOLERANCE_M, "y");
    assert.ok(evs[0].atMs > 7000, `took ${evs[0].atMs} ms`);
  });

  await t.step("interrupted by another drive command -> success false", () => {
    const b = new RvrBody();
    b.driveToPositionSi(0, 0, 2, 1, 0);
    drive(b, 500);
    b.driveWithHeading(0, 0, 0);
    const evs = drive(b, 10);
    assert.deepEqual(evs.map((e) => e.event), [{
      type: "xy_position_drive_result",
      success: false,
    }]);
  });

  await t.step("interrupted by drive_stop -> false, then robot_has_stopped", () => {
    const b = new RvrBody();
    b.driveToPositionSi(0, 0, 2, 1, 0);
    drive(b, 500);
    b.driveStop();
    assert.deepEqual(types(drive(b, 1000)), ["xy_position_drive_result", "robot_has_stopped"]);
  });

  await t.step("relative flag: target offset from the current position", () => {
    const b = new RvrBody();
    b.driveToPositionSi(0, 0, 1, 1, 0);
    drive(b, 4000);
    b.driveToPositionSi(0, 0.5, 0, 1, 0x04);
    const evs = drive(b, 5000);
    assert.deepEqual(evs.map((e) => e.event), [{
      type: "xy_position_drive_result",
      success: true,
    }]);
    near(b.pose.x, 0.5, XY_POSITION_TOLERANCE_M, "x");
    near(b.pose.y, 1, XY_POSITION_TOLERANCE_M, "y");
  });

  await t.step("force reverse drives backwards toward the target", () => {
    const b = new RvrBody();
    b.driveToPositionSi(180, 0, 1, 0.5, 0x01);
    let minTread = 0;
    const evs = run(b, 8000, 10, () => {
      minTread = Math.min(minTread, b.treadSpeedMps.left + b.treadSpeedMps.right);
    });
    assert.deepEqual(evs.map((e) => e.event), [{
      type: "xy_position_drive_result",
      success: true,
    }]);
    near(b.pose.y, 1, XY_POSITION_TOLERANCE_M, "y");
    near(Math.abs(b.pose.yawDeg), 180, 2, "yaw");
    assert.ok(minTread < -0.5, `treads ran backwards: ${minTread}`);
  });

  await t.step("auto reverse backs up to a target behind", () => {
    const b = new RvrBody();
    b.driveToPositionSi(0, 0, -1, 0.5, 0x02);
    let maxTurn = 0;
    const evs = run(b, 6000, 10, () => {
      maxTurn = Math.max(maxTurn, Math.abs(b.pose.yawDeg));
    });
    assert.deepEqual(types(evs), ["xy_position_drive_result"]);
    near(b.pose.y, -1, XY_POSITION_TOLERANCE_M, "y");
    assert.ok(maxTurn < 5, `turned ${maxTurn} deg (should just back up)`);
  });

  await t.step("direction bits 3 are reserved; negative speed is rejected", () => {
    const b = new RvrBody();
    assert.throws(() => b.driveToPositionSi(0, 1, 1, 1, 0x03), /flags 3/);
    assert.throws(() => b.driveToPositionSi(0, 1, 1, -1, 0), /-1/);
    assert.throws(() => b.driveToPositionNormalized(0, 1, 1, -5, 0), /-5/);
  });

  await t.step("normalized speed 127 = top speed; reaches the target", () => {
    const b = new RvrBody();
    b.driveToPositionNormalized(0, -0.5, 0.5, 64, 0);
    assert.deepEqual(types(drive(b, 5000)), ["xy_position_drive_result"]);
    near(b.pose.x, -0.5, XY_POSITION_TOLERANCE_M, "x");
  });
});

Deno.test("drive_stop", async (t) => {
  await t.step("faster tread decelerates at 2 m/s^2, ratio kept, then robot_has_stopped", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(1, 0.5));
    b.driveStop();
    run(b, 100);
    near(b.treadSpeedMps.left, 0.8, 1e-9, "left after 100 ms");
    near(b.treadSpeedMps.right, 0.4, 1e-9, "right after 100 ms");
    assert.equal(b.activeControllerId, CONTROLLER_IDS.deceleratingStop);
    assert.equal(b.isStopped, false);
    const evs = run(b, 1000);
    assert.deepEqual(types(evs), ["robot_has_stopped"]);
    near(evs[0].atMs, 400, 10, "stopped 0.5 s after drive_stop");
    assert.ok(b.isStopped);
    assert.equal(b.isMoving, false);
  });

  await t.step("custom deceleration", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(1, 1));
    b.driveStop(4);
    const evs = run(b, 1000);
    near(evs[0].atMs, 250, 10, "stop time at 4 m/s^2");
    assert.throws(() => b.driveStop(0), /got 0/);
  });

  await t.step("a deceleration above the motors' limit is held to it", () => {
    const b = new RvrBody();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(1, 1));
    b.driveStop(20);
    const evs = run(b, 1000);
    near(evs[0].atMs, 1000 / MAX_TREAD_ACCEL_MPS2, 10, "stop time at the tread limit");
  });

  await t.step("drive_stop at standstill still reports robot_has_stopped", () => {
    const b = new RvrBody();
    b.driveStop();
    assert.deepEqual(types(run(b, 10)), ["robot_has_stopped"]);
    assert.deepEqual(types(run(b, 100)), []);
  });

  await t.step("halt stops at once without an event", () => {
    const b = new RvrBody();
    run(b, 500, 10, () => b.driveTankSi(1, 1));
    b.halt();
    assert.ok(b.isStopped);
    assert.deepEqual(types(run(b, 100)), []);
  });
});

Deno.test("control system timeout", async (t) => {
  await t.step("a drive command not renewed within 2000 ms decelerates to a stop", () => {
    const b = new RvrBody();
    b.driveTankSi(0.5, 0.5);
    run(b, 1990);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.tank);
    near(b.speedMps, 0.5, 1e-9, "still driving at 1990 ms");
    run(b, 20);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.deceleratingStop);
    assert.ok(b.speedMps < 0.5);
    const evs = run(b, 500);
    assert.deepEqual(types(evs), ["robot_has_stopped"]);
  });

  await t.step("custom timeout and restore", () => {
    const b = new RvrBody();
    b.setControlSystemTimeout(500);
    assert.equal(b.controlTimeoutMs, 500);
    b.driveRcSi(0, 0.5, 0);
    run(b, 490);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.rcRate);
    run(b, 20);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.deceleratingStop);
    b.restoreDefaultControlSystemTimeout();
    assert.equal(b.controlTimeoutMs, 2000);
    assert.throws(() => b.setControlSystemTimeout(0), /got 0/);
  });

  await t.step("renewed commands keep it driving", () => {
    const b = new RvrBody();
    run(b, 5000, 10, (ms) => ms % 1000 === 0 && b.driveWithYawSi(0, 0.3));
    assert.equal(b.activeControllerId, CONTROLLER_IDS.yawAdvanced);
    near(b.speedMps, 0.3, 1e-9, "speed");
  });
});

Deno.test("locator frames", async (t) => {
  await t.step("reset_locator zeroes x/y; reset_yaw makes the heading yaw 0", () => {
    const b = new RvrBody({ worldPose: { x: 3, y: -2, headingRad: 1 } });
    assert.deepEqual(b.pose, { x: 0, y: 0, yawDeg: 0 });
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(100, 0, 0));
    assert.ok(b.pose.y > 0.2);
    b.resetLocator();
    near(Math.hypot(b.pose.x, b.pose.y), 0, 1e-12, "after reset_locator");
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(0, 270, 0));
    near(b.pose.yawDeg, 90, 0.5, "yaw before reset");
    b.resetYaw();
    near(b.pose.yawDeg, 0, 1e-9, "yaw after reset");
  });

  await t.step("flag bit 0 clear: reset_yaw re-orients the axes (forward = +y)", () => {
    const b = new RvrBody();
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(0, 270, 0));
    b.resetYaw();
    b.resetLocator();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveWithYawSi(0, 0.5));
    assert.ok(b.pose.y > 0.3, `y ${b.pose.y}`);
    near(b.pose.x, 0, 0.005, "x");
    assert.ok(b.velocity.y > 0.45);
  });

  await t.step("flag bit 0 set: axes stay from start-up", () => {
    const b = new RvrBody();
    b.setLocatorFlags(1);
    run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(0, 270, 0));
    b.resetYaw();
    b.resetLocator();
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveWithYawSi(0, 0.5));
    near(b.pose.yawDeg, 0, 0.5, "yaw");
    assert.ok(b.pose.x < -0.3, `x ${b.pose.x} (robot faces the old -x)`);
    near(b.pose.y, 0, 0.005, "y");
  });

  await t.step("drive_with_yaw and XY targets use the re-oriented frame", () => {
    const b = new RvrBody({ worldPose: { x: 0, y: 0, headingRad: Math.PI / 2 } });
    b.driveToPositionSi(0, 0, 1, 1, 0);
    run(b, 4000);
    near(b.pose.y, 1, XY_POSITION_TOLERANCE_M, "locator y");
    near(b.worldPose.x, -1, XY_POSITION_TOLERANCE_M, "world x (robot started facing -x)");
  });
});

Deno.test("IMU readings", async (t) => {
  const yawRollPitch = (q: { w: number; x: number; y: number; z: number }) => {
    const deg = 180 / Math.PI;
    return {
      yaw: Math.atan2(2 * (q.x * q.y + q.w * q.z), 1 - 2 * (q.y * q.y + q.z * q.z)) * deg,
      roll: Math.asin(-(2 * (q.x * q.z - q.w * q.y))) * deg,
      pitch: Math.atan2(2 * (q.y * q.z + q.w * q.x), 1 - 2 * (q.x * q.x + q.y * q.y)) * deg,
    };
  };
  const checkQuaternion = (b: RvrBody) => {
    const q = b.quaternion;
    near(Math.hypot(q.w, q.x, q.y, q.z), 1, 1e-12, "quaternion norm");
    const e = yawRollPitch(q);
    const imu = b.imu;
    near(wrapDeg(e.yaw - imu.yawDeg), 0, 1e-6, "quaternion yaw");
    near(e.roll, imu.rollDeg, 1e-6, "quaternion roll");
    near(e.pitch, imu.pitchDeg, 1e-6, "quaternion pitch");
  };

  await t.step("at rest: accel (0,0,1) g, gyro 0, identity quaternion", () => {
    const b = new RvrBody();
    run(b, 100);
    const a = b.accelerometer;
    const g = b.gyroscope;
    const q = b.quaternion;
    for (const [v, e, what] of [[a.x, 0, "ax"], [a.y, 0, "ay"], [a.z, 1, "az"]] as const) {
      near(v, e, 1e-12, what);
    }
    for (const v of [g.x, g.y, g.z, q.x, q.y, q.z]) near(v, 0, 1e-12, "zero at rest");
    near(q.w, 1, 1e-12, "q.w");
    assert.deepEqual(b.motorCurrentA, { left: 0, right: 0 });
    assert.equal(b.isMoving, false);
  });

  await t.step("speeding up: +y acceleration, nose up", () => {
    const b = new RvrBody();
    b.driveWithYawSi(0, 1.5);
    run(b, 200);
    const a = b.accelerometer;
    const pitch = b.imu.pitchDeg * Math.PI / 180;
    assert.ok(b.imu.pitchDeg > 1, `pitch ${b.imu.pitchDeg}`);
    // Specific force (3 m/s^2 forward, 1 g up) seen by a body pitched nose-up.
    const f = 3 / STANDARD_GRAVITY_MPS2;
    near(a.y, f * Math.cos(pitch) + Math.sin(pitch), 1e-6, "accel y");
    near(a.z, -f * Math.sin(pitch) + Math.cos(pitch), 1e-6, "accel z");
    near(b.gyroscope.z, 0, 1e-9, "gyro z");
    checkQuaternion(b);
  });

  await t.step("left turn: centripetal acceleration toward -x, roll right-side down", () => {
    const b = new RvrBody();
    run(b, 3000, 10, (ms) => ms % 500 === 0 && b.driveRcSi(90, 0.6, 0));
    const w = 90 * Math.PI / 180;
    const a = b.accelerometer;
    const roll = b.imu.rollDeg * Math.PI / 180;
    const f = (0.6 * w) / STANDARD_GRAVITY_MPS2;
    // Centripetal pull to the left (-x) plus gravity seen by a body leaning right-side down.
    near(a.x, -f * Math.cos(roll) - Math.sin(roll), 1e-6, "accel x");
    near(b.gyroscope.z, 90, 1e-6, "gyro z");
    assert.ok(b.imu.rollDeg > 0.5, `roll ${b.imu.rollDeg}`);
    near(Math.hypot(a.x, a.y, a.z), Math.hypot(1, f), 1e-6, "|a|");
    checkQuaternion(b);
  });

  await t.step("quaternion yaw follows the locator yaw through turns and resets", () => {
    const b = new RvrBody();
    for (const heading of [45, 170, 200, 300]) {
      run(b, 1500, 10, (ms) => ms % 500 === 0 && b.driveWithHeading(0, heading, 0));
      near(b.imu.yawDeg, wrapDeg(-heading), 1, `yaw for heading ${heading}`);
      checkQuaternion(b);
    }
    b.resetYaw();
    checkQuaternion(b);
    near(b.imu.yawDeg, 0, 1e-9, "yaw after reset");
  });
});

Deno.test("motor current, stall and gyro_max", async (t) => {
  await t.step("current grows with speed and acceleration", () => {
    const b = new RvrBody();
    b.driveTankSi(1.2, 1.2);
    run(b, 50);
    const accelerating = b.motorCurrentA.left;
    run(b, 1000);
    const fast = b.motorCurrentA.left;
    run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(0.3, 0.3));
    const slow = b.motorCurrentA.left;
    assert.ok(accelerating > slow && fast > slow, `${accelerating} ${fast} ${slow}`);
    assert.ok(accelerating > 0.5, `accelerating ${accelerating}`);
  });

  await t.step("blocked tread: motor_stall true after the detect time, false when freed", () => {
    const b = new RvrBody();
    b.setTreadBlocked("left", true);
    const evs = run(b, 1000, 10, (ms) => ms % 500 === 0 && b.driveTankSi(0.5, 0.5));
    assert.deepEqual(evs.map((e) => e.event), [
      { type: "motor_stall", motorIndex: 0, isTriggered: true },
    ]);
    near(evs[0].atMs, STALL_DETECT_MS, 10, "stall detect time");
    assert.equal(b.treadSpeedMps.left, 0);
    assert.ok(b.pose.yawDeg > 30, `pivots around the blocked tread: yaw ${b.pose.yawDeg}`);
    assert.ok(b.motorCurrentA.left > 1.5, `stall current ${b.motorCurrentA.left}`);
    b.setTreadBlocked("left", false);
    assert.deepEqual(run(b, 10).map((e) => e.event), [
      { type: "motor_stall", motorIndex: 0, isTriggered: false },
    ]);
  });

  await t.step("a stall clears when the robot is told to stop", () => {
    const b = new RvrBody();
    b.setTreadBlocked("right", true);
    run(b, 500, 10, () => b.driveTankSi(0.5, 0.5));
    b.driveStop();
    assert.deepEqual(
      run(b, 1000).map((e) => e.event).filter((e) => e.type === "motor_stall"),
      [{ type: "motor_stall", motorIndex: 1, isTriggered: false }],
    );
  });

  await t.step("gyro_max once per excursion, with the axis bits", () => {
    const b = new RvrBody();
    b.setExternalRotation({ x: 0, y: 0, z: 2500 });
    assert.deepEqual(run(b, 100).map((e) => e.event), [{ type: "gyro_max", flags: 0x10 }]);
    b.setExternalRotation({ x: 2100, y: 0, z: -2500 });
    assert.deepEqual(run(b, 100).map((e) => e.event), [{ type: "gyro_max", flags: 0x21 }]);
    b.setExternalRotation({ x: 0, y: -3000, z: 0 });
    assert.deepEqual(run(b, 100).map((e) => e.event), [{ type: "gyro_max", flags: 0x08 }]);
    b.setExternalRotation(null);
    assert.deepEqual(run(b, 100), []);
    assert.equal(b.isMoving, false);
  });
});

Deno.test("parameters and controllers", async (t) => {
  await t.step("slew parameters: defaults, set, get, restore, bad method", () => {
    const b = new RvrBody();
    assert.deepEqual(b.getSlewParameters(), {
      a: -177.78,
      b: 533.33,
      c: 200,
      linearAcceleration: 3,
      method: 0,
    });
    const p = { a: 0, b: 0, c: 50, linearAcceleration: 1, method: 1 };
    b.setSlewParameters(p);
    assert.deepEqual(b.getSlewParameters(), p);
    let peak = 0;
    run(b, 3000, 10, (ms) => {
      if (ms % 500 === 0) b.driveWithHeading(0, 90, 0);
      peak = Math.max(peak, Math.abs(b.gyroscope.z));
    });
    assert.ok(peak <= 50 + 1e-6 && peak > 40, `peak yaw rate ${peak}`);
    assert.throws(() => b.setSlewParameters({ ...p, method: 2 }), /got 2/);
    assert.throws(() => b.setSlewParameters({ ...p, linearAcceleration: 0 }), /got 0/);
    b.restoreDefaultSlewParameters();
    assert.deepEqual(b.getSlewParameters(), { ...DEFAULT_SLEW_PARAMETERS });
  });

  await t.step("default control systems per type", () => {
    const b = new RvrBody();
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((t) => b.getDefaultControlSystem(t)), [
      0,
      1,
      2,
      3,
      5,
      7,
      8,
      9,
    ]);
    b.setDefaultControlSystem(4, 6);
    b.driveRcSi(0, 0.5, 0);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.rcSlew);
    assert.throws(() => b.setDefaultControlSystem(3, 5), /controller 5 .* type 3/);
    assert.throws(() => b.getDefaultControlSystem(8), /got 8/);
    b.restoreInitialDefaultControlSystems();
    assert.equal(b.getDefaultControlSystem(4), 5);
  });

  await t.step("IR follow approaches and keeps a gap; evade flees; null stops", () => {
    const b = new RvrBody();
    b.setInfraredTarget("follow", { x: 1, y: 1 });
    assert.equal(b.activeControllerId, CONTROLLER_IDS.infrared);
    run(b, 8000);
    const d = Math.hypot(1 - b.worldPose.x, 1 - b.worldPose.y);
    near(d, 0.4, 0.05, "follow gap");
    b.setInfraredTarget("evade", { x: b.worldPose.x, y: b.worldPose.y + 0.3 });
    run(b, 5000);
    assert.ok(b.worldPose.y < 0.9, `fled to y ${b.worldPose.y}`);
    b.setInfraredTarget("evade", null);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.deceleratingStop);
    assert.ok(types(run(b, 1000)).includes("robot_has_stopped"));
  });

  await t.step("magnetometer calibration spins one turn then stops", () => {
    const b = new RvrBody();
    b.startMagnetometerCalibration();
    assert.equal(b.activeControllerId, CONTROLLER_IDS.magnetometerCalibration);
    run(b, 2000);
    assert.ok(b.isCalibratingMagnetometer);
    run(b, 3000);
    assert.equal(b.isCalibratingMagnetometer, false);
    assert.equal(b.activeControllerId, CONTROLLER_IDS.deceleratingStop);
    near(Math.abs(wrapDeg(b.pose.yawDeg)), 0, 5, "back near the start yaw");
  });

  await t.step("bad step sizes and knobs", () => {
    const b = new RvrBody();
    assert.throws(() => b.step(-1), /-1/);
    assert.throws(() => b.step(Number.NaN), /NaN/);
    assert.deepEqual(b.step(0), []);
    assert.throws(() => b.setLocatorFlags(256), /256/);
    assert.throws(() => new RvrBody({ controlTimeoutMs: 0 }), /got 0/);
  });
});
