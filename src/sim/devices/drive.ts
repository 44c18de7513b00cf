/**
 * Device 0x16 drive: every drive command runs on the body (../body), which refuses out-of-range
 * values with a RangeError (bad_data_value: raw motor mode > 2, XY flags 3, ...). Motor faults
 * exist only through SimulatedRvr.setMotorFault().
 */
import type { DeviceContext, DeviceHandlers } from "./_context.ts";

export function driveHandlers(r: DeviceContext): DeviceHandlers<"drive"> {
  const b = r.body;
  return {
    raw_motors: (p) =>
      b.rawMotors(p.left_mode, p.left_duty_cycle, p.right_mode, p.right_duty_cycle),
    reset_yaw: () => b.resetYaw(),
    drive_with_heading: (p) => b.driveWithHeading(p.speed, p.heading, p.flags),
    set_default_control_system_for_type: (p) =>
      b.setDefaultControlSystem(p.control_system_type, p.controller_id),
    set_custom_control_system_timeout: (p) => b.setControlSystemTimeout(p.command_timeout),
    enable_motor_stall_notify: (p) => {
      r.switches.motorStall = p.is_enabled;
    },
    enable_motor_fault_notify: (p) => {
      r.switches.motorFault = p.is_enabled;
    },
    get_motor_fault_state: () => ({ is_fault: r.motorFault() }),
    drive_tank_si_units: (p) => b.driveTankSi(p.left_velocity, p.right_velocity),
    drive_tank_normalized: (p) => b.driveTankNormalized(p.left_velocity, p.right_velocity),
    drive_rc_si_units: (p) => b.driveRcSi(p.yaw_angular_velocity, p.linear_velocity, p.flags),
    drive_rc_normalized: (p) =>
      b.driveRcNormalized(p.yaw_angular_velocity, p.linear_velocity, p.flags),
    drive_with_yaw_si: (p) => b.driveWithYawSi(p.yaw_angle, p.linear_velocity),
    drive_with_yaw_normalized: (p) => b.driveWithYawNormalized(p.yaw_angle, p.linear_velocity),
    drive_to_position_si: (p) =>
      b.driveToPositionSi(p.yaw_angle, p.x, p.y, p.linear_speed, p.flags),
    drive_to_position_normalized: (p) =>
      b.driveToPositionNormalized(p.yaw_angle, p.x, p.y, p.linear_speed, p.flags),
    set_drive_target_slew_parameters: (p) =>
      b.setSlewParameters({
        a: p.a,
        b: p.b,
        c: p.c,
        linearAcceleration: p.linear_acceleration,
        method: p.linear_velocity_slew_method,
      }),
    get_drive_target_slew_parameters: () => {
      const s = b.getSlewParameters();
      return {
        a: s.a,
        b: s.b,
        c: s.c,
        linear_acceleration: s.linearAcceleration,
        linear_velocity_slew_method: s.method,
      };
    },
    drive_stop_custom_decel: (p) => b.driveStop(p.deceleration_rate),
    restore_default_drive_target_slew_parameters: () => b.restoreDefaultSlewParameters(),
    get_stop_controller_state: () => ({ stopped: b.isStopped }),
    drive_stop: () => b.driveStop(),
    restore_default_control_system_timeout: () => b.restoreDefaultControlSystemTimeout(),
    get_active_control_system_id: () => ({ controller_id: b.activeControllerId }),
    restore_initial_default_control_systems: () => b.restoreInitialDefaultControlSystems(),
    get_default_control_system_for_type: (p) => ({
      controller_id: b.getDefaultControlSystem(p.control_system_type),
    }),
  };
}
