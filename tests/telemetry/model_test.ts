import assert from "node:assert/strict";
import fc from "fast-check";
import type { RobotTopics } from "../../src/robot/events.ts";
import type { RobotEvent } from "../../src/telemetry/aggregator.ts";
import { applyFrame, DeltaEncoder, type TelemetryFrame } from "../../src/telemetry/json_delta.ts";
import { TelemetryModel } from "../../src/telemetry/model.ts";
import {
  emptyTelemetryState,
  headingFromYaw,
  type TelemetryState,
} from "../../src/telemetry/state.ts";
import { type StateChange, StateStore } from "../../src/robot/mod.ts";

let busSeq = 0;
function ev<K extends keyof RobotTopics>(topic: K, payload: RobotTopics[K]): RobotEvent {
  return {
    topic,
    payload,
    seq: ++busSeq,
    publishedAt: (payload as { at: number }).at,
  } as RobotEvent;
}

function sample(sensor: string, values: Record<string, number>, at = 1000, valid = true) {
  return ev("robot.sample", { sensor, values, valid, at });
}

/** What a client gets after the frame went over the wire as JSON text. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** Any robot event the model folds (and some it ignores), with awkward numbers. */
function arbitraryEvent(): fc.Arbitrary<RobotEvent> {
  const num = fc.oneof(
    fc.double({ min: -400, max: 400, noNaN: true }),
    fc.constantFrom(0, -0, 90, -90, 180, -180, 359.999, Infinity, NaN),
  );
  const at = fc.integer({ min: 1, max: 10_000 });
  return fc.oneof(
    fc.record({
      sensor: fc.constantFrom(
        "locator",
        "imu",
        "speed",
        "velocity",
        "accelerometer",
        "gyroscope",
        "color_detection",
        "ambient_light",
        "battery",
        "quaternion",
      ),
      values: fc.dictionary(
        fc.constantFrom(
          "x_m",
          "y_m",
          "yaw_deg",
          "pitch_deg",
          "speed_mps",
          "x_g",
          "z_dps",
          "r",
          "lux",
          "volts",
        ),
        num,
      ),
      valid: fc.boolean(),
      at,
    }).map((p) => ev("robot.sample", p)),
    fc.record({
      type: fc.constantFrom("estop", "estop_cleared", "limited", "thermal", "battery", "stall"),
      detail: fc.string(),
      at,
      data: fc.record({
        reason: fc.string(),
        speedLimitPercent: fc.integer({ min: 0, max: 100 }),
        batteryState: fc.constantFrom("ok", "low", "critical"),
        left: fc.record({ temperatureC: num, status: fc.integer({ min: 0, max: 3 }) }),
      }, { requiredKeys: [] }),
    }).map((p) => ev("safety", p as RobotTopics["safety"])),
    fc.record({
      name: fc.constantFrom(
        "motor_stall_notify",
        "motor_fault_notify",
        "battery_voltage_state_change_notify",
        "color_detection_notify",
      ),
      values: fc.record({
        motor_index: fc.integer({ min: 0, max: 2 }),
        is_triggered: fc.boolean(),
        is_fault: fc.boolean(),
        state: fc.integer({ min: 0, max: 5 }),
        red: fc.integer({ min: 0, max: 255 }),
        confidence: fc.integer({ min: 0, max: 255 }),
      }, { requiredKeys: [] }),
      at,
    }).map((p) => ev("robot.notification", { ...p, node: 2 } as RobotTopics["robot.notification"])),
  );
}

