/**
 * Magnetometer reading and calibration (device 0x18 sensor). Calibration: the body turns once in
 * place (controller 9); when it ends, magnetometer_calibration_complete_notify says success and the
 * north yaw, or failure (yaw 0) when a motion command interrupted it.
 */
import { getLogger } from "@logtape/logtape";
import { DRIVE_STOP_COMMANDS, MOVEMENT_COMMANDS, wrapDeg } from "../../protocol/mod.ts";
import type { RvrBody } from "../body/mod.ts";
import type { NotifyHost } from "../context.ts";
import type { WorldMember } from "../world.ts";
import type { DeviceContext, HandlerGroup } from "./_context.ts";
import type { InfraredControl } from "./infrared.ts";

const log = getLogger(["rvr", "sim"]);

/**
 * Commands that hand the body a new drive controller (they interrupt a magnetometer
 * calibration): the movement commands but the calibration itself, and the stops.
 */
const MOTION_COMMANDS: ReadonlySet<string> = new Set<string>([
  ...MOVEMENT_COMMANDS.filter((name) => name !== "magnetometer_calibrate_to_north"),
  ...DRIVE_STOP_COMMANDS,
]);

/** Counts the commands that take over the drive, so a calibration knows it was interrupted. */
export class MotionTracker {
  #motionCommands = 0;
  /** A running magnetometer calibration and the motion-command count when it began. */
  #calibration: { motionCommands: number } | undefined;

  constructor(
    readonly body: RvrBody,
    readonly member: WorldMember,
    readonly infrared: InfraredControl,
    readonly notify: NotifyHost,
  ) {}

  /** After a command ran: a new drive controller replaces IR following/evading (unless it is one). */
  afterCommand(name: string): void {
    if (!MOTION_COMMANDS.has(name)) return;
    this.#motionCommands++;
    if (!name.startsWith("start_robot_to_robot_infrared_")) this.infrared.forget();
  }

  /**
   * Stops the body at once (stop controller), ending IR following/evading; a running
   * magnetometer calibration counts as interrupted.
   */
  haltBody(): void {
    this.infrared.stop();
    this.#motionCommands++;
    this.body.halt();
  }

  startCalibration(): void {
    this.infrared.stop();
    this.body.startMagnetometerCalibration();
    this.#calibration = { motionCommands: this.#motionCommands };
  }

  /** Drops a running calibration without a notification (sleep, disable_notifications...). */
  cancelCalibration(): void {
    this.#calibration = undefined;
  }

  /** Once the body's calibration turn ended: tells the host whether it succeeded. */
  checkCalibration(): void {
    const cal = this.#calibration;
    if (!cal || this.body.isCalibratingMagnetometer) return;
    this.#calibration = undefined;
    const success = cal.motionCommands === this.#motionCommands;
    log.debug("Magnetometer calibration {result}", { result: success ? "done" : "interrupted" });
    this.notify("magnetometer_calibration_complete_notify", {
      is_successful: success,
      yaw_north_direction: success ? Math.round(wrapDeg(this.member.northYawDeg())) : 0,
    });
  }
}

export function magnetometerHandlers(
  r: DeviceContext,
): HandlerGroup<"get_magnetometer_reading" | "magnetometer_calibrate_to_north"> {
  return {
    get_magnetometer_reading: () => {
      const m = r.member.magnetometer();
      return { x_axis: m.x, y_axis: m.y, z_axis: m.z };
    },
    magnetometer_calibrate_to_north: () => r.motion.startCalibration(),
  };
}
