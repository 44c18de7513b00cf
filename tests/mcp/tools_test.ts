/**
 * Every tool through a real MCP client, its structuredContent checked against the simulated
 * robot's state and the packets it received. The last test checks that every registered tool was
 * called here.
 */
import assert from "node:assert/strict";
import { BATTERY_STATES as SIM_BATTERY_STATES } from "../../src/sim/power_model.ts";
import { TOOL_NAMES } from "../../src/mcp/server.ts";
import { LED_NAMES, RGB_LEDS, rgbLedsOf } from "../../src/tools/leds.ts";
import { MemoryPort } from "../../src/link/mod.ts";
import {
  SIM_BOARD_REVISION,
  SIM_FIRMWARE,
  SIM_SKU,
  SimulatedRvr,
  SimWorld,
  wrapDeg,
} from "../../src/sim/mod.ts";
import { paramsOf } from "../_helpers/mod.ts";
import { makeMcpRig, type McpRig, receivedNames } from "./_rig.ts";

const called = new Set<string>();

/** Records the tool as covered, then calls rig.ok. */
function ok<T = Record<string, unknown>>(
  rig: McpRig,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  called.add(name);
  return rig.ok<T>(name, args);
}

function last<N extends Parameters<typeof paramsOf>[0]>(rig: McpRig, name: N) {
  const events = rig.wire.received(name);
  assert.ok(events.length > 0, `${name} on the wire`);
  return paramsOf(name, events[events.length - 1]);
}