Deno.test("TelemetryModel", async (t) => {
  await t.step("starts empty, with initial values merged per part", () => {
    const m = new TelemetryModel({
      connection: { port: "/dev/serial0", simulated: true },
      safety: { speed_limit_percent: 50 },
    });
    const s = m.snapshot();
    const expected = emptyTelemetryState();
    expected.connection.port = "/dev/serial0";
    expected.connection.simulated = true;
    expected.safety.speed_limit_percent = 50;
    assert.deepEqual(s, expected);
    assert.deepEqual(wire(s), s, "plain JSON");
    assert.throws(
      () => new TelemetryModel({ nope: 1 } as never),
      /Unknown telemetry state key "nope" in initial; use one of connection, power/,
    );
    assert.throws(
      () => new TelemetryModel({ pose: { z_m: 1 } } as never),
      /Unknown telemetry state key pose.z_m in initial; use one of x_m, y_m, yaw_deg, heading_deg/,
    );
    assert.throws(() => new TelemetryModel({ pose: 3 } as never), /initial.pose must be an object/);
  });

  await t.step("folds sensor samples, rounded to the documented decimals", () => {
    const m = new TelemetryModel();
    const changed = m.apply([
      sample("locator", { x_m: 0.123456, y_m: -1.00004 }, 1001),
      sample("imu", { pitch_deg: 1.234, roll_deg: -0.005, yaw_deg: 90.004 }, 1002),
      sample("speed", { speed_mps: 0.333333 }, 1003),
      sample("velocity", { x_mps: 0.1, y_mps: -0.22222 }, 1004),
      sample("accelerometer", { x_g: 0.0123456, y_g: -0.00004, z_g: 0.99999 }, 1005),
      sample("gyroscope", { x_dps: 1.111, y_dps: 2.225, z_dps: -30.5 }, 1006),
      sample("color_detection", { r: 255, g: 10, b: 0, index: 3, confidence: 0.50196 }, 1007),
      sample("ambient_light", { lux: 123.456 }, 1008),
      sample("battery", { percent: 87, volts: 7.6543 }, 1009),
    ]);
    assert.equal(changed, true);
    const s = m.snapshot();
    assert.deepEqual(s.pose, { x_m: 0.1235, y_m: -1, yaw_deg: 90, heading_deg: 270 });
    assert.deepEqual(s.imu, { pitch_deg: 1.23, roll_deg: 0, yaw_deg: 90 });
    assert.ok(!Object.is(s.imu.roll_deg, -0), "never -0");
    assert.equal(s.speed_mps, 0.333);
    assert.deepEqual(s.velocity, { x_mps: 0.1, y_mps: -0.222 });
    assert.deepEqual(s.accelerometer, { x_g: 0.012, y_g: 0, z_g: 1 });
    assert.deepEqual(s.gyroscope, { x_dps: 1.1, y_dps: 2.2, z_dps: -30.5 });
    assert.deepEqual(s.color, { r: 255, g: 10, b: 0, index: 3, confidence: 0.502 });
    assert.equal(s.ambient_lux, 123);
    assert.deepEqual(s.battery, { percent: 87, volts: 7.654, state: "unknown" });
    assert.equal(s.updated_at, 1009);
  });

  await t.step("heading follows drive_with_heading: 0 forward, 90 right, [0, 360)", () => {
    const cases: [number, number][] = [
      [0, 0],
      [90, 270], // yaw + = left
      [-90, 90],
      [180, 180],
      [-180, 180],
      [45.5, 314.5],
      [-0.004, 0], // 360.00 after rounding is 0
      [0.004, 0],
      [359.999, 0],
    ];
    for (const [yaw, heading] of cases) assert.equal(headingFromYaw(yaw), heading, `yaw ${yaw}`);
    assert.equal(headingFromYaw(null), null);
  });

  await t.step("invalid readings, unknown sensors and unused notifications change nothing", () => {
    const m = new TelemetryModel();
    const before = m.snapshot();
    assert.equal(m.apply([sample("locator", { x_m: 1, y_m: 2 }, 1000, false)]), false);
    assert.equal(m.apply([sample("quaternion", { w: 1, x: 0, y: 0, z: 0 })]), false);
    assert.equal(
      m.apply([
        ev("robot.notification", { name: "will_sleep_notify", node: 1, values: {}, at: 5 }),
      ]),
      false,
    );
    assert.deepEqual(m.snapshot(), before);
    // Same values again: no change.
    m.apply([sample("locator", { x_m: 1, y_m: 2 }, 2000)]);
    assert.equal(m.apply([sample("locator", { x_m: 1.00001, y_m: 2 }, 3000)]), false);
    assert.equal(m.snapshot().updated_at, 2000, "updated_at moves only with a change");
    // A missing value is null, not a crash.
    m.apply([sample("locator", { x_m: 1 } as Record<string, number>, 4000)]);
    assert.equal(m.snapshot().pose.y_m, null);
  });

  await t.step("folds notifications: thermal, stall, fault, battery state, colour", () => {
    const m = new TelemetryModel();
    const n = (name: string, values: Record<string, unknown>, at = 10) =>
      ev("robot.notification", { name, node: 2, values, at } as RobotTopics["robot.notification"]);
    m.apply([
      n("motor_thermal_protection_status_notify", {
        left_motor_temperature: 41.26,
        left_motor_status: 1,
        right_motor_temperature: 38,
        right_motor_status: 0,
      }),
      n("motor_stall_notify", { motor_index: 1, is_triggered: true }),
      n("motor_fault_notify", { is_fault: true }),
      n("battery_voltage_state_change_notify", { state: 2 }),
      n("color_detection_notify", {
        red: 1,
        green: 2,
        blue: 3,
        confidence: 255,
        color_classification_id: 7,
      }),
    ]);
    let s = m.snapshot();
    assert.deepEqual(s.motors, {
      left_c: 41.3,
      right_c: 38,
      left_status: "warn",
      right_status: "ok",
      left_stalled: false,
      right_stalled: true,
    });
    assert.equal(s.safety.motor_fault, true);
    assert.equal(s.battery.state, "low");
    assert.equal(s.safety.battery_critical, false);
    assert.deepEqual(s.color, { r: 1, g: 2, b: 3, index: 7, confidence: 1 });
    m.apply([
      n("motor_stall_notify", { motor_index: 1, is_triggered: false }),
      n("battery_voltage_state_change_notify", { state: 3 }),
    ]);
    s = m.snapshot();
    assert.equal(s.motors.right_stalled, false);
    assert.equal(s.battery.state, "critical");
    assert.equal(s.safety.battery_critical, true);
  });

  await t.step("folds real state changes: connection, power, safety, sensors", () => {
    const store = new StateStore();
    const changes: StateChange[] = [];
    store.addListener((c) => changes.push(c));
    store.transition("connecting");
    store.transition("connected");
    store.setPower("awake");
    store.updateSafety({ batteryState: "ok", batteryPercent: 64 });
    store.latchEstop("operator pressed the button");
    store.updateSensors({ activeStreams: ["imu", "locator"], streamPeriodMs: 50 });
    store.transition("reconnecting", { reason: "robot silent", error: new Error("no reply") });
    const m = new TelemetryModel();
    assert.equal(m.apply(changes.map((c) => ev("robot.state", c))), true);
    const s = m.snapshot();
    assert.deepEqual(s.connection, {
      status: "reconnecting",
      port: null,
      simulated: null,
      attempt: 1,
      error: "no reply",
    });
    assert.equal(s.power, "awake");
    assert.equal(s.safety.estop, true);
    assert.equal(s.safety.estop_reason, "operator pressed the button");
    assert.deepEqual(s.battery, { percent: 64, volts: null, state: "ok" });
    assert.deepEqual(s.streams, { sensors: "imu,locator", interval_ms: 50 });
    assert.equal(s.updated_at, changes[changes.length - 1].at);
  });

  await t.step("folds safety events", () => {
    const m = new TelemetryModel();
    const safety = (
      type: RobotTopics["safety"]["type"],
      data: Record<string, unknown>,
      at: number,
    ) => ev("safety", { type, detail: `${type} happened`, at, data });
    m.apply([
      safety("estop", { source: "http", reason: "dashboard" }, 1),
      safety("limited", { command: "drive_with_heading", speedLimitPercent: 40 }, 2),
      safety("thermal", {
        left: { temperatureC: 70.04, status: 2 },
        right: { temperatureC: 50, status: 1 },
      }, 3),
      safety("battery", { batteryState: "critical", how: "notification" }, 4),
    ]);
    let s = m.snapshot();
    assert.equal(s.safety.estop, true);
    assert.equal(s.safety.estop_reason, "dashboard");
    assert.equal(s.safety.speed_limit_percent, 40);
    assert.equal(s.motors.left_c, 70);
    assert.equal(s.motors.left_status, "critical");
    assert.equal(s.motors.right_status, "warn");
    assert.equal(s.battery.state, "critical");
    assert.equal(s.safety.battery_critical, true);
    assert.deepEqual(
      [s.safety.last_event, s.safety.last_detail, s.safety.last_event_at],
      ["battery", "battery happened", 4],
    );
    m.apply([safety("estop_cleared", { reason: "cleared" }, 5)]);
    s = m.snapshot();
    assert.equal(s.safety.estop, false);
    assert.equal(s.safety.estop_reason, null);
  });

  await t.step("snapshot is a copy", () => {
    const m = new TelemetryModel();
    const s = m.snapshot();
    s.pose.x_m = 99;
    assert.equal(m.snapshot().pose.x_m, null);
  });

  await t.step(
    "properties: plain JSON, heading matches yaw, apply says exactly whether it changed, batching does not matter, repeats change nothing",
    () => {
      const event = arbitraryEvent();
      fc.assert(
        fc.property(fc.array(event, { maxLength: 40 }), (events) => {
          const one = new TelemetryModel();
          for (const e of events) {
            const before = JSON.stringify(one.snapshot());
            const changed = one.apply([e]);
            const s = one.snapshot();
            assert.equal(changed, JSON.stringify(s) !== before, "apply reports a change exactly");
            assert.deepEqual(wire(s), s, "plain JSON, no -0, NaN or Infinity");
            assert.equal(s.pose.heading_deg, headingFromYaw(s.pose.yaw_deg));
            if (s.pose.heading_deg !== null) {
              assert.ok(s.pose.heading_deg >= 0 && s.pose.heading_deg < 360);
              const diff = ((s.pose.heading_deg + (s.pose.yaw_deg as number)) % 360 + 360) % 360;
              assert.ok(diff < 0.01 || diff > 359.99, "heading = (360 - yaw) mod 360");
            }
            assert.equal(one.apply([e]), false, "the same event again changes nothing");
          }
          const batched = new TelemetryModel();
          batched.apply(events);
          assert.deepEqual(batched.snapshot(), one.snapshot(), "batching does not matter");
        }),
        { numRuns: 300 },
      );
    },
  );
});

