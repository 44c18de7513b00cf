/**
 * One-shot sensor readings, each a request to the robot: get_ambient_light, get_color_detection,
 * get_battery_status, get_motor_temperatures, get_encoder_counts, get_magnetometer,
 * calibrate_magnetometer and get_ir_readings.
 *
 * @module
 */
import { z } from "zod";
import { MOTOR_THERMAL_STATUSES, motorThermalStatus } from "../protocol/mod.ts";
import {
  BATTERY_STATES,
  batteryThresholds,
  nextNotification,
  UnexpectedReplyError,
} from "../robot/mod.ts";
import { commandOptions, tool, type ToolRobot } from "./_tool.ts";

/** How long get_color_detection waits for the colour notification. */
export const COLOR_READING_TIMEOUT_MS = 2000;
/** How long calibrate_magnetometer waits for the calibration to finish. */
export const MAGNETOMETER_CALIBRATION_TIMEOUT_MS = 30_000;
/** Temperature sensor ids of get_temperature (docs/protocol.md section 9.5). */
export const TEMPERATURE_SENSOR_IDS = { leftMotor: 4, rightMotor: 5, nordicDie: 8 } as const;
/** IR receivers in the byte order of get_bot_to_bot_infrared_readings (bits 0-7 first). */
export const IR_RECEIVERS = ["front_left", "front_right", "back_right", "back_left"] as const;
/** The colour classification id that means "could not identify". */
export const COLOR_UNIDENTIFIED = 0xff;

/** Compass heading from a level magnetometer reading in the body frame (x right, y forward). */
export function compassHeadingDeg(x: number, y: number): number {
  const deg = (Math.atan2(-x, y) * 180) / Math.PI;
  const wrapped = ((deg % 360) + 360) % 360;
  return Math.round(wrapped * 10) / 10 % 360;
}

/** One receiver's byte and the IR code it stands for (null: nothing, 0xFF). */
export interface IrReceiverReading {
  value: number;
  code: number | null;
}

/** The four receiver bytes of get_bot_to_bot_infrared_readings' u32 (bits 0-7 front-left). */
export function decodeIrReadings(
  raw: number,
): Record<typeof IR_RECEIVERS[number], IrReceiverReading> {
  const receivers = {} as Record<typeof IR_RECEIVERS[number], IrReceiverReading>;
  IR_RECEIVERS.forEach((name, i) => {
    const value = (raw >>> (8 * i)) & 0xff;
    receivers[name] = { value, code: value <= 7 ? value : null };
  });
  return receivers;
}

const receiverShape = z.object({
  value: z.number().int().min(0).max(255).describe("The receiver's byte as reported."),
  code: z.number().int().min(0).max(7).nullable().describe(
    "The IR code 0-7 it sees, or null (0xFF = nothing).",
  ),
});

/** Colour detection stays on while color_detection streams (its samples need it). */
function streamsColor(robot: ToolRobot): boolean {
  return robot.streams.status().sensors.includes("color_detection");
}

const thermalShape = z.object({
  temperature_c: z.number(),
  status: z.enum(MOTOR_THERMAL_STATUSES).describe("critical stops the robot; warn is a warning."),
});

export const getAmbientLight = tool({
  name: "get_ambient_light",
  title: "Ambient light",
  description: "Reads the ambient light sensor once (approximately lux; higher = brighter).",
  input: {},
  output: { lux: z.number().describe("Ambient light, approximately lux.") },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.command("get_ambient_light_sensor_value", {}, commandOptions(ctx));
    return { lux: r.ambient_light_value };
  },
});

export const getColorDetection = tool({
  name: "get_color_detection",
  title: "Detect the floor colour",
  description:
    "Reads the colour under the robot once: switches colour detection (and its white belly " +
    "LED) on, asks for a reading and waits for the robot's colour notification " +
    `(up to ${COLOR_READING_TIMEOUT_MS} ms), then switches detection off again unless ` +
    "color_detection is streaming (its samples need it). Returns red, green, blue (0-255), confidence (0-1) and the classification (an " +
    "index in the robot's colour palette, null when it could not identify the colour, e.g. " +
    "too dark or lifted).",
  input: {},
  output: {
    red: z.number().int().min(0).max(255),
    green: z.number().int().min(0).max(255),
    blue: z.number().int().min(0).max(255),
    confidence: z.number().min(0).max(1).describe("0-1 (the robot's 0-255 / 255)."),
    classification: z.number().int().min(0).max(254).nullable().describe(
      "Palette index of the colour, or null when not identified.",
    ),
    classification_id: z.number().int().min(0).max(255).describe("Raw id (255 = unknown)."),
    detection_left_on: z.boolean().describe(
      "True when detection stays on because color_detection is streaming.",
    ),
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const pending = await nextNotification(robot.connection, "color_detection_notify", {
      timeoutMs: COLOR_READING_TIMEOUT_MS,
      signal: ctx.signal,
      what: "The colour reading",
      hint: "the robot may be asleep or its colour sensor unavailable; try again.",
    });
    try {
      await robot.rvr.command("enable_color_detection", { is_enabled: true }, commandOptions(ctx));
      await robot.rvr.command("get_current_detected_color_reading", {}, commandOptions(ctx));
      const v = await pending.promise;
      return {
        red: v.red,
        green: v.green,
        blue: v.blue,
        confidence: Math.round((v.confidence / 255) * 1000) / 1000,
        classification: v.color_classification_id === COLOR_UNIDENTIFIED
          ? null
          : v.color_classification_id,
        classification_id: v.color_classification_id,
        detection_left_on: streamsColor(robot),
      };
    } finally {
      pending.cancel();
      if (!streamsColor(robot)) {
        // Not tied to the call's signal: detection goes off even when the call was cancelled.
        await robot.rvr.command("enable_color_detection", { is_enabled: false }, {
          correlationId: ctx.correlationId,
          requestsResponse: true,
        });
      }
    }
  },
});