const close = (a: number, b: number, eps: number, what: string) =>
  assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b} (+-${eps})`);

/** A second robot in the same world, started on its own port, placed at (x, y). */
function secondRobot(world: SimWorld, x: number, y: number) {
  const [host, device] = MemoryPort.pair("robot-2");
  const sim = new SimulatedRvr(device, {
    name: "RV-0002",
    world,
    inactivityTimeoutMs: 0,
    body: { worldPose: { x, y } },
  });
  sim.start();
  return {
    sim,
    async stop() {
      await sim.stop();
      await device.close();
      await host.close();
    },
  };
}

Deno.test("tools: connection", async () => {
  const rig = await makeMcpRig();
  try {
    const status = await ok(rig, "get_connection_status");
    assert.equal(status.status, "connected");
    assert.equal(status.port, "sim");
    assert.equal(status.baud, 115200);
    assert.equal(status.simulated, true);
    assert.equal(status.power, "awake");
    assert.deepEqual(status.circuit, { state: "closed", retry_in_ms: null });

    const before = rig.wire;
    const off = await ok(rig, "disconnect");
    assert.deepEqual(off, { connected: false, status: "disconnected" });
    assert.equal(rig.runtime.connection.status, "disconnected");
    const names = receivedNames(before);
    assert.equal(
      names[names.lastIndexOf("drive_stop") + 1],
      "stop_robot_to_robot_infrared_following",
    );
    assert.equal((await ok(rig, "get_connection_status")).status, "disconnected");

    const on = await ok(rig, "connect", { port: "sim", baud: 115200 });
    assert.equal(on.connected, true);
    assert.equal(on.simulated, true);
    assert.equal(on.port, "memory:mcp/host");
    assert.equal(on.baud, 115200);
    assert.ok((on.attempts as number) >= 1);
    assert.equal(rig.runtime.connection.status, "connected");
    assert.equal(rig.wires.length, 2, "a fresh port for the new connection");
    assert.ok(rig.wire.received("wake").length >= 1);
  } finally {
    await rig.close();
  }
});

Deno.test("tools: continuous drives, stops and the reference frame", async () => {
  const rig = await makeMcpRig();
  try {
    const d1 = await ok(rig, "drive_with_heading", { speed: 100, heading: 90 });
    assert.deepEqual(d1, {
      command: "drive_with_heading",
      requested: { speed: 100 },
      applied: { speed: 100 },
      limited: false,
      speed_limit_percent: 50,
      superseded: false,
      watchdog_s: 5,
    });
    assert.deepEqual(last(rig, "drive_with_heading"), { speed: 100, heading: 90, flags: 0 });

    const d2 = await ok(rig, "drive_with_heading", { speed: 200, heading: 0, reverse: true });
    assert.equal(d2.limited, true);
    assert.deepEqual(d2.applied, { speed: 127 });
    assert.deepEqual(last(rig, "drive_with_heading"), { speed: 127, heading: 0, flags: 1 });

    const tank = await ok(rig, "drive_tank", { left_velocity: 0.5, right_velocity: -0.5 });
    assert.equal(tank.limited, false);
    assert.deepEqual(last(rig, "drive_tank_si_units"), {
      left_velocity: 0.5,
      right_velocity: -0.5,
    });

    const rc = await ok<{ applied: Record<string, number>; limited: boolean }>(rig, "drive_rc", {
      linear_velocity: 1.5,
      yaw_rate: 30,
    });
    assert.equal(rc.limited, true);
    const sentRc = last(rig, "drive_rc_si_units");
    assert.equal(sentRc.linear_velocity, rc.applied.linear_velocity);
    assert.equal(sentRc.yaw_angular_velocity, rc.applied.yaw_angular_velocity);
    close(sentRc.linear_velocity, 1.555 / 2, 1e-6, "linear capped at 50 % of top speed");
    close(sentRc.yaw_angular_velocity, 30 * (1.555 / 2) / 1.5, 1e-4, "yaw rate scaled alike");

    await ok(rig, "drive_raw_motors", {
      left_mode: "forward",
      left_duty: 100,
      right_mode: "reverse",
      right_duty: 50,
    });
    assert.deepEqual(last(rig, "raw_motors"), {
      left_mode: 1,
      left_duty_cycle: 100,
      right_mode: 2,
      right_duty_cycle: 50,
    });

    assert.deepEqual(await ok(rig, "stop"), { command: "drive_stop" });
    assert.deepEqual(await ok(rig, "stop", { deceleration: 3 }), {
      command: "drive_stop_custom_decel",
    });
    assert.deepEqual(last(rig, "drive_stop_custom_decel"), { deceleration_rate: 3 });

    // Turn, stop, then make the new direction yaw zero.
    await ok(rig, "drive_tank", { left_velocity: -0.3, right_velocity: 0.3 });
    await rig.clock.tickAsync(600);
    await ok(rig, "stop");
    await rig.clock.tickAsync(1000);
    assert.ok(Math.abs(rig.sim.body.pose.yawDeg) > 5, "the robot turned");
    assert.deepEqual(await ok(rig, "reset_yaw"), { reset: "yaw" });
    close(rig.sim.body.pose.yawDeg, 0, 1e-6, "yaw after reset_yaw");

    await ok(rig, "drive_with_heading", { speed: 80, heading: 0 });
    await rig.clock.tickAsync(1000);
    await ok(rig, "stop");
    await rig.clock.tickAsync(1000);
    assert.ok(Math.hypot(rig.sim.body.pose.x, rig.sim.body.pose.y) > 0.05, "the robot moved");
    assert.deepEqual(await ok(rig, "reset_locator"), { reset: "locator" });
    close(Math.hypot(rig.sim.body.pose.x, rig.sim.body.pose.y), 0, 1e-6, "position after reset");

    const estop = await ok(rig, "emergency_stop");
    assert.equal(estop.sent, true);
    assert.equal(estop.newly_latched, true);
    assert.equal(estop.error, null);
    assert.equal(rig.runtime.safety.estopLatched, true);
    assert.equal(receivedNames(rig.wire).at(-3), "drive_stop");
    const again = await ok(rig, "emergency_stop");
    assert.equal(again.newly_latched, false);

    assert.deepEqual(await ok(rig, "clear_emergency_stop"), {
      released: true,
      latched: false,
      approval: "not_needed",
    });
    assert.equal(rig.runtime.safety.estopLatched, false);
    assert.deepEqual(await ok(rig, "clear_emergency_stop"), {
      released: false,
      latched: false,
      approval: "not_needed",
    });
  } finally {
    await rig.close();
  }
});

Deno.test("tools: LEDs, every group of section 9.6", async () => {
  const rig = await makeMcpRig();
  try {
    const all = await ok(rig, "set_all_leds", { red: 10, green: 20, blue: 30 });
    assert.equal(all.mask, 0x3fffffff);
    assert.deepEqual(
      rig.sim.leds.slice(0, 30),
      Array.from({ length: 30 }, (_, i) => [10, 20, 30][i % 3]),
    );
    assert.equal(rig.sim.leds[30], 0, "set_all_leds leaves the white LED alone");

    for (const [i, led] of LED_NAMES.entries()) {
      await ok(rig, "turn_leds_off");
      const colour = { red: 1 + i, green: 100 + i, blue: 200 + i };
      const r = await ok(rig, "set_led", { led, ...colour });
      const expected = new Array(31).fill(0);
      if (led === "undercarriage_white") {
        expected[30] = colour.blue;
        assert.equal(r.brightness, colour.blue, "the largest of red, green, blue");
      } else {
        for (const one of rgbLedsOf(led)) {
          const first = RGB_LEDS[one];
          expected[first] = colour.red;
          expected[first + 1] = colour.green;
          expected[first + 2] = colour.blue;
        }
        assert.equal(r.brightness, null);
      }
      assert.deepEqual(rig.sim.leds, expected, `set_led ${led}`);
      const mask = expected.reduce(
        (m: number, v: number, bit: number) => v > 0 ? m | (1 << bit) : m,
        0,
      );
      assert.equal(r.mask, mask >>> 0, `mask of ${led}`);
    }

    const off = await ok(rig, "turn_leds_off");
    assert.deepEqual(off, { channels_off: 31, mask: 0x7fffffff });
    assert.deepEqual(rig.sim.leds, new Array(31).fill(0));
  } finally {
    await rig.close();
  }
});

Deno.test("tools: one-shot sensor readings", async () => {
  const world = new SimWorld({ magneticNorthDeg: 30, ambientLux: 420 });
  const rig = await makeMcpRig({ sim: { world } });
  const peer = secondRobot(world, 0, 2);
  try {
    assert.deepEqual(await ok(rig, "get_ambient_light"), { lux: 420 });

    const colour = await ok(rig, "get_color_detection");
    const seen = rig.sim.member.colorUnder(rig.sim.activePalette);
    assert.deepEqual(colour, {
      red: seen.r,
      green: seen.g,
      blue: seen.b,
      confidence: Math.round((seen.confidence / 255) * 1000) / 1000,
      classification: seen.classificationId,
      classification_id: seen.classificationId,
      detection_left_on: false,
    });
    assert.equal(colour.classification, 8, "mid grey floor = palette index 8");
    assert.equal(rig.sim.colorDetectionEnabled, false, "switched off again");
    assert.deepEqual(
      receivedNames(rig.wire).filter((n) => n.includes("color")),
      ["enable_color_detection", "get_current_detected_color_reading", "enable_color_detection"],
    );

    const published: unknown[] = [];
    const sub = rig.runtime.bus.subscribe("robot.sample", (e) => {
      if (e.payload.sensor === "battery") published.push(e.payload.values);
    });
    const battery = await ok<Record<string, unknown> & { thresholds: Record<string, number> }>(
      rig,
      "get_battery_status",
    );
    await rig.clock.tickAsync(0);
    sub.unsubscribe();
    // What the tool read is what the dashboard and the recorder get.
    assert.deepEqual(published, [{ percent: battery.percentage, volts: battery.volts }]);
    assert.equal(battery.percentage, rig.sim.battery.percentage);
    assert.equal(battery.state, SIM_BATTERY_STATES[rig.sim.battery.state]);
    close(battery.volts as number, rig.sim.battery.voltage(0), 0.01, "volts");
    assert.deepEqual(battery.thresholds, { critical_v: 6.2, low_v: 6.6, hysteresis_v: 0.1 });
    assert.equal(battery.movement_blocked, false);

    const temps = await ok<
      Record<string, number> & { thermal_protection: Record<string, unknown> }
    >(
      rig,
      "get_motor_temperatures",
    );
    close(temps.left_motor_c, rig.sim.thermal.temperature(4), 0.06, "left motor");
    close(temps.right_motor_c, rig.sim.thermal.temperature(5), 0.06, "right motor");
    close(temps.nordic_die_c, rig.sim.thermal.temperature(8), 0.06, "Nordic die");
    assert.ok(temps.nordic_die_c > temps.left_motor_c, "the die runs warmer than idle motors");
    assert.deepEqual(temps.thermal_protection, {
      left: {
        temperature_c: Math.round(rig.sim.thermal.left.temperatureC * 10) / 10,
        status: "ok",
      },
      right: {
        temperature_c: Math.round(rig.sim.thermal.right.temperatureC * 10) / 10,
        status: "ok",
      },
    });
    assert.deepEqual(
      rig.wire.received("get_temperature").map((e) => paramsOf("get_temperature", e)),
      [{ id0: 4, id1: 5 }, { id0: 8, id1: 4 }],
    );

    await rig.ok("drive_with_heading", { speed: 60, heading: 0 });
    await rig.clock.tickAsync(800);
    await rig.ok("stop");
    await rig.clock.tickAsync(1000);
    const enc = await ok(rig, "get_encoder_counts");
    assert.deepEqual(enc, {
      left_ticks: rig.sim.body.encoders.left,
      right_ticks: rig.sim.body.encoders.right,
    });
    assert.ok((enc.left_ticks as number) > 100, "it drove forward");

    const mag = await ok<Record<string, number>>(rig, "get_magnetometer");
    const m = rig.sim.member.magnetometer();
    close(mag.x, m.x, 1e-4, "x");
    close(mag.y, m.y, 1e-4, "y");
    close(mag.z, m.z, 1e-4, "z");
    const expectedHeading = ((-rig.sim.body.pose.yawDeg + 30) % 360 + 360) % 360;
    close(mag.compass_heading_deg, expectedHeading, 0.2, "compass heading");

    const cal = await ok(rig, "calibrate_magnetometer");
    assert.equal(cal.success, true);
    assert.equal(cal.yaw_north_deg, Math.round(wrapDeg(rig.sim.member.northYawDeg())));
    assert.ok((cal.duration_ms as number) >= 3000, "one full turn at 90 deg/s");

    peer.sim.member.startBroadcast(3, 5);
    const ir = await ok<Record<string, { value: number; code: number | null }> & { raw: number }>(
      rig,
      "get_ir_readings",
    );
    assert.equal(ir.raw, rig.sim.member.irReadings());
    const codes = [ir.front_left, ir.front_right, ir.back_right, ir.back_left].map((r) => r.code);
    assert.ok(codes.includes(3), `the far code is seen: ${JSON.stringify(ir)}`);
    for (const [i, r] of [ir.front_left, ir.front_right, ir.back_right, ir.back_left].entries()) {
      assert.equal(r.value, (ir.raw >>> (8 * i)) & 0xff);
      assert.equal(r.code, r.value === 0xff ? null : r.value);
    }
  } finally {
    await rig.settle(peer.stop());
    await rig.close();
  }
});

Deno.test("tools: system info", async () => {
  const rig = await makeMcpRig();
  try {
    const info = await ok<Record<string, unknown> & { uptime_ms: number }>(rig, "get_system_info");
    const v = (x: { major: number; minor: number; revision: number }) =>
      `${x.major}.${x.minor}.${x.revision}`;
    assert.deepEqual(info.nordic, {
      processor_name: "nRF52840",
      application_version: v(SIM_FIRMWARE[1].application),
      bootloader_version: v(SIM_FIRMWARE[1].bootloader),
    });
    assert.deepEqual(info.st, {
      processor_name: "STM32F4",
      application_version: v(SIM_FIRMWARE[2].application),
      bootloader_version: v(SIM_FIRMWARE[2].bootloader),
    });
    assert.equal(info.board_revision, SIM_BOARD_REVISION);
    assert.equal(info.mac_address, rig.sim.macAddress);
    assert.equal(info.bluetooth_name, rig.sim.bluetoothName);
    assert.equal(info.sku, SIM_SKU);
    assert.equal(info.stats_id, rig.sim.statsId);
    assert.ok(info.uptime_ms <= rig.sim.upTimeMs && info.uptime_ms >= rig.sim.upTimeMs - 100);
    const targets = rig.wire.received("get_main_application_version").map((e) => e.packet.target);
    assert.deepEqual(targets.sort(), [1, 2]);
  } finally {
    await rig.close();
  }
});

Deno.test("tools: safety settings apply live", async () => {
  const rig = await makeMcpRig();
  try {
    assert.deepEqual(await ok(rig, "set_speed_limit", { percent: 30 }), {
      speed_limit_percent: 30,
      previous_percent: 50,
    });
    assert.equal(rig.runtime.safety.speedLimitPercent, 30);
    const d = await rig.ok("drive_with_heading", { speed: 200, heading: 0 });
    assert.deepEqual(d.applied, { speed: 76 });
    assert.equal(last(rig, "drive_with_heading").speed, 76);

    assert.deepEqual(await ok(rig, "set_command_timeout", { seconds: 2 }), {
      command_timeout_s: 2,
      previous_s: 5,
      watchdog_enabled: true,
    });
    assert.equal(rig.runtime.safety.commandTimeoutS, 2);
    const stops = rig.wire.received("drive_stop").length;
    await rig.ok("drive_with_heading", { speed: 50, heading: 0 });
    await rig.clock.tickAsync(2100);
    assert.equal(rig.wire.received("drive_stop").length, stops + 1, "the 2 s watchdog stopped it");

    const s = await ok<Record<string, unknown> & { last_auto_stop: Record<string, unknown> }>(
      rig,
      "get_safety_status",
    );
    const st = rig.runtime.rvr.safetyStatus();
    assert.equal(s.speed_limit_percent, 30);
    assert.equal(s.command_timeout_s, 2);
    assert.deepEqual(s.estop, {
      latched: false,
      reason: null,
      latched_at: null,
      latched_by: null,
      source: null,
      clear_needs_approval: false,
    });
    assert.deepEqual(s.approval_required_for, ["clear_person_estop"]);
    assert.deepEqual(s.battery, {
      state: st.battery.state,
      percent: st.battery.percent,
      critical: false,
    });
    assert.equal(s.motor_fault, false);
    assert.deepEqual(s.watchdog, { enabled: true, armed: false, expires_in_ms: null });
    assert.equal(s.last_auto_stop.reason, "watchdog");

    assert.deepEqual(await ok(rig, "get_motor_fault_state"), {
      fault: false,
      last_notified_fault: false,
    });
    rig.sim.setMotorFault(true);
    await rig.clock.tickAsync(50);
    assert.deepEqual(await ok(rig, "get_motor_fault_state"), {
      fault: true,
      last_notified_fault: true,
    });
  } finally {
    await rig.close();
  }
});

Deno.test("tools: robot-to-robot infrared", async () => {
  const world = new SimWorld();
  const rig = await makeMcpRig({ sim: { world } });
  const peer = secondRobot(world, 0, 2);
  try {
    assert.deepEqual(await ok(rig, "send_ir_message", { code: 3, strength: 40 }), {
      code: 3,
      strength: 40,
      emitters: ["front", "left", "right", "rear"],
    });
    assert.deepEqual(last(rig, "send_infrared_message"), {
      infrared_code: 3,
      front_strength: 40,
      left_strength: 40,
      right_strength: 40,
      rear_strength: 40,
    });

    assert.deepEqual(await ok(rig, "start_ir_broadcasting", { far_code: 2, near_code: 6 }), {
      broadcasting: true,
      far_code: 2,
      near_code: 6,
    });
    assert.notEqual(peer.sim.member.findBroadcaster(2, 6), null, "the other robot finds it");
    assert.deepEqual(await ok(rig, "stop_ir_broadcasting"), { stopped: "broadcasting" });
    assert.equal(peer.sim.member.findBroadcaster(2, 6), null);

    peer.sim.member.startBroadcast(4, 5);
    const follow = await ok(rig, "start_ir_following", { far_code: 4, near_code: 5 });
    assert.equal(follow.command, "start_robot_to_robot_infrared_following");
    assert.equal(follow.limited, false);
    await rig.clock.tickAsync(200);
    assert.equal(rig.sim.body.activeControllerId, 8, "IR follow/evade controller");
    assert.deepEqual(await ok(rig, "stop_ir_following"), { stopped: "following" });

    const evade = await ok(rig, "start_ir_evading", { far_code: 4, near_code: 5 });
    assert.equal(evade.command, "start_robot_to_robot_infrared_evading");
    await rig.clock.tickAsync(200);
    assert.equal(rig.sim.body.activeControllerId, 8);
    assert.deepEqual(await ok(rig, "stop_ir_evading"), { stopped: "evading" });
    assert.deepEqual(last(rig, "start_robot_to_robot_infrared_evading"), {
      far_code: 4,
      near_code: 5,
    });
    const names = receivedNames(rig.wire);
    assert.ok(names.includes("stop_robot_to_robot_infrared_following"));
    assert.ok(names.includes("stop_robot_to_robot_infrared_evading"));
  } finally {
    await rig.settle(peer.stop());
    await rig.close();
  }
});

Deno.test("tools: sensor streaming", async () => {
  const rig = await makeMcpRig();
  try {
    const none = await ok(rig, "get_sensor_data");
    assert.equal(none.streaming, false);
    assert.match(none.hint as string, /start_sensor_streaming/);

    const started = await ok<{ active: boolean; sensors: string[]; interval_ms: number }>(
      rig,
      "start_sensor_streaming",
      { sensors: ["locator", "imu", "ambient_light", "imu"], interval_ms: 50 },
    );
    assert.equal(started.active, true);
    assert.deepEqual([...started.sensors].sort(), ["ambient_light", "imu", "locator"]);
    assert.equal(started.interval_ms, 50);
    assert.ok(rig.sim.isStreaming(1) && rig.sim.isStreaming(2));

    await rig.ok("drive_with_heading", { speed: 60, heading: 0 });
    await rig.clock.tickAsync(500);
    type Data = {
      readings: { sensor: string; values: Record<string, number>; age_ms: number }[];
      missing: string[];
    };
    const data = await ok<Data>(rig, "get_sensor_data");
    assert.deepEqual(data.readings.map((r) => r.sensor).sort(), [
      "ambient_light",
      "imu",
      "locator",
    ]);
    assert.deepEqual(data.missing, []);
    const locator = data.readings.find((r) => r.sensor === "locator");
    assert.ok(locator && locator.age_ms <= 60, "fresh within one interval");
    close(locator.values.y_m, rig.sim.body.pose.y, 0.06, "locator y vs the body");
    const light = data.readings.find((r) => r.sensor === "ambient_light");
    close(light?.values.lux ?? NaN, rig.sim.member.ambientLightLux(), 0.01, "lux");

    // The whole telemetry state in one call: the same locator reading, folded by the model.
    type Telemetry = { at_ms: number; state: Record<string, Record<string, unknown>> };
    const asked = Date.now();
    const telemetry = await ok<Telemetry>(rig, "get_telemetry");
    assert.equal(telemetry.state.pose.y_m, Math.round(locator.values.y_m * 1e4) / 1e4);
    assert.equal(telemetry.state.pose.x_m, Math.round(locator.values.x_m * 1e4) / 1e4);
    assert.ok((telemetry.state.pose.y_m as number) > 0.1, "driven forward");
    assert.equal(telemetry.state.connection.status, "connected");
    assert.equal(telemetry.state.safety.estop, false);
    assert.equal(typeof telemetry.state.imu.yaw_deg, "number", "the imu stream folded in");
    assert.ok(
      telemetry.at_ms >= asked && telemetry.at_ms <= Date.now(),
      "taken during the call (the rig's fake clock)",
    );
    // show_dashboard answers the state too (its page: tests/mcp/app_test.ts); still driving.
    const shown = await ok<Telemetry>(rig, "show_dashboard");
    assert.deepEqual(Object.keys(shown.state), Object.keys(telemetry.state));
    assert.deepEqual(shown.state.connection, telemetry.state.connection);
    assert.ok((shown.state.pose.y_m as number) >= (telemetry.state.pose.y_m as number));

    const only = await ok<Data>(rig, "get_sensor_data", { sensors: ["imu", "encoders"] });
    assert.deepEqual(only.readings.map((r) => r.sensor), ["imu"]);
    assert.deepEqual(only.missing, ["encoders"]);

    const stopped = await ok(rig, "stop_sensor_streaming");
    assert.equal(stopped.active, false);
    assert.ok(!rig.sim.isStreaming(1) && !rig.sim.isStreaming(2));
  } finally {
    await rig.close();
  }
});

Deno.test("tools: moves that take time", async () => {
  const rig = await makeMcpRig({ settings: { maxSpeedPercent: 100 } });
  try {
    type Outcome = {
      success: boolean;
      move: string;
      pose: { x_m: number; y_m: number; yaw_deg: number; heading_deg: number };
      turned_deg: number | null;
    };
    const fwd = await ok<Outcome>(rig, "drive_forward", { distance: 0.5, speed: 0.4 });
    assert.equal(fwd.success, true);
    close(fwd.pose.y_m, 0.5, 0.05, "forward 0.5 m");
    close(fwd.pose.y_m, rig.sim.body.pose.y, 0.02, "pose = the body's");

    const back = await ok<Outcome>(rig, "drive_backward", { distance: 0.3 });
    assert.equal(back.success, true);
    close(back.pose.y_m, 0.2, 0.05, "then back 0.3 m");

    const to = await ok<Outcome>(rig, "drive_to_position", { x: 0.4, y: 0.6, speed: 0.5 });
    assert.equal(to.success, true);
    close(to.pose.x_m, 0.4, 0.05, "x");
    close(to.pose.y_m, 0.6, 0.05, "y");
    const sent = last(rig, "drive_to_position_si");
    close(sent.x, 0.4, 1e-6, "target x as given: no reset of the user's frame");
    close(sent.y, 0.6, 1e-6, "target y as given");
    assert.equal(rig.wire.received("reset_locator_x_and_y").length, 0);
    assert.equal(rig.wire.received("reset_yaw").length, 0);

    // Pivot counts clockwise (+ = right), like drive_with_heading: 270 right = yaw -270 (= +90).
    const yaw0 = rig.sim.body.pose.yawDeg;
    const encoders0 = rig.sim.body.encoders;
    const turn = await ok<Outcome>(rig, "pivot", { degrees: 270 });
    assert.equal(turn.move, "pivot");
    close(turn.turned_deg ?? NaN, 270, 2, "measured turn");
    const turned = rig.sim.body.pose.yawDeg - yaw0;
    close(((turned % 360) + 360) % 360, 90, 3, "yaw moved by -270 = +90 mod 360");
    // 270 of a turn, not 90 the other way: the left tread went forward 3/4 of a turn's arc.
    const arc = (rig.sim.body.encoders.left - encoders0.left) / 9600;
    close(arc, (270 / 360) * Math.PI * 0.2, 0.03, "left tread travel of a 270 degree right turn");
    close(turn.pose.yaw_deg, rig.sim.body.pose.yawDeg, 1, "reported yaw");
    close(turn.pose.heading_deg, ((-turn.pose.yaw_deg % 360) + 360) % 360, 1e-9, "heading = -yaw");
  } finally {
    await rig.close();
  }
});

Deno.test("tools: every registered tool was called above", () => {
  const missing = TOOL_NAMES.filter((n) => !called.has(n));
  assert.deepEqual(missing, [], `tools not exercised: ${missing.join(", ")}`);
});
