/**
 * What a page records from each applied telemetry frame for its drawings: the x/y path and the
 * IMU and accelerometer chart samples. Shared by the side port's dashboard (main.ts, frames off
 * its socket) and the MCP App's page (src/mcp/app, states polled through the host). Pure (no
 * DOM).
 *
 * @module
 */
import { PathTrace, pushSample, type Sample } from "./history.ts";
import { num, touches } from "./readings.ts";

/** The path and chart samples of one page. */
export class Trail {
  readonly path: PathTrace = new PathTrace();
  readonly imuSamples: Sample[] = [];
  readonly accelSamples: Sample[] = [];

  /**
   * Records state `s` after a frame applied at epoch ms `at`; `changes` are the paths the frame
   * changed (null = everything, a full frame).
   */
  record(s: unknown, at: number, changes: Record<string, unknown> | null): void {
    if (touches(changes, "pose")) this.path.add(num(s, "pose.x_m"), num(s, "pose.y_m"));
    if (touches(changes, "imu")) {
      pushSample(this.imuSamples, at, [
        num(s, "imu.pitch_deg"),
        num(s, "imu.roll_deg"),
        num(s, "imu.yaw_deg"),
      ]);
    }
    if (touches(changes, "accelerometer")) {
      pushSample(this.accelSamples, at, [
        num(s, "accelerometer.x_g"),
        num(s, "accelerometer.y_g"),
        num(s, "accelerometer.z_g"),
      ]);
    }
  }
}