export const getBatteryStatus = tool({
  name: "get_battery_status",
  title: "Battery status",
  description:
    "Battery charge in percent, voltage in volts (calibrated, filtered), the robot's voltage " +
    "state (ok, low, critical, unknown) and the thresholds in volts behind it. While the " +
    "state is critical the robot was stopped and movement is refused until it recovers.",
  input: {},
  output: {
    percentage: z.number().int().min(0).max(100),
    volts: z.number(),
    state: z.enum(BATTERY_STATES),
    thresholds: z.object({
      critical_v: z.number().describe("Below this the state is critical."),
      low_v: z.number().describe("Below this the state is low."),
      hysteresis_v: z.number().describe("Back to ok only above low_v + hysteresis_v."),
    }),
    movement_blocked: z.boolean().describe("True while critical: movement is refused."),
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    // The thresholds are the pack's configuration: read once per connection, not per call.
    const thresholdsRead = batteryThresholds(robot.connection, robot.rvr, commandOptions(ctx));
    const [percent, state, volts, thresholds] = await Promise.all([
      robot.rvr.command("get_battery_percentage", {}, commandOptions(ctx)),
      robot.rvr.command("get_battery_voltage_state", {}, commandOptions(ctx)),
      robot.rvr.command("get_battery_voltage_in_volts", { reading_type: 0 }, commandOptions(ctx)),
      thresholdsRead,
    ]);
    if (percent.percentage <= 100) robot.safety.setBatteryPercent(percent.percentage);
    const name = BATTERY_STATES[state.state] ?? "unknown";
    const reading = {
      percent: Math.min(100, percent.percentage),
      volts: Math.round(volts.voltage * 1000) / 1000,
    };
    robot.rvr.reportBattery(reading); // the dashboard and the recorder see it too
    return {
      percentage: reading.percent,
      volts: reading.volts,
      state: name,
      thresholds: {
        critical_v: Math.round(thresholds.critical_threshold * 1000) / 1000,
        low_v: Math.round(thresholds.low_threshold * 1000) / 1000,
        hysteresis_v: Math.round(thresholds.hysteresis * 1000) / 1000,
      },
      movement_blocked: robot.safety.batteryCritical,
    };
  },
});

export const getMotorTemperatures = tool({
  name: "get_motor_temperatures",
  title: "Motor temperatures",
  description:
    "Temperatures in degrees Celsius of the left and right motors and the Nordic processor " +
    "die, and the motors' thermal protection status (ok, warn, critical: critical stops the " +
    "robot until the motors cool down).",
  input: {},
  output: {
    left_motor_c: z.number(),
    right_motor_c: z.number(),
    nordic_die_c: z.number(),
    thermal_protection: z.object({ left: thermalShape, right: thermalShape }),
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const ids = TEMPERATURE_SENSOR_IDS;
    const [motors, die, thermal] = await Promise.all([
      robot.rvr.command(
        "get_temperature",
        { id0: ids.leftMotor, id1: ids.rightMotor },
        commandOptions(ctx),
      ),
      robot.rvr.command(
        "get_temperature",
        { id0: ids.nordicDie, id1: ids.leftMotor },
        commandOptions(ctx),
      ),
      robot.rvr.command("get_motor_thermal_protection_status", {}, commandOptions(ctx)),
    ]);
    if (
      motors.id0 !== ids.leftMotor || motors.id1 !== ids.rightMotor || die.id0 !== ids.nordicDie
    ) {
      throw new UnexpectedReplyError(
        "get_temperature",
        `for sensors ${motors.id0}/${motors.id1} and ${die.id0} instead of 4/5 and 8`,
      );
    }
    const round = (c: number) => Math.round(c * 10) / 10;
    return {
      left_motor_c: round(motors.temp0),
      right_motor_c: round(motors.temp1),
      nordic_die_c: round(die.temp0),
      thermal_protection: {
        left: {
          temperature_c: round(thermal.left_motor_temperature),
          status: motorThermalStatus(thermal.left_motor_status),
        },
        right: {
          temperature_c: round(thermal.right_motor_temperature),
          status: motorThermalStatus(thermal.right_motor_status),
        },
      },
    };
  },
});

