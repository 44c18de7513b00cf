import assert from "node:assert/strict";
import fc from "fast-check";
import { EventBus } from "../../src/core/mod.ts";
import type { RequestName, RequestOf } from "../../src/protocol/mod.ts";
import {
  BatteryCriticalError,
  EmergencyStopActiveError,
  ESTOP_ACTIVE_MESSAGE,
  LIMIT_RULES,
  type RobotMetrics,
  robotMetrics,
  type RobotTopics,
  Safety,
  type SafetyEvent,
  SPEED_LIMITED_COMMANDS,
  type SpeedLimitedCommand,
  StateStore,
  TOP_SPEED_MPS,
} from "../../src/robot/mod.ts";
import { fakeClock, metricValue, settle } from "../_helpers/mod.ts";

interface Parts {
  safety: Safety;
  bus: EventBus<RobotTopics>;
  state: StateStore;
  metrics: RobotMetrics;
  events: SafetyEvent[];
}

function makeSafety(options: { speedLimitPercent?: number; commandTimeoutS?: number } = {}): Parts {
  const bus = new EventBus<RobotTopics>();
  const state = new StateStore();
  const metrics = robotMetrics();
  const events: SafetyEvent[] = [];
  bus.subscribe("safety", (e) => {
    events.push(e.payload);
  });
  const safety = new Safety({ bus, state, metrics, ...options });
  return { safety, bus, state, metrics, events };
}

/** One over-limit request per speed-limited command and what 50 % makes of it. */
const CASES: {
  [C in SpeedLimitedCommand]: { params: RequestOf<C>; applied: Record<string, number> };
} = {
  drive_with_heading: { params: { speed: 200, heading: 90, flags: 0 }, applied: { speed: 127 } },
  raw_motors: {
    params: { left_mode: 1, left_duty_cycle: 255, right_mode: 2, right_duty_cycle: 128 },
    applied: { left_duty_cycle: 127, right_duty_cycle: 64 },
  },
  drive_tank_si_units: {
    params: { left_velocity: 1.5, right_velocity: -0.5 },
    applied: { left_velocity: 0.7775, right_velocity: -0.7775 / 3 },
  },
  drive_tank_normalized: {
    params: { left_velocity: 127, right_velocity: -64 },
    applied: { left_velocity: 63, right_velocity: -32 },
  },
  drive_rc_si_units: {
    params: { yaw_angular_velocity: 300, linear_velocity: 1.2, flags: 1 },
    applied: { yaw_angular_velocity: 300 * 0.7775 / 1.2, linear_velocity: 0.7775 },
  },
  drive_rc_normalized: {
    params: { yaw_angular_velocity: 100, linear_velocity: 127, flags: 0 },
    applied: { yaw_angular_velocity: 50, linear_velocity: 63 },
  },
  drive_with_yaw_si: {
    params: { yaw_angle: 45, linear_velocity: -1 },
    applied: { linear_velocity: -0.7775 },
  },
  drive_with_yaw_normalized: {
    params: { yaw_angle: 90, linear_velocity: -100 },
    applied: { linear_velocity: -63 },
  },
  drive_to_position_si: {
    params: { yaw_angle: 0, x: 1, y: 2, linear_speed: 1, flags: 0 },
    applied: { linear_speed: 0.7775 },
  },
  drive_to_position_normalized: {
    params: { yaw_angle: 10, x: -1, y: 0.5, linear_speed: 127, flags: 2 },
    applied: { linear_speed: 63 },
  },
};