Deno.test("TelemetryModel frames", async (t) => {
  await t.step("full frame first, then deltas of the changed leaves in state order", () => {
    const m = new TelemetryModel({ power: "awake" });
    assert.equal(m.seq, 0);
    assert.equal(m.lastFull(), null, "no frame before the first");
    const f1 = m.nextFrame(100);
    assert.deepEqual(f1, {
      type: "full",
      seq: 1,
      at: 100,
      state: { ...emptyTelemetryState(), power: "awake" },
    });
    assert.equal(m.nextFrame(101), null, "nothing changed: no frame, no new seq");
    assert.equal(m.seq, 1);
    // Changed in the opposite of the state's key order: the delta lists them in state order.
    m.apply([sample("speed", { speed_mps: 0.25 }, 200), sample("locator", { x_m: 0.5 }, 150)]);
    const f2 = m.nextFrame(201);
    assert.deepEqual(f2, {
      type: "delta",
      seq: 2,
      at: 201,
      changes: { "pose.x_m": 0.5, "speed_mps": 0.25, "updated_at": 200 },
    });
    assert.deepEqual(
      Object.keys((f2 as Extract<TelemetryFrame, { type: "delta" }>).changes),
      ["pose.x_m", "speed_mps", "updated_at"],
    );
    assert.deepEqual(m.lastFull(), { type: "full", seq: 2, at: 201, state: m.snapshot() });
    assert.equal(m.seq, 2, "lastFull takes no new number");
  });

  await t.step("a leaf changed and changed back between frames is not in the delta", () => {
    const m = new TelemetryModel();
    m.nextFrame(1);
    m.apply([sample("speed", { speed_mps: 0.3 }, 10), sample("speed", { speed_mps: 0 }, 10)]);
    m.apply([sample("speed", { speed_mps: null as unknown as number }, 10)]);
    assert.deepEqual(m.nextFrame(2), {
      type: "delta",
      seq: 2,
      at: 2,
      changes: { updated_at: 10 },
    }, "speed_mps is null again, as in frame 1; only the time moved");
    m.apply([sample("speed", { speed_mps: 0.3 }, 10), sample("speed", { speed_mps: 0 }, 10)]);
    m.apply([sample("speed", { speed_mps: null as unknown as number }, 10)]);
    assert.equal(m.nextFrame(3), null, "nothing differs from frame 2: no frame");
    assert.equal(m.seq, 2);
  });

  await t.step("frames are copies: folding later does not change a frame already made", () => {
    const m = new TelemetryModel();
    const full = m.nextFrame(1) as Extract<TelemetryFrame, { type: "full" }>;
    m.apply([sample("locator", { x_m: 1, y_m: 2 }, 5)]);
    assert.equal(full.state.pose.x_m, null);
    const last = m.lastFull() as Extract<TelemetryFrame, { type: "full" }>;
    last.state.pose.x_m = 99;
    assert.equal(m.snapshot().pose.x_m, 1);
  });

  await t.step("a bad frame time is refused with a clear message", () => {
    const m = new TelemetryModel();
    assert.throws(() => m.nextFrame(NaN), /finite epoch ms, got NaN; e.g. Date.now\(\)/);
    assert.throws(() => m.nextFrame("1" as unknown as number), TypeError);
    assert.equal(m.seq, 0, "a refused call makes no frame");
  });

  await t.step(
    "properties: the frames are exactly DeltaEncoder's over the snapshots, and applyFrame rebuilds the state",
    () => {
      const steps = fc.array(
        fc.record({ events: fc.array(arbitraryEvent(), { maxLength: 8 }), resync: fc.boolean() }),
        { minLength: 1, maxLength: 30 },
      );
      fc.assert(
        fc.property(steps, (list) => {
          const m = new TelemetryModel();
          const oracle = new DeltaEncoder();
          let client: TelemetryState | null = null;
          let at = 1;
          for (const { events, resync } of list) {
            m.apply(events);
            at++;
            const frame = m.nextFrame(at);
            assert.deepEqual(wire(frame), wire(oracle.next(m.snapshot(), at)));
            assert.equal(m.seq, oracle.seq);
            if (frame !== null) client = applyFrame(client, wire(frame));
            if (resync) {
              assert.deepEqual(m.lastFull(), oracle.lastFull(), "the full frame of a resync");
              client = applyFrame(null, wire(m.lastFull() as TelemetryFrame));
            }
            assert.deepEqual(client, m.snapshot(), "the client follows the state exactly");
          }
        }),
        { numRuns: 300 },
      );
    },
  );
});

