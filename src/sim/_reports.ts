/** What the body, the battery and the motors report to the host, per the notification switches. */
import { getLogger } from "@logtape/logtape";
import type { BodyEvent } from "./body/mod.ts";
import type { NotifyHost } from "./context.ts";
import type { NotifySwitch } from "./devices/mod.ts";
import type { BatteryEvent, ThermalEvent } from "./power_model.ts";

const log = getLogger(["rvr", "sim"]);

export function reportBodyEvent(
  e: BodyEvent,
  switches: Readonly<Record<NotifySwitch, boolean>>,
  notify: NotifyHost,
): void {
  switch (e.type) {
    case "xy_position_drive_result":
      notify("xy_position_drive_result_notify", { success: e.success });
      break;
    case "robot_has_stopped":
      notify("robot_has_stopped_notify", {});
      break;
    case "motor_stall":
      if (switches.motorStall) {
        notify("motor_stall_notify", {
          motor_index: e.motorIndex,
          is_triggered: e.isTriggered,
        });
      }
      break;
    case "gyro_max":
      if (switches.gyroMax) notify("gyro_max_notify", { flags: e.flags });
      break;
  }
}

export function reportBatteryEvent(
  e: BatteryEvent,
  robot: string,
  switches: Readonly<Record<NotifySwitch, boolean>>,
  notify: NotifyHost,
): void {
  log.info("Battery state {state}", { robot, state: e.state });
  if (switches.batteryState) {
    notify("battery_voltage_state_change_notify", { state: e.state });
  }
}

export function reportThermalEvent(
  e: ThermalEvent,
  robot: string,
  switches: Readonly<Record<NotifySwitch, boolean>>,
  notify: NotifyHost,
): void {
  log.info("Motor thermal status {left}/{right}", {
    robot,
    left: e.left.status,
    right: e.right.status,
  });
  if (switches.thermal) {
    notify("motor_thermal_protection_status_notify", {
      left_motor_temperature: e.left.temperatureC,
      left_motor_status: e.left.status,
      right_motor_temperature: e.right.temperatureC,
      right_motor_status: e.right.status,
    });
  }
}
