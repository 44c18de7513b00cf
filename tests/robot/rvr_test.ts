/**
 * Rvr against the real simulated robot: one Deno.test per safety rule, checked on the bytes the
 * robot received (WireTap) and on its simulated body. Time is faked (the simulator's
 * physics runs on the fake clock too).
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { CircuitOpenError } from "../../src/core/mod.ts";
import { RobotError } from "../../src/link/mod.ts";
import {
  BatteryCriticalError,
  CancelledByEmergencyStopError,
  EmergencyStopActiveError,
  ESTOP_ACTIVE_MESSAGE,
  MotionStoppedError,
  type MoveResult,
  NotConnectedError,
  TOP_SPEED_MPS,
} from "../../src/robot/mod.ts";
import { CONTROLLER_IDS, RvrBody } from "../../src/sim/mod.ts";
import { makeRig, type Rig, type RigOptions } from "./_harness.ts";
import { type FakeClock, fakeClock, metricValue, outcomeOf, paramsOf } from "../_helpers/mod.ts";

async function withRig(
  options: RigOptions,
  fn: (rig: Rig, clock: FakeClock) => Promise<void>,
): Promise<void> {
  const clock = fakeClock();
  const rig = makeRig(options);
  try {
    const report = await rig.rvr.ready();
    assert.ok(report.ok, report.failures.join("; "));
    await clock.tickAsync(0);
    rig.wire.clear();
    await fn(rig, clock);
  } finally {
    try {
      await rig.close();
    } finally {
      clock.uninstall();
    }
  }
}

function isEstopRefusal(e: unknown): boolean {
  return e instanceof EmergencyStopActiveError && e.message.startsWith(ESTOP_ACTIVE_MESSAGE);
}

Deno.test("speed limit: every movement command is capped, as requested vs applied, on the wire", async (t) => {
  await withRig({ speedLimitPercent: 50, commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire } = rig;
    const siCap = TOP_SPEED_MPS * 0.5;
    const cases: {
      name: string;
      call: () => Promise<MoveResult>;
      sent: Record<string, number>;
    }[] = [
      {
        name: "drive_with_heading",
        call: () => rvr.driveWithHeading({ speed: -200, headingDeg: 90 }),
        sent: { speed: 127, heading: 90, flags: 0x01 },
      },
      {
        name: "raw_motors",
        call: () => rvr.driveRawMotors({ leftDuty: 255, rightDuty: -128 }),
        sent: { left_mode: 1, left_duty_cycle: 127, right_mode: 2, right_duty_cycle: 64 },
      },
      {
        name: "drive_tank_si_units",
        call: () => rvr.driveTankSi({ leftMps: 1.5, rightMps: 1.0 }),
        sent: { left_velocity: siCap, right_velocity: siCap / 1.5 },
      },
      {
        name: "drive_tank_normalized",
        call: () => rvr.driveTankNormalized({ left: 127, right: 100 }),
        sent: { left_velocity: 63, right_velocity: 50 },
      },
      {
        name: "drive_rc_si_units",
        call: () => rvr.driveRcSi({ yawRateDps: 90, linearMps: 2 }),
        sent: { yaw_angular_velocity: 90 * siCap / 2, linear_velocity: siCap, flags: 0 },
      },
      {
        name: "drive_rc_normalized",
        call: () => rvr.driveRcNormalized({ yawRate: -127, linear: 127, slewLinear: true }),
        sent: { yaw_angular_velocity: -63, linear_velocity: 63, flags: 1 },
      },
      {
        name: "drive_with_yaw_si",
        call: () => rvr.driveWithYawSi({ yawDeg: 30, linearMps: 1.2 }),
        sent: { yaw_angle: 30, linear_velocity: siCap },
      },
      {
        name: "drive_with_yaw_normalized",
        call: () => rvr.driveWithYawNormalized({ yawDeg: -45, linear: 120 }),
        sent: { yaw_angle: -45, linear_velocity: 63 },
      },
      {
        name: "drive_to_position_si",
        call: () => rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: 1, speedMps: 1.5 }),
        sent: { yaw_angle: 0, x: 0, y: 1, linear_speed: siCap, flags: 0 },
      },
      {
        name: "drive_to_position_normalized",
        call: () =>
          rvr.driveToPositionNormalized({ yawDeg: 0, xM: 0, yM: 1, speed: 100, flags: 2 }),
        sent: { yaw_angle: 0, x: 0, y: 1, linear_speed: 63, flags: 2 },
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const result = await c.call();
        assert.equal(result.command, c.name);
        assert.equal(result.limited, true);
        assert.equal(result.superseded, false);
        assert.equal(result.speedLimitPercent, 50);
        await clock.tickAsync(0);
        const got = wire.received(c.name);
        assert.equal(got.length, 1, `${c.name} reached the robot once`);
        const params = paramsOf(c.name as "drive_with_heading", got[0]) as unknown as Record<
          string,
          number
        >;
        for (const [field, expected] of Object.entries(c.sent)) {
          assert.ok(
            Math.abs(params[field] - expected) < 1e-5,
            `${c.name}.${field}: ${params[field]}`,
          );
        }
        // What was reported as applied is exactly what the robot got.
        for (const [field, applied] of Object.entries(result.applied)) {
          assert.equal(params[field], applied, `${c.name}.${field} applied`);
          assert.ok(Math.abs(applied) < Math.abs(result.requested[field]), "reduced");
        }
        wire.clear();
      });
    }

    await t.step("the simulated treads never exceed the limited speed", async () => {
      await rvr.driveTankSi({ leftMps: 1.5, rightMps: 1.5 });
      for (let i = 0; i < 10; i++) {
        await clock.tickAsync(100);
        const { left, right } = rig.sim.body.treadSpeedMps;
        assert.ok(left <= siCap + 1e-6 && right <= siCap + 1e-6, `${left} ${right}`);
      }
      assert.ok(rig.sim.body.treadSpeedMps.left > siCap * 0.95, "reached the cap");
    });

    await t.step("command() of a drive by name gets the same limit and reports it", async () => {
      const r = await rvr.command("drive_tank_normalized", {
        left_velocity: 127,
        right_velocity: 127,
      });
      assert.deepEqual(r.applied, { left_velocity: 63, right_velocity: 63 });
      assert.equal(r.limited, true);
      const within = await rvr.driveWithHeading({ speed: 60, headingDeg: 0 });
      assert.equal(within.limited, false);
      assert.deepEqual(within.applied, { speed: 60 });
    });

    await t.step("limits are counted and announced", async () => {
      await clock.tickAsync(0);
      assert.ok(
        rig.safetyEvents.some((e) =>
          e.type === "limited" && e.data?.command === "drive_tank_si_units"
        ),
      );
      assert.equal(
        await metricValue(rig.metrics, "rvr_safety_limited_commands_total", {
          command: "drive_tank_normalized",
        }),
        2,
      );
    });
  });
});

Deno.test("watchdog: drive_stop commandTimeoutS after the last movement command; 0 disables it", async (t) => {
  await t.step("fires 5 s after the last movement command", async () => {
    await withRig({ commandTimeoutS: 5 }, async (rig, clock) => {
      await rig.rvr.driveWithHeading({ speed: 40, headingDeg: 0 });
      await clock.tickAsync(4999);
      assert.equal(rig.wire.received("drive_stop").length, 0);
      await clock.tickAsync(1);
      await clock.tickAsync(0);
      assert.equal(rig.wire.received("drive_stop").length, 1);
      const event = rig.safetyEvents.find((e) => e.type === "auto_stop");
      assert.match(
        event?.detail ?? "",
        /No movement command for 5 s: the watchdog sent drive_stop/,
      );
      assert.equal(
        await metricValue(rig.metrics, "rvr_safety_auto_stops_total", { reason: "watchdog" }),
        1,
      );
      assert.equal(rig.rvr.safetyStatus().lastAutoStop?.reason, "watchdog");
    });
  });

  await t.step("every movement command re-arms it", async () => {
    await withRig({ commandTimeoutS: 5 }, async (rig, clock) => {
      await rig.rvr.driveTankNormalized({ left: 20, right: 20 });
      await clock.tickAsync(3000);
      await rig.rvr.driveTankNormalized({ left: 20, right: 20 });
      await clock.tickAsync(4000); // t = 7 s, 4 s after the last command
      assert.equal(rig.wire.received("drive_stop").length, 0);
      await clock.tickAsync(1000);
      await clock.tickAsync(0);
      assert.equal(rig.wire.received("drive_stop").length, 1);
    });
  });

  await t.step("a stop disarms it", async () => {
    await withRig({ commandTimeoutS: 5 }, async (rig, clock) => {
      await rig.rvr.driveTankNormalized({ left: 20, right: 20 });
      await rig.rvr.stop();
      await clock.tickAsync(30_000);
      assert.equal(rig.wire.received("drive_stop").length, 1, "only the explicit stop");
    });
  });

  await t.step("0 disables it", async () => {
    await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
      await rig.rvr.driveWithHeading({ speed: 40, headingDeg: 0 });
      await clock.tickAsync(60_000);
      assert.equal(rig.wire.received("drive_stop").length, 0);
      assert.equal(rig.rvr.safetyStatus().watchdog.enabled, false);
    });
  });
});

Deno.test("emergency stop latches: movement is refused until cleared, stops and queries still work", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire } = rig;
    await rvr.driveWithHeading({ speed: 60, headingDeg: 0 });
    const result = await rvr.emergencyStop("tool", { reason: "operator pressed stop" });
    assert.equal(result.sent, true);
    assert.equal(result.newlyLatched, true);
    assert.equal(rig.state.safety.estopLatched, true);
    const refusals = [
      rvr.driveWithHeading({ speed: 60, headingDeg: 0 }),
      rvr.driveTankSi({ leftMps: 0.1, rightMps: 0.1 }),
      rvr.command("drive_rc_normalized", { yaw_angular_velocity: 0, linear_velocity: 5, flags: 0 }),
      rvr.command("start_robot_to_robot_infrared_following", { far_code: 1, near_code: 2 }),
      rvr.command("magnetometer_calibrate_to_north", {}),
      rvr.driveToPositionSi({ yawDeg: 0, xM: 1, yM: 1, speedMps: 0.2 }),
    ];
    for (const p of refusals) {
      const e = await outcomeOf(p);
      assert.ok(isEstopRefusal(e), String(e));
      assert.match((e as Error).message, /Clearing it does not resume anything/);
    }
    assert.deepEqual(await rvr.command("get_battery_percentage", {}), { percentage: 100 });
    await rvr.stop();
    await clock.tickAsync(0);
    const names = wire.received().map((e) => e.name);
    assert.deepEqual(
      names.filter((n) => n.startsWith("drive_") && n !== "drive_stop"),
      ["drive_with_heading"],
      "no movement after the e-stop",
    );
    const again = await rvr.emergencyStop("http");
    assert.equal(again.newlyLatched, false);
    assert.equal(rig.state.safety.estopReason, "operator pressed stop", "first reason kept");
    assert.equal(
      await metricValue(rig.metrics, "rvr_commands_total", {
        command: "drive_with_heading",
        outcome: "rejected",
      }),
      1,
    );
  });
});

Deno.test("emergency stop never waits: ahead of the in-flight reply, queued movement cancelled", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim, queue } = rig;
    sim.faults.replyDelayMs = 500;
    const inFlight = rvr.command("get_battery_percentage", {});
    await clock.tickAsync(0);
    assert.equal(queue.stats.runningCommand, "get_battery_percentage");
    const movement = [
      rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: 1, speedMps: 0.3 }),
      rvr.driveToPositionNormalized({ yawDeg: 0, xM: 1, yM: 0, speed: 20 }),
      rvr.driveWithHeading({ speed: 50, headingDeg: 0 }),
      rvr.command("start_robot_to_robot_infrared_evading", { far_code: 3, near_code: 4 }),
      rvr.command("magnetometer_calibrate_to_north", {}),
    ].map(outcomeOf);
    const query = rvr.command("get_battery_voltage_state", {});
    assert.equal(queue.depth, 6);

    const result = await rvr.emergencyStop("tool");
    assert.equal(result.sent, true);
    assert.equal(result.cancelledQueued, 5);
    for (const m of await Promise.all(movement)) {
      assert.ok(m instanceof CancelledByEmergencyStopError, String(m));
      assert.equal(m.message, "cancelled by emergency stop");
    }
    await clock.tickAsync(0);
    // drive_stop is the first thing the robot heard after the in-flight request, before its reply.
    const inFlightIndex = wire.indexOf("in", "get_battery_percentage");
    assert.equal(wire.events[inFlightIndex + 1].name, "drive_stop");
    assert.equal(wire.events[inFlightIndex + 1].dir, "in");
    assert.equal(wire.indexOf("out", "get_battery_percentage"), -1, "reply still pending");

    await clock.tickAsync(1000); // the in-flight reply, then the queued query's (500 ms each)
    assert.deepEqual(await inFlight, { percentage: 100 });
    assert.deepEqual(await query, { state: 1 }, "a queued query survives the e-stop");
    assert.ok(wire.indexOf("in", "drive_stop") < wire.indexOf("out", "get_battery_percentage"));
    const moved = wire.received().filter((e) =>
      e.name.startsWith("drive_to") || e.name === "drive_with_heading" ||
      e.name.startsWith("start_robot") || e.name === "magnetometer_calibrate_to_north"
    );
    assert.deepEqual(moved, [], "no cancelled movement reached the robot");
    assert.equal(
      await metricValue(rig.metrics, "rvr_queue_rejections_total", { reason: "estop" }),
      5,
    );
  });
});

Deno.test("emergency stop and stops reach the robot while the circuit breaker is open", async () => {
  await withRig(
    { commandTimeoutS: 0, breaker: { failureThreshold: 1, openMs: 60_000 } },
    async (rig, clock) => {
      const { rvr, wire, sim, breaker } = rig;
      sim.faults.errorReplies.get_battery_percentage = 0x06;
      await assert.rejects(rvr.command("get_battery_percentage", {}), RobotError);
      assert.equal(breaker.state.name, "open");
      const refused = await outcomeOf(rvr.driveWithHeading({ speed: 30, headingDeg: 0 }));
      assert.ok(refused instanceof CircuitOpenError, String(refused));
      assert.equal(wire.received("drive_with_heading").length, 0);

      const result = await rvr.emergencyStop("http");
      assert.equal(result.sent, true);
      await clock.tickAsync(0);
      assert.equal(wire.received("drive_stop").length, 1);

      rvr.clearEmergencyStop();
      await rvr.stop();
      const shutdown = await rvr.shutdown("sigint");
      assert.equal(shutdown.sent, true);
      await clock.tickAsync(0);
      assert.equal(wire.received("drive_stop").length, 3, "e-stop, stop and shutdown all went out");
      assert.equal(breaker.state.name, "open", "still open: stops bypass it");
      assert.equal(breaker.stats.bypassed, 3, "the three drive_stops, each past the open breaker");
      assert.equal(
        await metricValue(rig.metrics, "rvr_queue_rejections_total", { reason: "circuit_open" }),
        1,
      );
    },
  );
});

Deno.test("emergency stop ends IR following and evading and aborts movesSignal", async (t) => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    const beacon = sim.world.join("beacon", new RvrBody({ worldPose: { x: 0, y: 2 } }));
    try {
      beacon.startBroadcast(1, 2);
      for (const mode of ["following", "evading"] as const) {
        await t.step(mode, async () => {
          await rvr.command(`start_robot_to_robot_infrared_${mode}`, { far_code: 1, near_code: 2 });
          await clock.tickAsync(200);
          assert.equal(sim.body.activeControllerId, CONTROLLER_IDS.infrared);
          const signal = rvr.movesSignal();
          assert.equal(signal.aborted, false);
          wire.clear();
          await rvr.emergencyStop("tool");
          await clock.tickAsync(0);
          assert.deepEqual(wire.received().map((e) => e.name), [
            "drive_stop",
            "stop_robot_to_robot_infrared_following",
            "stop_robot_to_robot_infrared_evading",
          ]);
          await clock.tickAsync(1000);
          assert.notEqual(sim.body.activeControllerId, CONTROLLER_IDS.infrared);
          assert.equal(sim.body.isMoving, false);
          assert.ok(signal.aborted);
          assert.ok(signal.reason instanceof CancelledByEmergencyStopError);
          assert.ok(rvr.movesSignal().aborted, "stays aborted while latched");
          rvr.clearEmergencyStop();
          assert.equal(rvr.movesSignal().aborted, false, "a fresh signal after clearing");
        });
      }
    } finally {
      beacon.leave();
    }
  });
});

Deno.test("clearing the emergency stop resumes nothing", async () => {
  await withRig({ commandTimeoutS: 5 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    await rvr.driveWithHeading({ speed: 100, headingDeg: 0 });
    await clock.tickAsync(500);
    assert.ok(sim.body.isMoving);
    await rvr.emergencyStop("tool");
    await clock.tickAsync(2000);
    assert.ok(sim.body.isStopped);
    wire.clear();
    assert.equal(rvr.clearEmergencyStop(), true);
    assert.equal(rvr.clearEmergencyStop(), false);
    await clock.tickAsync(10_000);
    assert.deepEqual(wire.received(), [], "nothing sent after clearing");
    assert.ok(sim.body.isStopped);
    assert.equal(rvr.safetyStatus().watchdog.armed, false);
    assert.equal(rvr.movesSignal().aborted, false);
    assert.ok(rig.safetyEvents.some((e) => e.type === "estop_cleared"));
    const next = await rvr.driveWithHeading({ speed: 20, headingDeg: 0 });
    assert.equal(next.superseded, false, "movement is accepted again");
    await clock.tickAsync(0);
    assert.equal(wire.received("drive_with_heading").length, 1);
  });
});

Deno.test("every stop is drive_stop 0x16/0x42, never drive_with_heading(0, 0)", async () => {
  await withRig({ commandTimeoutS: 1 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    await rvr.driveWithHeading({ speed: 50, headingDeg: 0 });
    await rvr.stop(); // 1: explicit stop
    await rvr.command("drive_stop", {}); // 2: by name
    await rvr.driveTankNormalized({ left: 30, right: 30 });
    await clock.tickAsync(1000); // 3: watchdog
    await rvr.driveTankNormalized({ left: 30, right: 30 });
    await rvr.emergencyStop("api"); // 4: e-stop
    rvr.clearEmergencyStop();
    sim.setMotorFault(true); // 5: motor fault auto-stop
    await clock.tickAsync(10);
    sim.setMotorFault(false);
    await rvr.shutdown("stdin_eof"); // 6: shutdown
    await clock.tickAsync(10);
    const stops = wire.received("drive_stop");
    assert.equal(stops.length, 6);
    for (const s of stops) {
      assert.equal(s.packet.did, 0x16);
      assert.equal(s.packet.cid, 0x42);
      assert.equal(s.packet.payload.length, 0);
    }
    const headings = wire.received("drive_with_heading").map((e) =>
      paramsOf("drive_with_heading", e)
    );
    assert.ok(headings.every((p) => p.speed !== 0), "no drive_with_heading(0) stop");
    // A custom deceleration is the one explicit exception, and says so on the wire.
    await rvr.stop({ decelerationMps2: 3 });
    await clock.tickAsync(0);
    const custom = wire.received("drive_stop_custom_decel");
    assert.equal(custom.length, 1);
    assert.equal(custom[0].packet.cid, 0x3e);
    assert.equal(paramsOf("drive_stop_custom_decel", custom[0]).deceleration_rate, 3);
    await assert.rejects(rvr.stop({ decelerationMps2: -1 }), RangeError);
  });
});

Deno.test("shutdown: drive_stop goes out ahead of everything before the link closes", async (t) => {
  await t.step("on SIGTERM, with a command in flight and movement queued", async () => {
    await withRig({ commandTimeoutS: 5 }, async (rig, clock) => {
      const { rvr, wire, sim } = rig;
      await rvr.driveWithHeading({ speed: 80, headingDeg: 0 });
      sim.faults.replyDelayMs = 300;
      const inFlight = rvr.command("get_battery_percentage", {});
      await clock.tickAsync(0);
      const queued = outcomeOf(rvr.driveWithHeading({ speed: 80, headingDeg: 90 }));
      const result = await rvr.shutdown("sigterm");
      assert.deepEqual(result, { sent: true, cancelledQueued: 1 });
      assert.ok((await queued) instanceof CancelledByEmergencyStopError);
      await clock.tickAsync(0);
      const stopAt = wire.indexOf("in", "drive_stop");
      assert.ok(stopAt > wire.indexOf("in", "get_battery_percentage"));
      await clock.tickAsync(300);
      await inFlight;
      assert.ok(stopAt < wire.indexOf("out", "get_battery_percentage"), "ahead of the reply");
      assert.equal(rvr.safetyStatus().watchdog.armed, false);
      assert.equal(rig.state.safety.estopLatched, false, "shutdown does not latch");
      assert.equal(
        await metricValue(rig.metrics, "rvr_safety_auto_stops_total", { reason: "sigterm" }),
        1,
      );
      await clock.tickAsync(0);
      assert.ok(rig.safetyEvents.some((e) => e.type === "auto_stop" && /sigterm/.test(e.detail)));
    });
  });

  await t.step(
    "on link loss, then once the link is gone it reports instead of throwing",
    async () => {
      await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
        const { rvr, wire, link } = rig;
        await rvr.driveTankNormalized({ left: 40, right: 40 });
        // The connection manager's closing hook names the link it is about to close.
        const result = await rvr.shutdown("link_loss", { link });
        assert.equal(result.sent, true);
        await clock.tickAsync(0);
        assert.equal(wire.received("drive_stop").length, 1);
        await link.close();
        const late = await rvr.shutdown("sigint");
        assert.equal(late.sent, false);
        assert.match(late.error ?? "", /not connected/i);
      });
    },
  );
});

Deno.test("motor stall stops the robot and raises a safety event", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    await rvr.driveTankNormalized({ left: 40, right: 40 });
    await clock.tickAsync(200);
    const signal = rvr.movesSignal();
    sim.body.setTreadBlocked("left", true);
    await clock.tickAsync(600);
    const stallAt = wire.indexOf("out", "motor_stall_notify");
    assert.ok(stallAt >= 0, "the robot reported the stall");
    assert.ok(wire.indexOf("in", "drive_stop", stallAt) > stallAt, "drive_stop after the stall");
    const event = rig.safetyEvents.find((e) => e.type === "stall");
    assert.match(event?.detail ?? "", /left motor stalled: the robot was stopped/);
    const n = rig.notifications.find((x) => x.name === "motor_stall_notify");
    assert.deepEqual(n?.values, { motor_index: 0, is_triggered: true });
    assert.equal(n?.node, 2);
    assert.ok(signal.aborted && signal.reason instanceof MotionStoppedError);
    assert.equal(
      await metricValue(rig.metrics, "rvr_safety_auto_stops_total", { reason: "stall" }),
      1,
    );
  });
});

Deno.test("motor fault stops the robot, raises a safety event and is tracked in the state", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim, state } = rig;
    await rvr.driveTankNormalized({ left: 40, right: 40 });
    await clock.tickAsync(100);
    sim.setMotorFault(true);
    await clock.tickAsync(10);
    const faultAt = wire.indexOf("out", "motor_fault_notify");
    assert.ok(faultAt >= 0);
    assert.ok(wire.indexOf("in", "drive_stop", faultAt) > faultAt);
    assert.equal(state.safety.motorFault, true);
    sim.setMotorFault(false);
    await clock.tickAsync(10);
    assert.equal(state.safety.motorFault, false);
    const types = rig.safetyEvents.filter((e) => e.type === "motor_fault").map((e) => e.detail);
    assert.equal(types.length, 2);
    assert.match(types[0], /fault: the robot was stopped/);
    assert.match(types[1], /fault cleared/);
    assert.equal(wire.received("drive_stop").length, 1, "clearing sends nothing");
  });
});

Deno.test("thermal: warn is reported, critical stops the robot", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    await rvr.driveTankNormalized({ left: 30, right: 30 });
    sim.thermal.setMotorTemperature("right", 75);
    await clock.tickAsync(20);
    await clock.tickAsync(0);
    assert.equal(wire.received("drive_stop").length, 0, "warn does not stop");
    assert.match(
      rig.safetyEvents.find((e) => e.type === "thermal")?.detail ?? "",
      /right warn 75/,
    );
    sim.thermal.setMotorTemperature("right", 95);
    await clock.tickAsync(20);
    await clock.tickAsync(0);
    const at = wire.indexOf("out", "motor_thermal_protection_status_notify");
    assert.ok(at >= 0);
    assert.equal(wire.received("drive_stop").length, 1);
    const critical = rig.safetyEvents.filter((e) => e.type === "thermal").at(-1);
    assert.match(critical?.detail ?? "", /critical .*the robot was stopped/);
    const temp = await metricValue(rig.metrics, "rvr_motor_temperature_celsius", {
      motor: "right",
    });
    assert.ok(temp > 90, String(temp));
    assert.equal(
      await metricValue(rig.metrics, "rvr_safety_auto_stops_total", { reason: "thermal" }),
      1,
    );
  });
});

Deno.test("battery critical stops the robot and blocks movement until it recovers", async (t) => {
  await t.step("while running", async () => {
    await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
      const { rvr, wire, sim } = rig;
      await rvr.driveTankNormalized({ left: 20, right: 20 });
      sim.battery.setPercentage(1);
      await clock.tickAsync(50);
      const at = wire.indexOf("out", "battery_voltage_state_change_notify");
      assert.ok(at >= 0);
      assert.ok(wire.indexOf("in", "drive_stop", at) > at);
      assert.equal(rig.state.safety.batteryCritical, true);
      const refused = await outcomeOf(rvr.driveWithHeading({ speed: 20, headingDeg: 0 }));
      assert.ok(refused instanceof BatteryCriticalError, String(refused));
      assert.match(
        refused.message,
        /^battery is critical: command "drive_with_heading" was refused/,
      );
      assert.match(refused.message, /Charge or swap the battery/);
      sim.battery.setPercentage(90);
      await clock.tickAsync(50);
      assert.equal(rig.state.safety.batteryCritical, false);
      const ok = await rvr.driveWithHeading({ speed: 20, headingDeg: 0 });
      assert.equal(ok.superseded, false);
      const battery = rig.safetyEvents.filter((e) => e.type === "battery").map((e) => e.detail);
      assert.equal(battery.length, 2);
      assert.match(battery[0], /Battery critical: the robot was stopped and movement is blocked/);
      assert.match(battery[1], /no longer critical .* movement is allowed again/);
    });
  });

  await t.step("read at connect", async () => {
    const clock = fakeClock();
    const rig = makeRig({ sim: { battery: { percentage: 1 } }, commandTimeoutS: 0 });
    try {
      const report = await rig.rvr.ready();
      assert.equal(report.batteryState, "critical");
      await clock.tickAsync(0);
      assert.equal(rig.wire.received("drive_stop").length, 1, "stopped at connect");
      await assert.rejects(
        rig.rvr.driveTankSi({ leftMps: 0.1, rightMps: 0.1 }),
        BatteryCriticalError,
      );
      assert.equal(rig.state.safety.batteryPercent, 1);
    } finally {
      await rig.close();
      clock.uninstall();
    }
  });
});

Deno.test("a newer continuous drive supersedes a still-queued older one", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    sim.faults.replyDelayMs = 200;
    const inFlight = rvr.command("get_battery_percentage", {});
    await clock.tickAsync(0);
    const a = rvr.driveWithHeading({ speed: 30, headingDeg: 0 });
    const pos = rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: 0.5, speedMps: 0.2 });
    const b = rvr.driveTankSi({ leftMps: 0.2, rightMps: 0.2 });
    const c = rvr.driveRcNormalized({ yawRate: 0, linear: 20 });
    assert.equal(rig.queue.depth, 2, "one drive and the position drive queued");
    assert.equal((await a).superseded, true);
    assert.equal((await b).superseded, true);
    await clock.tickAsync(200);
    await inFlight;
    assert.equal((await c).superseded, false);
    assert.equal((await pos).superseded, false, "position drives are not superseded");
    const drives = wire.received().map((e) => e.name).filter((n) => n.startsWith("drive_"));
    assert.deepEqual(drives, ["drive_rc_normalized", "drive_to_position_si"], "c took a's place");
    assert.equal(await metricValue(rig.metrics, "rvr_queue_superseded_total", { key: "drive" }), 2);
    assert.equal(
      await metricValue(rig.metrics, "rvr_commands_total", {
        command: "drive_with_heading",
        outcome: "superseded",
      }),
      1,
    );
  });
});

Deno.test("priorities: stops first, then FIFO normal, then low; a stop drops older queued movement", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    const { rvr, wire, sim } = rig;
    sim.faults.replyDelayMs = 100;
    const inFlight = rvr.command("get_battery_percentage", {});
    await clock.tickAsync(0);
    const low = rvr.command("get_battery_voltage_state", {}, { priority: "low" });
    const query = rvr.command("get_motor_fault_state", {});
    // A position drive (no supersede key), so only the stop can drop it.
    const olderDrive = outcomeOf(rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: 1, speedMps: 0.3 }));
    const high = rvr.command("get_stop_controller_state", {}, { priority: "high" });
    const stop = rvr.stop();
    const newerDrive = rvr.driveWithHeading({ speed: 20, headingDeg: 180 });
    await clock.tickAsync(1000);
    await Promise.all([inFlight, low, query, high, stop]);
    assert.equal((await newerDrive).superseded, false);
    const dropped = await olderDrive;
    assert.ok(dropped instanceof MotionStoppedError, String(dropped));
    assert.match(dropped.message, /robot was stopped \(stop\)/);
    assert.deepEqual(wire.received().map((e) => e.name), [
      "get_battery_percentage",
      "get_stop_controller_state",
      "drive_stop",
      "get_motor_fault_state",
      "drive_with_heading",
      "get_battery_voltage_state",
    ]);
    assert.equal(
      paramsOf("drive_with_heading", wire.received("drive_with_heading")[0]).heading,
      180,
    );
    assert.equal(
      await metricValue(rig.metrics, "rvr_commands_total", {
        command: "drive_to_position_si",
        outcome: "cancelled",
      }),
      1,
    );
    assert.equal(
      await metricValue(rig.metrics, "rvr_commands_total", {
        command: "get_motor_fault_state",
        outcome: "ok",
      }),
      1,
    );
  });
});

Deno.test("notifications are republished on the bus; state changes too", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    await rig.rvr.driveWithHeading({ speed: 60, headingDeg: 0 });
    await clock.tickAsync(500);
    await rig.rvr.stop();
    await clock.tickAsync(2000);
    const stopped = rig.notifications.find((n) => n.name === "robot_has_stopped_notify");
    assert.ok(stopped, "robot_has_stopped_notify republished");
    assert.equal(stopped.node, 2);
    assert.deepEqual(stopped.values, {});
    const states: string[] = [];
    rig.bus.subscribe("robot.state", (e) => {
      states.push(e.payload.aspect);
    });
    await rig.rvr.emergencyStop("api");
    await clock.tickAsync(0);
    assert.deepEqual(states, ["safety"]);
  });
});

Deno.test("disable_notifications_and_active_commands is followed by re-enabling the safety notifications", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig, clock) => {
    await rig.rvr.command("disable_notifications_and_active_commands", {});
    await clock.tickAsync(10);
    const names = rig.wire.received().map((e) => e.name);
    assert.equal(names[0], "disable_notifications_and_active_commands");
    assert.deepEqual(names.slice(1).sort(), [
      "enable_battery_voltage_state_change_notify",
      "enable_motor_fault_notify",
      "enable_motor_stall_notify",
      "enable_motor_thermal_protection_status_notify",
    ]);
    // And they work: a stall is still reported.
    await rig.rvr.driveTankNormalized({ left: 40, right: 40 });
    rig.sim.body.setTreadBlocked("right", true);
    await clock.tickAsync(600);
    assert.ok(rig.wire.indexOf("out", "motor_stall_notify") >= 0);
  });
});

Deno.test("a lost link ends moves and disarms the watchdog", async () => {
  await withRig({ commandTimeoutS: 5 }, async (rig, clock) => {
    await rig.rvr.driveWithHeading({ speed: 30, headingDeg: 0 });
    const signal = rig.rvr.movesSignal();
    assert.equal(rig.rvr.safetyStatus().watchdog.armed, true);
    await rig.wire.close(); // the robot's end hangs up
    await clock.tickAsync(0);
    assert.equal(rig.link.isOpen, false);
    assert.ok(signal.aborted);
    assert.equal((signal.reason as MotionStoppedError).reason, "disconnect");
    assert.equal(rig.rvr.safetyStatus().watchdog.armed, false);
    await assert.rejects(rig.rvr.driveWithHeading({ speed: 30, headingDeg: 0 }), NotConnectedError);
  });
});

Deno.test("not connected: commands fail fast, the e-stop still latches", async () => {
  const clock = fakeClock();
  const rig = makeRig({ connect: false, commandTimeoutS: 0 });
  try {
    await assert.rejects(rig.rvr.command("get_battery_percentage", {}), NotConnectedError);
    await assert.rejects(rig.rvr.stop(), NotConnectedError);
    assert.equal(rig.queue.stats.enqueued, 0, "nothing was queued");
    const r = await rig.rvr.emergencyStop("tool");
    assert.equal(r.sent, false);
    assert.match(r.error ?? "", /not connected/);
    assert.equal(rig.state.safety.estopLatched, true);
    rig.links.announce();
    const report = await rig.rvr.ready();
    assert.ok(report.ok);
    await assert.rejects(
      rig.rvr.driveWithHeading({ speed: 10, headingDeg: 0 }),
      (e: unknown) => isEstopRefusal(e),
    );
    await clock.tickAsync(0);
    assert.equal(rig.wire.received("drive_with_heading").length, 0);
  } finally {
    await rig.close();
    clock.uninstall();
  }
});

Deno.test("bad input is refused at once with a clear error", async () => {
  await withRig({ commandTimeoutS: 0 }, async (rig) => {
    const { rvr } = rig;
    const enqueuedBefore = rig.queue.stats.enqueued;
    await assert.rejects(
      rvr.command("get_battery_percentage", {}, { priority: "emergency" as "high" }),
      /reserved for emergencyStop/,
    );
    await assert.rejects(
      rvr.command("echo", { data: [] }),
      (e: unknown) => e instanceof TypeError && /pass \{ target: 1 \}/.test(e.message),
    );
    await assert.rejects(
      rvr.command("nope" as "echo", { data: [] }, { target: 1 }),
      (e: unknown) => e instanceof TypeError && /Unknown RVR command "nope"/.test(e.message),
    );
    await assert.rejects(
      rvr.command("drive_with_heading", { speed: 300, heading: 0, flags: 0 }),
      (e: unknown) => e instanceof RangeError && /speed/.test(e.message) && /300/.test(e.message),
    );
    assert.throws(
      () => rvr.driveWithHeading({ speed: 20, headingDeg: 400 }),
      (e: unknown) => e instanceof RangeError && /headingDeg .* 0 to 359, got 400/.test(e.message),
    );
    assert.throws(
      () => rvr.driveTankSi({ leftMps: Number.NaN, rightMps: 0 }),
      (e: unknown) => e instanceof RangeError && /leftMps must be a finite number/.test(e.message),
    );
    assert.throws(
      () => rvr.driveToPositionSi({ yawDeg: 0, xM: 0, yM: 1, speedMps: -1 }),
      /speedMps must be >= 0/,
    );
    assert.equal(rig.queue.stats.enqueued, enqueuedBefore, "nothing was queued");
    assert.equal(rig.wire.received().length, 0);
  });
});

Deno.test("a correlation id reaches the log lines of the request", async () => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (r) => records.push(r) },
    contextLocalStorage: new AsyncLocalStorage(),
    loggers: [
      { category: ["rvr", "robot"], sinks: ["memory"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
  try {
    await withRig({ commandTimeoutS: 0 }, async (rig) => {
      records.length = 0;
      await rig.rvr.command("get_battery_percentage", {}, { correlationId: "call-42" });
      await rig.rvr.command("get_battery_voltage_state", {});
      const sending = records.filter((r) => r.category.join(".") === "rvr.robot");
      const tagged = sending.find((r) => r.properties.command === "get_battery_percentage");
      assert.equal(tagged?.properties.correlationId, "call-42");
      const untagged = sending.find((r) => r.properties.command === "get_battery_voltage_state");
      assert.ok(untagged);
      assert.equal(untagged.properties.correlationId, undefined);
    });
  } finally {
    await reset();
  }
});

Deno.test("the safety set-up publishes the battery reading for telemetry", async (t) => {
  const batterySamples = (rig: Rig) =>
    rig.samples.filter((s) => s.sensor === "battery").map((s) => s.values);
  await t.step("percent and filtered volts, as the robot reports them", async () => {
    await withRig({ commandTimeoutS: 0 }, (rig) => {
      const samples = batterySamples(rig);
      assert.equal(samples.length, 1, JSON.stringify(rig.samples));
      const { percent, volts } = samples[0] as { percent: number; volts: number };
      assert.equal(percent, rig.sim.battery.percentage);
      // The wire carries a float32: equal to the robot's filtered reading to float32 precision.
      assert.ok(Math.abs(volts - rig.sim.battery.voltage(0)) < 1e-5, `${volts} V`);
      return Promise.resolve();
    });
  });
  await t.step("a failed volts read is reported; the percent is still published", async () => {
    const clock = fakeClock();
    const rig = makeRig({
      sim: { faults: { errorReplies: { get_battery_voltage_in_volts: 0x07 } } },
      commandTimeoutS: 0,
    });
    try {
      const report = await rig.rvr.ready();
      assert.deepEqual(report.failures.map((f) => f.split(":")[0]), [
        "get_battery_voltage_in_volts",
      ]);
      await clock.tickAsync(0);
      assert.deepEqual(batterySamples(rig), [{ percent: rig.sim.battery.percentage }]);
    } finally {
      try {
        await rig.close();
      } finally {
        clock.uninstall();
      }
    }
  });
});

Deno.test("a failed safety set-up step is reported, the rest still runs", async () => {
  const clock = fakeClock();
  const rig = makeRig({
    sim: { faults: { errorReplies: { enable_motor_stall_notify: 0x02 } } },
    commandTimeoutS: 0,
  });
  try {
    const report = await rig.rvr.ready();
    assert.equal(report.ok, false);
    assert.equal(report.failures.length, 1);
    assert.match(report.failures[0], /^enable_motor_stall_notify: .*bad_cid/);
    assert.equal(report.batteryState, "ok");
    await clock.tickAsync(0);
    assert.equal(rig.wire.received("enable_motor_fault_notify").length, 1);
  } finally {
    try {
      await rig.close();
    } finally {
      clock.uninstall();
    }
  }
});