Deno.test("TelemetryModel.fromSnapshot", async (t) => {
  await t.step("starts from a real state store's snapshot, initial values first", () => {
    const store = new StateStore();
    store.transition("connecting");
    store.transition("connected");
    store.setPower("awake");
    store.updateSafety({ batteryState: "low", batteryPercent: 21 });
    store.latchEstop("bumped");
    store.updateSensors({ activeStreams: ["imu"], streamPeriodMs: 100 });
    const m = TelemetryModel.fromSnapshot(store.snapshot, {
      initial: {
        connection: { port: "/dev/ttyS0", simulated: false },
        safety: { speed_limit_percent: 40 },
      },
      at: 1_700_000_000_000,
    });
    const s = m.snapshot();
    assert.deepEqual(s.connection, {
      status: "connected",
      port: "/dev/ttyS0",
      simulated: false,
      attempt: 0,
      error: null,
    });
    assert.equal(s.power, "awake");
    assert.deepEqual(
      [s.safety.estop, s.safety.estop_reason, s.safety.speed_limit_percent],
      [true, "bumped", 40],
    );
    assert.deepEqual(s.battery, { percent: 21, volts: null, state: "low" });
    assert.deepEqual(s.streams, { sensors: "imu", interval_ms: 100 });
    assert.equal(s.updated_at, 1_700_000_000_000);
    assert.equal(m.seq, 0, "no frame yet: the first one is full");
    assert.equal(m.nextFrame(1)?.type, "full");
  });

  await t.step("is what folding the same changes gives", () => {
    const store = new StateStore();
    const changes: StateChange[] = [];
    store.addListener((c) => changes.push(c));
    store.transition("connecting");
    store.transition("connected");
    store.updateSafety({ batteryState: "ok", batteryPercent: 80 });
    const folded = new TelemetryModel();
    folded.apply(changes.map((c) => ev("robot.state", { ...c, at: 5 })));
    const seeded = TelemetryModel.fromSnapshot(store.snapshot, { at: 5 });
    assert.deepEqual(seeded.snapshot(), folded.snapshot());
  });

  await t.step("bad input is refused with a clear message", () => {
    assert.throws(
      () => TelemetryModel.fromSnapshot(null as never),
      /fromSnapshot needs a state snapshot \(runtime.state.snapshot\), got null/,
    );
    const partial = { ...new StateStore().snapshot } as Record<string, unknown>;
    delete partial.power;
    assert.throws(
      () => TelemetryModel.fromSnapshot(partial as never),
      /The state snapshot has no power part; pass runtime.state.snapshot/,
    );
    assert.throws(
      () => TelemetryModel.fromSnapshot(new StateStore().snapshot, { at: Infinity }),
      /finite epoch ms, got Infinity/,
    );
    assert.throws(
      () => TelemetryModel.fromSnapshot(new StateStore().snapshot, { initial: { x: 1 } as never }),
      /Unknown telemetry state key "x" in initial/,
    );
  });
});