Deno.test("Safety speed limit", async (t) => {
  await t.step("caps every speed-limited command at the percentage of full scale", async () => {
    const { safety, metrics, events } = makeSafety({ speedLimitPercent: 50 });
    for (const command of SPEED_LIMITED_COMMANDS) {
      const c = CASES[command];
      const r = safety.limit(command as RequestName, c.params as RequestOf<RequestName>);
      assert.equal(r.limited, true, command);
      assert.equal(r.speedLimitPercent, 50);
      for (const rule of LIMIT_RULES[command]) {
        const requested = (c.params as Record<string, number>)[rule.field];
        assert.equal(r.requested[rule.field], requested, `${command}.${rule.field} requested`);
        const applied = r.applied[rule.field];
        const expected = c.applied[rule.field] ?? requested;
        if (rule.integer) assert.equal(applied, expected, `${command}.${rule.field}`);
        else {
          assert.ok(Math.abs(applied - expected) < 1e-6, `${command}.${rule.field} ${applied}`);
          assert.equal(Math.fround(applied), applied, "SI values are exact f32s");
        }
        assert.ok(Math.abs(applied) <= rule.fullScale * 0.5, `${command}.${rule.field} over cap`);
        assert.equal(
          (r.params as unknown as Record<string, number>)[rule.field],
          applied,
          "params carry the applied value",
        );
      }
      // Fields that are not speeds are untouched.
      for (const [k, v] of Object.entries(c.params as Record<string, number>)) {
        if (!LIMIT_RULES[command].some((rule) => rule.field === k)) {
          assert.equal(
            (r.params as unknown as Record<string, number>)[k],
            v,
            `${command}.${k} kept`,
          );
        }
      }
      assert.equal(
        await metricValue(metrics, "rvr_safety_limited_commands_total", { command }),
        1,
      );
    }
    await settle();
    assert.equal(events.length, SPEED_LIMITED_COMMANDS.length);
    assert.ok(events.every((e) => e.type === "limited"));
    const heading = events.find((e) => e.data?.command === "drive_with_heading");
    assert.match(
      heading?.detail ?? "",
      /drive_with_heading reduced to the 50 % speed limit: speed 200 -> 127/,
    );
  });

  await t.step(
    "leaves commands within the limit, and commands without speed, unchanged",
    async () => {
      const { safety, events } = makeSafety({ speedLimitPercent: 50 });
      const params = { speed: 100, heading: 10, flags: 1 };
      const r = safety.limit("drive_with_heading", params);
      assert.equal(r.limited, false);
      assert.deepEqual(r.params, params);
      assert.deepEqual(r.applied, { speed: 100 });
      const ir = safety.limit("start_robot_to_robot_infrared_following", {
        far_code: 1,
        near_code: 2,
      });
      assert.deepEqual(ir, {
        params: { far_code: 1, near_code: 2 },
        requested: {},
        applied: {},
        limited: false,
        speedLimitPercent: 50,
      });
      await settle();
      assert.equal(events.length, 0);
    },
  );

  await t.step("100 % turns the limit off; 0 % stops every speed", () => {
    const off = makeSafety({ speedLimitPercent: 100 }).safety;
    const r = off.limit("drive_tank_si_units", { left_velocity: 5, right_velocity: -5 });
    assert.equal(r.limited, false);
    assert.deepEqual(r.applied, { left_velocity: 5, right_velocity: -5 });
    const zero = makeSafety({ speedLimitPercent: 0 }).safety;
    const z = zero.limit("drive_rc_normalized", {
      yaw_angular_velocity: -20,
      linear_velocity: 90,
      flags: 0,
    });
    assert.deepEqual(z.applied, { yaw_angular_velocity: 0, linear_velocity: 0 });
    assert.ok(!Object.is(z.applied.yaw_angular_velocity, -0));
  });

  await t.step("never exceeds the cap, keeps signs and the ratio between two speeds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.integer({ min: -127, max: 127 }),
        fc.integer({ min: -127, max: 127 }),
        (percent, l, r, ln, rn) => {
          const { safety } = makeSafety({ speedLimitPercent: percent });
          const si = safety.limit("drive_tank_si_units", { left_velocity: l, right_velocity: r });
          const cap = (TOP_SPEED_MPS * percent) / 100;
          for (const [k, v] of Object.entries(si.applied)) {
            const req = si.requested[k];
            if (percent < 100) assert.ok(Math.abs(v) <= cap, `${k}=${v} over ${cap}`);
            assert.ok(Math.sign(v) === 0 || Math.sign(v) === Math.sign(req), "sign kept");
            assert.ok(Math.abs(v) <= Math.abs(req), "never faster than requested");
          }
          const { left_velocity: al, right_velocity: ar } = si.applied;
          if (si.limited && Math.abs(al) > 1e-4 && Math.abs(ar) > 1e-4) {
            const ratio = al / ar;
            assert.ok(Math.abs(ratio - l / r) <= 1e-3 * Math.max(1, Math.abs(l / r)), "ratio kept");
          }
          const n = safety.limit("drive_tank_normalized", {
            left_velocity: ln,
            right_velocity: rn,
          });
          for (const v of Object.values(n.applied)) {
            assert.ok(Number.isInteger(v));
            if (percent < 100) assert.ok(Math.abs(v) <= (127 * percent) / 100);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  await t.step("rejects bad settings and non-numeric speeds with clear errors", () => {
    for (const bad of [-1, 101, Number.NaN]) {
      assert.throws(
        () => makeSafety({ speedLimitPercent: bad }),
        (e: unknown) =>
          e instanceof RangeError && e.message.includes("RVR_MAX_SPEED_PERCENT") &&
          e.message.includes(String(bad)),
      );
    }
    assert.throws(
      () => makeSafety({ commandTimeoutS: -2 }),
      (e: unknown) => e instanceof RangeError && /RVR_COMMAND_TIMEOUT.*-2/.test(e.message),
    );
    const { safety, metrics } = makeSafety();
    assert.throws(() => safety.setSpeedLimitPercent(150), RangeError);
    safety.setSpeedLimitPercent(20);
    assert.equal(safety.speedLimitPercent, 20);
    assert.throws(
      () =>
        safety.limit("drive_tank_si_units", {
          left_velocity: Number.NaN,
          right_velocity: 0,
        }),
      (e: unknown) =>
        e instanceof TypeError && /left_velocity must be a finite number/.test(e.message),
    );
    return metricValue(metrics, "rvr_safety_speed_limit_percent").then((v) => assert.equal(v, 20));
  });
});

Deno.test("Safety movement checks", async (t) => {
  await t.step(
    "a latched e-stop refuses movement with the clear_emergency_stop message",
    async () => {
      const { safety, metrics, events } = makeSafety();
      safety.checkMovement("drive_with_heading");
      assert.equal(safety.latchEstop("tool", "operator pressed stop"), true);
      assert.equal(safety.latchEstop("http", "second press"), false, "first reason kept");
      assert.throws(
        () => safety.checkMovement("drive_tank_si_units"),
        (e: unknown) =>
          e instanceof EmergencyStopActiveError && e.message.startsWith(ESTOP_ACTIVE_MESSAGE) &&
          e.message.includes('"drive_tank_si_units"') && e.reason === "operator pressed stop",
      );
      assert.equal(
        await metricValue(metrics, "rvr_safety_emergency_stops_total", { source: "tool" }),
        1,
      );
      assert.equal(
        await metricValue(metrics, "rvr_safety_emergency_stops_total", { source: "http" }),
        1,
      );
      assert.equal(await metricValue(metrics, "rvr_safety_estop_latched"), 1);
      assert.equal(
        await metricValue(metrics, "rvr_safety_rejected_commands_total", { reason: "estop" }),
        1,
      );
      assert.equal(safety.clearEstop(), true);
      assert.equal(safety.clearEstop(), false);
      safety.checkMovement("drive_tank_si_units");
      assert.equal(await metricValue(metrics, "rvr_safety_estop_latched"), 0);
      await settle();
      assert.deepEqual(events.map((e) => e.type), ["estop", "estop_cleared"]);
      assert.equal(safety.status().estop.latched, false);
    },
  );

  await t.step("battery critical refuses movement until the state recovers", async () => {
    const { safety, state, metrics } = makeSafety();
    safety.setBatteryPercent(3);
    assert.equal(safety.setBatteryState("low"), null);
    assert.equal(safety.setBatteryState("critical"), "critical");
    assert.equal(safety.setBatteryState("critical"), null);
    assert.equal(state.safety.batteryCritical, true);
    assert.throws(
      () => safety.checkMovement("raw_motors"),
      (e: unknown) =>
        e instanceof BatteryCriticalError &&
        /^battery is critical: command "raw_motors" was refused \(3 % left\)/.test(e.message) &&
        /Charge or swap the battery/.test(e.message),
    );
    assert.equal(
      await metricValue(metrics, "rvr_safety_rejected_commands_total", {
        reason: "battery_critical",
      }),
      1,
    );
    assert.equal(safety.setBatteryState("low"), "recovered");
    safety.checkMovement("raw_motors");
    assert.deepEqual(safety.status().battery, { state: "low", percent: 3, critical: false });
  });
});

Deno.test("Safety watchdog", async (t) => {
  await t.step("fires once, commandTimeoutS after the last kick", async () => {
    const clock = fakeClock();
    const { safety } = makeSafety({ commandTimeoutS: 5 });
    try {
      let fired = 0;
      safety.onWatchdog(() => fired++);
      safety.kickWatchdog();
      assert.deepEqual(safety.status().watchdog, { enabled: true, armed: true, expiresAt: 5000 });
      await clock.tickAsync(3000);
      safety.kickWatchdog(); // a newer movement command
      await clock.tickAsync(4999);
      assert.equal(fired, 0);
      await clock.tickAsync(1);
      assert.equal(fired, 1);
      assert.equal(safety.watchdogArmed, false);
      await clock.tickAsync(60_000);
      assert.equal(fired, 1, "fires once per arming");
    } finally {
      safety.dispose();
      clock.uninstall();
    }
  });

  await t.step("0 disables it; disarm and a new timeout apply at once", async () => {
    const clock = fakeClock();
    const { safety } = makeSafety({ commandTimeoutS: 0 });
    try {
      let fired = 0;
      safety.onWatchdog(() => fired++);
      safety.kickWatchdog();
      assert.equal(safety.watchdogArmed, false);
      await clock.tickAsync(600_000);
      assert.equal(fired, 0);
      safety.setCommandTimeoutS(2);
      safety.kickWatchdog();
      safety.disarmWatchdog();
      await clock.tickAsync(10_000);
      assert.equal(fired, 0);
      safety.kickWatchdog();
      safety.setCommandTimeoutS(1); // re-arms with the new timeout
      await clock.tickAsync(1000);
      assert.equal(fired, 1);
    } finally {
      safety.dispose();
      clock.uninstall();
    }
  });

  await t.step("latching the e-stop disarms it", async () => {
    const clock = fakeClock();
    const { safety } = makeSafety({ commandTimeoutS: 1 });
    try {
      let fired = 0;
      safety.onWatchdog(() => fired++);
      safety.kickWatchdog();
      safety.latchEstop("api", "test");
      await clock.tickAsync(5000);
      assert.equal(fired, 0);
    } finally {
      safety.dispose();
      clock.uninstall();
    }
  });
});
