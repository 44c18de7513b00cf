import assert from "node:assert/strict";
import fc from "fast-check";
import { type StateChange, StateStore } from "../../src/core/mod.ts";
import type { RobotTopics } from "../../src/robot/events.ts";
import type { RobotEvent } from "../../src/telemetry/aggregator.ts";
import {
  applyFrame,
  DeltaEncoder,
  emptyTelemetryState,
  headingFromYaw,
  type TelemetryFrame,
  TelemetryModel,
  type TelemetryState,
} from "../../src/telemetry/model.ts";

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
      const num = fc.oneof(
        fc.double({ min: -400, max: 400, noNaN: true }),
        fc.constantFrom(0, -0, 90, -90, 180, -180, 359.999, Infinity, NaN),
      );
      const at = fc.integer({ min: 1, max: 10_000 });
      const event = fc.oneof(
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
        }).map((p) =>
          ev("robot.notification", { ...p, node: 2 } as RobotTopics["robot.notification"])
        ),
      );
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

Deno.test("DeltaEncoder and applyFrame", async (t) => {
  await t.step("full frame first, then deltas of changed leaves, null when unchanged", () => {
    const enc = new DeltaEncoder();
    assert.equal(enc.seq, 0);
    assert.equal(enc.lastFull(), null);
    const s0 = emptyTelemetryState();
    const f1 = enc.next(s0, 100);
    assert.deepEqual(f1, { type: "full", seq: 1, at: 100, state: s0 });
    const s1 = emptyTelemetryState();
    s1.pose.x_m = 0.5;
    s1.safety.estop = true;
    s1.updated_at = 101;
    const f2 = enc.next(s1, 101);
    assert.deepEqual(f2, {
      type: "delta",
      seq: 2,
      at: 101,
      changes: { "safety.estop": true, "pose.x_m": 0.5, "updated_at": 101 },
    });
    assert.equal(enc.next(structuredClone(s1), 102), null, "nothing changed: no frame, no seq");
    assert.equal(enc.seq, 2);
    const f3 = enc.full(s1, 103);
    assert.deepEqual(f3, { type: "full", seq: 3, at: 103, state: s1 });
    assert.deepEqual(enc.lastFull(), { type: "full", seq: 3, at: 103, state: s1 });
    s1.pose.x_m = 0.25;
    const f4 = enc.next(s1, 104);
    assert.deepEqual(f4, { type: "delta", seq: 4, at: 104, changes: { "pose.x_m": 0.25 } });
    const last = enc.lastFull();
    assert.equal(last?.seq, 4, "lastFull takes no new number");
    assert.equal(enc.seq, 4);
    // Replaying the frames rebuilds the state.
    let client = applyFrame(null, wire(f1 as TelemetryFrame));
    client = applyFrame(client, wire(f2 as TelemetryFrame));
    client = applyFrame(client, wire(f4 as TelemetryFrame));
    assert.deepEqual(client, s1);
  });

  await t.step("frames are copies: mutating the state later does not change them", () => {
    const enc = new DeltaEncoder();
    const s = emptyTelemetryState();
    const f = enc.next(s, 1);
    s.pose.x_m = 3;
    assert.equal(f?.type === "full" && f.state.pose.x_m, null);
    assert.equal(enc.lastFull()?.type === "full" && enc.lastFull()?.seq, 1);
    assert.deepEqual(enc.next(s, 2), { type: "delta", seq: 2, at: 2, changes: { "pose.x_m": 3 } });
  });

  await t.step("a state whose shape changed is sent full", () => {
    const enc = new DeltaEncoder();
    enc.next(emptyTelemetryState(), 1);
    const odd = { ...emptyTelemetryState(), extra: { a: 1 } } as unknown as TelemetryState;
    assert.equal(enc.next(odd, 2)?.type, "full");
    const fewer = emptyTelemetryState() as unknown as Record<string, unknown>;
    delete fewer.ambient_lux;
    fewer.other = null;
    assert.equal(enc.next(fewer as unknown as TelemetryState, 3)?.type, "full");
  });

  await t.step("bad input is refused with a clear message", () => {
    const enc = new DeltaEncoder();
    assert.throws(
      () => enc.next({ "a.b": 1 } as unknown as TelemetryState, 1),
      /key "a.b" cannot be a dotted path segment/,
    );
    assert.throws(() => enc.next(emptyTelemetryState(), NaN), /finite epoch ms, got NaN/);
    assert.throws(
      () => applyFrame(null, { type: "delta", seq: 5, at: 1, changes: { "pose.x_m": 1 } }),
      /Delta frame 5 needs a base state and there is none: ask for a full frame/,
    );
    const base = emptyTelemetryState();
    assert.throws(
      () => applyFrame(base, { type: "delta", seq: 6, at: 1, changes: { "pose.z_m": 1 } }),
      /Delta frame 6 changes pose.z_m, which the base state does not have/,
    );
    assert.throws(
      () => applyFrame(base, { type: "delta", seq: 7, at: 1, changes: { "power.x": 1 } }),
      /power is not an object in the base state/,
    );
    assert.throws(
      () => applyFrame(base, { type: "delta", seq: 8, at: 1, changes: { "__proto__.x": 1 } }),
      /does not have/,
    );
    assert.throws(
      () => applyFrame(base, { type: "nope", seq: 9 } as unknown as TelemetryFrame),
      /Unknown telemetry frame type "nope" \(seq 9\)/,
    );
    assert.deepEqual(base, emptyTelemetryState(), "applyFrame never modifies its input");
  });

  await t.step(
    "property: frames over JSON rebuild every state exactly, across lost frames answered by full frames",
    () => {
      const template = emptyTelemetryState() as unknown as Record<string, unknown>;
      const paths: string[][] = [];
      for (const [k, v] of Object.entries(template)) {
        if (typeof v === "object" && v !== null) {
          for (const k2 of Object.keys(v)) paths.push([k, k2]);
        } else paths.push([k]);
      }
      const leaf = fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
        fc.string(),
      );
      const step = fc.record({
        edits: fc.array(fc.tuple(fc.nat({ max: paths.length - 1 }), leaf), { maxLength: 6 }),
        delivered: fc.boolean(),
        resync: fc.constantFrom("lastFull", "full"),
      });
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
          const enc = new DeltaEncoder();
          let state = emptyTelemetryState();
          // A client that loses frames and resyncs, and one that receives every broadcast frame.
          let lossy: TelemetryState | null = null;
          let lossySeq = 0;
          let follower: TelemetryState | null = null;
          let followerSeq = 0;
          const follow = (frame: TelemetryFrame) => {
            assert.equal(frame.seq, followerSeq + 1, "broadcast frames are numbered without gaps");
            follower = applyFrame(follower, wire(frame));
            followerSeq = frame.seq;
          };
          steps.forEach(({ edits, delivered, resync }, i) => {
            state = structuredClone(state);
            for (const [p, value] of edits) {
              const path = paths[p];
              if (path.length === 1) (state as unknown as Record<string, unknown>)[path[0]] = value;
              else {
                (state as unknown as Record<string, Record<string, unknown>>)[path[0]][path[1]] =
                  value;
              }
            }
            const expected = wire(state);
            const frame = enc.next(state, i + 1);
            if (frame === null) {
              if (follower !== null) assert.deepEqual(follower, expected);
              if (lossy !== null && lossySeq === enc.seq) assert.deepEqual(lossy, expected);
              return;
            }
            follow(frame);
            assert.deepEqual(follower, expected, "the follower has every state");
            if (!delivered) return;
            const got = wire(frame);
            if (got.seq === lossySeq + 1) {
              lossy = applyFrame(lossy, got);
              lossySeq = got.seq;
            } else {
              // Gap: the client asks for a full frame.
              const answer = resync === "lastFull"
                ? enc.lastFull() as TelemetryFrame
                : enc.full(state, i + 1);
              if (resync === "full") follow(answer); // a full() frame is broadcast
              lossy = applyFrame(null, wire(answer));
              lossySeq = answer.seq;
            }
            assert.deepEqual(lossy, expected, "the lossy client is back in step");
            assert.equal(lossySeq, enc.seq);
          });
        }),
        { numRuns: 300 },
      );
    },
  );
});
