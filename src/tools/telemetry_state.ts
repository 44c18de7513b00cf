/**
 * get_telemetry: the telemetry state people watch (src/telemetry, the state the side port's
 * dashboard follows) as one plain object, in one call. The MCP App's dashboard (src/mcp/app)
 * polls it through the host, so the page needs no network of its own.
 *
 * The state is made fresh for each call by the telemetry model's own rules
 * (`TelemetryModel.fromSnapshot`): the robot's state store now (connection, power, safety,
 * battery percent, streams), then the latest streamed reading of every wanted sensor folded in
 * as the "robot.sample" it was (pose, IMU, speed, accelerometer, colour, ...). What only the event
 * stream carries (battery volts, motor temperatures, the last safety event) stays null here.
 *
 * @module
 */
import { z } from "zod";
import type { RobotTopics } from "../robot/mod.ts";
import { TelemetryModel, type TelemetryState } from "../telemetry/mod.ts";
import { tool, type ToolRobot } from "./_tool.ts";

/** The telemetry state of `robot` now (see the module doc); `at` is its epoch ms. */
export function telemetryStateNow(robot: ToolRobot, at: number = Date.now()): TelemetryState {
  const info = robot.connection.info;
  const model = TelemetryModel.fromSnapshot(robot.state.snapshot, {
    initial: {
      connection: { port: info?.port ?? robot.spec.path, simulated: info?.simulated ?? null },
      safety: { speed_limit_percent: robot.safety.speedLimitPercent },
    },
    at,
    reason: "get_telemetry",
  });
  model.apply(
    robot.streams.latest().map((r) => ({
      topic: "robot.sample" as const,
      seq: 0,
      publishedAt: r.at,
      payload: {
        sensor: r.sensor,
        values: r.values,
        valid: r.valid,
        at: r.at,
      } as RobotTopics["robot.sample"],
    })),
  );
  return model.snapshot();
}

export const getTelemetry = tool({
  name: "get_telemetry",
  title: "Telemetry state",
  description:
    "Everything the dashboard shows, in one object: connection, power, safety (e-stop latched " +
    "and why, speed limit, battery critical, motor fault), battery, pose (x_m, y_m, yaw_deg, " +
    "heading_deg), speed, velocity, IMU, accelerometer, gyroscope, colour, ambient light and " +
    "which sensors stream. Values of sensors come from the latest streamed readings (null " +
    "until start_sensor_streaming streams them). Sends nothing to the robot.",
  input: {},
  output: {
    at_ms: z.number().describe("Epoch ms the state was taken."),
    state: z.record(z.string(), z.unknown()).describe(
      "The telemetry state: the object the side port's /telemetry frames carry (null = unknown).",
    ),
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  handler(robot) {
    const at = Date.now();
    return Promise.resolve({
      at_ms: at,
      state: telemetryStateNow(robot, at) as unknown as Record<string, unknown>,
    });
  },
});
