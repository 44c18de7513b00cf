import assert from "node:assert/strict";
import {
  BATTERY_CAPACITY_AH,
  BATTERY_IDLE_CURRENT_A,
  BATTERY_INTERNAL_RESISTANCE_OHM,
  type BatteryEvent,
  BatteryModel,
  MOTOR_CRITICAL_C,
  MOTOR_STATUS_HYSTERESIS_C,
  MOTOR_THERMAL_RESISTANCE_C_PER_W,
  MOTOR_THERMAL_TIME_CONSTANT_S,
  MOTOR_WARN_C,
  MOTOR_WINDING_RESISTANCE_OHM,
  OCV_CURVE,
  openCircuitVoltage,
  type ThermalEvent,
  ThermalModel,
  UNCALIBRATED_GAIN,
  UNCALIBRATED_OFFSET_V,
  VOLTAGE_NOISE_V,
} from "../../src/sim/power_model.ts";

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected} +- ${tol}, got ${actual}`,
  );
const IDLE = { left: 0, right: 0 };

Deno.test("battery", async (t) => {
  await t.step("starts full: 100 %, ~8.3 V, state ok, documented thresholds", () => {
    const b = new BatteryModel();
    assert.equal(b.percentage, 100);
    near(b.voltage(0), 8.3, 1e-9, "filtered volts");
    assert.equal(b.state, 1);
    assert.deepEqual(b.thresholds, { critical: 6.2, low: 6.6, hysteresis: 0.1 });
  });

  await t.step("drains with motor current over time", () => {
    const b = new BatteryModel();
    const amps = { left: 1, right: 1 };
    for (let i = 0; i < 600; i++) b.step(1000, amps);
    const usedAh = ((2 + BATTERY_IDLE_CURRENT_A) * 600) / 3600;
    assert.equal(b.percentage, Math.round(100 - (usedAh / BATTERY_CAPACITY_AH) * 100));
    assert.equal(b.percentage, 82);
  });

  await t.step("idle drain is small; drainScale speeds it up or stops it", () => {
    const idle = new BatteryModel();
    for (let i = 0; i < 3600; i++) idle.step(1000, IDLE);
    assert.equal(idle.percentage, 94);
    const fast = new BatteryModel({ drainScale: 60 });
    for (let i = 0; i < 10; i++) fast.step(1000, { left: 1, right: 1 });
    assert.equal(fast.percentage, 82);
    const none = new BatteryModel({ drainScale: 0 });
    for (let i = 0; i < 100; i++) none.step(1000, { left: 2, right: 2 });
    assert.equal(none.percentage, 100);
  });

  await t.step("voltage curve is monotonic from 6.0 V (0 %) to 8.3 V (100 %)", () => {
    let prev = -Infinity;
    for (let p = 0; p <= 100; p += 0.5) {
      const v = openCircuitVoltage(p);
      assert.ok(v > prev, `OCV(${p}) = ${v} not above ${prev}`);
      prev = v;
    }
    assert.equal(openCircuitVoltage(0), OCV_CURVE[0][1]);
    near(openCircuitVoltage(10), 6.6, 1e-12, "low threshold at 10 %");
  });

  await t.step("load sags the voltage; reading types 0, 1, 2", () => {
    const b = new BatteryModel({ percentage: 50 });
    const amps = { left: 1.5, right: 1.5 };
    b.step(10, amps);
    const ocv = openCircuitVoltage(b.percentage);
    const loaded = ocv - (3 + BATTERY_IDLE_CURRENT_A) * BATTERY_INTERNAL_RESISTANCE_OHM;
    near(b.voltage(1), loaded, VOLTAGE_NOISE_V + 1e-3, "unfiltered follows the load at once");
    assert.ok(b.voltage(0) > loaded + 0.3, "filtered lags behind");
    for (let i = 0; i < 200; i++) b.step(100, amps);
    near(b.voltage(0), loaded, 0.01, "filtered after 20 s");
    const raw = b.voltage(1);
    near(b.voltage(2), raw * UNCALIBRATED_GAIN + UNCALIBRATED_OFFSET_V, 1e-12, "uncalibrated");
    assert.equal(b.voltage(1), raw, "a reading is stable between steps");
    assert.throws(() => b.voltage(3 as 0), /reading type .* got 3/);
  });

  await t.step("unfiltered noise is small and deterministic per seed", () => {
    const series = (seed: number) => {
      const b = new BatteryModel({ percentage: 60, noiseSeed: seed });
      return Array.from({ length: 20 }, () => {
        b.step(10, IDLE);
        return b.voltage(1) - b.voltage(0);
      });
    };
    const a = series(7);
    assert.deepEqual(series(7), a);
    assert.notDeepEqual(series(8), a);
    for (const d of a) assert.ok(Math.abs(d) <= VOLTAGE_NOISE_V + 0.02, `noise ${d}`);
    assert.ok(new Set(a).size > 10, "noise varies from step to step");
  });

  await t.step("state thresholds with hysteresis, events on change only", () => {
    const b = new BatteryModel();
    const after = (p: number): BatteryEvent[] => {
      b.setPercentage(p);
      return b.step(10, IDLE);
    };
    assert.deepEqual(after(9), [{ type: "battery_state", state: 2 }]);
    assert.deepEqual(after(10.5), [], "inside low..low+hysteresis stays low");
    assert.equal(b.state, 2);
    assert.deepEqual(after(12), [{ type: "battery_state", state: 1 }]);
    assert.deepEqual(after(1), [{ type: "battery_state", state: 3 }]);
    assert.deepEqual(after(2.5), [], "inside critical..critical+hysteresis stays critical");
    assert.deepEqual(after(5), [{ type: "battery_state", state: 2 }]);
    assert.deepEqual(after(30), [{ type: "battery_state", state: 1 }]);
    assert.deepEqual(after(30), []);
    assert.throws(() => b.setPercentage(101), /101/);
    assert.throws(() => new BatteryModel({ drainScale: -1 }), /-1/);
  });

  await t.step("heavy load sags a weak pack into low; it recovers when the load stops", () => {
    const b = new BatteryModel({ percentage: 13 });
    const events: BatteryEvent[] = [];
    for (let i = 0; i < 100; i++) events.push(...b.step(100, { left: 1.5, right: 1.5 }));
    assert.deepEqual(events, [{ type: "battery_state", state: 2 }]);
    assert.equal(b.percentage, 13);
    events.length = 0;
    for (let i = 0; i < 100; i++) events.push(...b.step(100, IDLE));
    assert.deepEqual(events, [{ type: "battery_state", state: 1 }]);
  });

  await t.step("draining through low to critical", () => {
    const b = new BatteryModel({ percentage: 12, drainScale: 60 });
    const seen: { state: number; percentage: number }[] = [];
    for (let i = 0; i < 2000; i++) {
      for (const e of b.step(100, IDLE)) seen.push({ state: e.state, percentage: b.percentage });
    }
    assert.deepEqual(seen.map((s) => s.state), [2, 3]);
    assert.ok(seen[0].percentage <= 10 && seen[0].percentage >= 9, `low at ${seen[0].percentage}`);
    assert.ok(seen[1].percentage <= 2, `critical at ${seen[1].percentage}`);
    assert.equal(b.percentage, 0);
  });
});

Deno.test("thermal model", async (t) => {
  const heatTarget = (amps: number) =>
    25 + amps * amps * MOTOR_WINDING_RESISTANCE_OHM * MOTOR_THERMAL_RESISTANCE_C_PER_W;
  const timeTo = (c: number, amps: number) =>
    -MOTOR_THERMAL_TIME_CONSTANT_S * Math.log((heatTarget(amps) - c) / (heatTarget(amps) - 25));

  await t.step("starts at ambient, ok; Nordic die a little warmer", () => {
    const m = new ThermalModel();
    assert.deepEqual(m.left, { temperatureC: 25, status: 0 });
    assert.deepEqual(m.right, { temperatureC: 25, status: 0 });
    assert.equal(m.temperature(8), m.nordicDieC);
    assert.ok(m.nordicDieC > 25 && m.nordicDieC < 40);
    assert.equal(new ThermalModel({ ambientC: 10 }).temperature(4), 10);
  });

  await t.step("rises with current: warn then critical, at the predicted times", () => {
    const m = new ThermalModel();
    const events: { atS: number; e: ThermalEvent }[] = [];
    for (let i = 1; i <= 3000; i++) {
      for (const e of m.step(100, { left: 2, right: 2 })) events.push({ atS: i / 10, e });
    }
    assert.deepEqual(events.map((x) => [x.e.left.status, x.e.right.status]), [[1, 1], [2, 2]]);
    near(events[0].atS, timeTo(MOTOR_WARN_C, 2), 0.1, "warn time");
    near(events[1].atS, timeTo(MOTOR_CRITICAL_C, 2), 0.1, "critical time");
    assert.ok(events[1].e.left.temperatureC >= MOTOR_CRITICAL_C);
    const expected = heatTarget(2) -
      (heatTarget(2) - 25) * Math.exp(-300 / MOTOR_THERMAL_TIME_CONSTANT_S);
    near(m.temperature(4), expected, 1e-6, "first-order rise after 300 s");
    assert.ok(m.nordicDieC > 35, `die warms with the motors: ${m.nordicDieC}`);
  });

  await t.step("cools toward ambient: critical -> warn -> ok with hysteresis", () => {
    const m = new ThermalModel();
    m.setMotorTemperature("left", 100);
    m.setMotorTemperature("right", 100);
    const events: ThermalEvent[] = [];
    for (let i = 0; i < 6000; i++) events.push(...m.step(100, IDLE));
    assert.deepEqual(events.map((e) => e.left.status), [2, 1, 0]);
    const warnBack = events[1].left.temperatureC;
    const okBack = events[2].left.temperatureC;
    near(warnBack, MOTOR_CRITICAL_C - MOTOR_STATUS_HYSTERESIS_C, 0.2, "critical -> warn at");
    near(okBack, MOTOR_WARN_C - MOTOR_STATUS_HYSTERESIS_C, 0.2, "warn -> ok at");
    near(m.temperature(5), 25, 0.1, "back at ambient after 10 min");
  });

  await t.step("hysteresis: no event inside the band", () => {
    const m = new ThermalModel();
    m.setMotorTemperature("right", 72);
    assert.deepEqual(m.step(10, IDLE).map((e) => [e.left.status, e.right.status]), [[0, 1]]);
    m.setMotorTemperature("right", 67);
    assert.deepEqual(m.step(10, IDLE), []);
    assert.equal(m.right.status, 1);
    m.setMotorTemperature("right", 64);
    assert.deepEqual(m.step(10, IDLE).map((e) => e.right.status), [0]);
  });

  await t.step("motors heat independently", () => {
    const m = new ThermalModel();
    for (let i = 0; i < 60; i++) m.step(1000, { left: 0, right: 1.5 });
    assert.ok(m.right.temperatureC > 40, `right ${m.right.temperatureC}`);
    near(m.left.temperatureC, 25, 1e-9, "left stays at ambient");
  });

  await t.step("exact integration: the step size does not matter", () => {
    const a = new ThermalModel();
    const b = new ThermalModel();
    for (let i = 0; i < 60; i++) a.step(1000, { left: 1.2, right: 0.4 });
    for (let i = 0; i < 600; i++) b.step(100, { left: 1.2, right: 0.4 });
    near(a.temperature(4), b.temperature(4), 1e-9, "left");
    near(a.temperature(5), b.temperature(5), 1e-9, "right");
    near(a.temperature(8), b.temperature(8), 1e-9, "die");
  });

  await t.step("bad sensor ids and inputs", () => {
    const m = new ThermalModel();
    assert.throws(() => m.temperature(6), /sensor id 6/);
    assert.throws(() => m.setMotorTemperature("middle" as "left", 30), /middle/);
    assert.throws(() => m.step(-5, IDLE), /-5/);
    assert.throws(() => m.step(10, { left: Number.NaN, right: 0 }), /NaN/);
    assert.throws(() => new ThermalModel({ ambientC: 200 }), /200/);
  });
});