export const getEncoderCounts = tool({
  name: "get_encoder_counts",
  title: "Wheel encoder counts",
  description:
    "The left and right wheel encoder counts (signed ticks since power-on; they grow driving " +
    "forward).",
  input: {},
  output: { left_ticks: z.number().int(), right_ticks: z.number().int() },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.command("get_encoder_counts", {}, commandOptions(ctx));
    const [left, right] = r.encoder_counts;
    if (left === undefined || right === undefined) {
      throw new UnexpectedReplyError(
        "get_encoder_counts",
        `${r.encoder_counts.length} counts instead of 2`,
      );
    }
    return { left_ticks: left, right_ticks: right };
  },
});

export const getMagnetometer = tool({
  name: "get_magnetometer",
  title: "Magnetometer and compass heading",
  description:
    "Reads the magnetometer (x right, y forward, z up in the robot's frame, as the firmware " +
    "reports them; microtesla in the simulator) and derives the compass heading: degrees " +
    "clockwise from magnetic north (0 north, 90 east), valid when the robot is level and " +
    "away from motors and steel. Calibrate first (calibrate_magnetometer) for a true north.",
  input: {},
  output: {
    x: z.number(),
    y: z.number(),
    z: z.number(),
    compass_heading_deg: z.number().min(0).lt(360).describe(
      "Degrees clockwise from magnetic north.",
    ),
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.command("get_magnetometer_reading", {}, commandOptions(ctx));
    return {
      x: r.x_axis,
      y: r.y_axis,
      z: r.z_axis,
      compass_heading_deg: compassHeadingDeg(r.x_axis, r.y_axis),
    };
  },
});

export const calibrateMagnetometer = tool({
  name: "calibrate_magnetometer",
  title: "Calibrate the magnetometer to north",
  description:
    "The robot turns once in place to calibrate its magnetometer and find magnetic north " +
    `(a few seconds; waits up to ${MAGNETOMETER_CALIBRATION_TIMEOUT_MS / 1000} s for the ` +
    "robot's completion notification). Returns success and the yaw that points north. Any " +
    "movement command or stop interrupts it; cancelling the request stops the robot. It is " +
    "movement: refused while the emergency stop is latched or the battery is critical.",
  input: {},
  output: {
    success: z.boolean(),
    yaw_north_deg: z.number().describe(
      "The yaw (+ = left of the yaw zero) that faces magnetic north; 0 when it failed.",
    ),
    duration_ms: z.number().min(0),
  },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler(robot, _args, ctx) {
    const started = performance.now();
    const stopped = robot.rvr.movesSignal();
    const pending = await nextNotification(
      robot.connection,
      "magnetometer_calibration_complete_notify",
      {
        timeoutMs: MAGNETOMETER_CALIBRATION_TIMEOUT_MS,
        signal: AbortSignal.any([ctx.signal, stopped]),
        what: "The end of the magnetometer calibration",
        hint: "the robot may be stuck or asleep; call stop and try again.",
      },
    );
    try {
      await robot.rvr.command("magnetometer_calibrate_to_north", {}, commandOptions(ctx));
      const v = await pending.promise;
      return {
        success: v.is_successful,
        yaw_north_deg: v.yaw_north_direction,
        duration_ms: Math.round(performance.now() - started),
      };
    } catch (error) {
      if (ctx.signal.aborted && !stopped.aborted) {
        await robot.rvr.stop({ correlationId: ctx.correlationId });
      }
      throw error;
    } finally {
      pending.cancel();
    }
  },
});

export const getIrReadings = tool({
  name: "get_ir_readings",
  title: "Infrared receiver readings",
  description:
    "What each of the four IR receivers (front_left, front_right, back_right, back_left) " +
    "sees from other robots: the IR code 0-7 of a broadcaster or message, or null for " +
    "nothing. The raw u32 is included (one byte per receiver, front_left in bits 0-7).",
  input: {},
  output: {
    raw: z.number().int().min(0).max(0xffff_ffff),
    front_left: receiverShape,
    front_right: receiverShape,
    back_right: receiverShape,
    back_left: receiverShape,
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.command("get_bot_to_bot_infrared_readings", {}, commandOptions(ctx));
    const raw = r.sensor_data >>> 0;
    return { raw, ...decodeIrReadings(raw) };
  },
});
