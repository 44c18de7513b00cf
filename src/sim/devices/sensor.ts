/**
 * Device 0x18 sensor, the locator, IMU, encoder and temperature commands, and
 * disable_notifications_and_active_commands. (Colour, infrared, magnetometer and streaming have
 * files of their own.) Temperature sensor ids other than 4/5/8 -> bad_data_value.
 */
import type { DeviceContext, HandlerGroup } from "./_context.ts";
import { NOTIFY_SWITCHES } from "./_context.ts";

type SensorCommand =
  | "enable_gyro_max_notify"
  | "reset_locator_x_and_y"
  | "set_locator_flags"
  | "get_encoder_counts"
  | "get_temperature"
  | "get_motor_thermal_protection_status"
  | "enable_motor_thermal_protection_status_notify"
  | "disable_notifications_and_active_commands";

export function sensorHandlers(r: DeviceContext): HandlerGroup<SensorCommand> {
  const b = r.body;
  return {
    enable_gyro_max_notify: (p) => {
      r.switches.gyroMax = p.is_enabled;
    },
    reset_locator_x_and_y: () => b.resetLocator(),
    set_locator_flags: (p) => b.setLocatorFlags(p.flags),
    get_encoder_counts: () => {
      const e = b.encoders;
      return { encoder_counts: [e.left, e.right] };
    },
    get_temperature: (p) => ({
      id0: p.id0,
      temp0: r.thermal.temperature(p.id0),
      id1: p.id1,
      temp1: r.thermal.temperature(p.id1),
    }),
    get_motor_thermal_protection_status: () => {
      const l = r.thermal.left;
      const rt = r.thermal.right;
      return {
        left_motor_temperature: l.temperatureC,
        left_motor_status: l.status,
        right_motor_temperature: rt.temperatureC,
        right_motor_status: rt.status,
      };
    },
    enable_motor_thermal_protection_status_notify: (p) => {
      r.switches.thermal = p.is_enabled;
    },
    disable_notifications_and_active_commands: () => {
      for (const k of NOTIFY_SWITCHES) r.switches[k] = false;
      r.color.stopNotify();
      r.color.setDetection(false);
      for (const node of [1, 2] as const) r.streaming.clear(node);
      r.member.stopBroadcast();
      r.motion.cancelCalibration();
      r.motion.haltBody();
    },
  };
}
