/**
 * Synthetic robot events for the telemetry tests and the fan-out bench: sample events as the
 * sensor streams publish them, and a 200 Hz motion stream where most of the state changes each
 * batch. No test helpers imported, so the bench's server bundle holds only the program and this.
 */
import type { RobotEvent } from "../../src/telemetry/mod.ts";

/** A sample event as the sensor streams put it on the bus. */
export function sampleEvent(sensor: string, values: Record<string, number>, seq = 0): RobotEvent {
  const at = Date.now();
  return {
    topic: "robot.sample",
    seq,
    publishedAt: at,
    payload: { sensor, values, valid: true, at },
  };
}

/** A batch where most of the motion state changed: pose, IMU, accelerometer, gyro, speed. */
export function motionBatch(i: number): { events: RobotEvent[] } {
  const t = i / 200;
  return {
    events: [
      sampleEvent("locator", { x_m: Math.sin(t), y_m: Math.cos(t) + i * 1e-3 }),
      sampleEvent("imu", {
        pitch_deg: Math.sin(3 * t),
        roll_deg: Math.cos(3 * t),
        yaw_deg: i % 360,
      }),
      sampleEvent("accelerometer", {
        x_g: Math.sin(5 * t),
        y_g: Math.cos(5 * t),
        z_g: 1 + i * 1e-4,
      }),
      sampleEvent("gyroscope", { x_dps: i % 97, y_dps: -(i % 89), z_dps: (i % 83) / 3 }),
      sampleEvent("velocity", { x_mps: Math.cos(t) / 3, y_mps: Math.sin(t) / 3 + i * 1e-4 }),
      sampleEvent("speed", { speed_mps: 0.3 + (i % 50) / 1000 }),
    ],
  };
}
