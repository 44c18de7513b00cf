/**
 * The motor thermal protection status of `get_motor_thermal_protection_status` and its
 * notification (docs/protocol.md section 9: 0 ok, 1 warning, 2 critical), named once for the
 * safety rules, the telemetry and the tools.
 */

/** The status names, indexed by the wire value. */
export const MOTOR_THERMAL_STATUSES = ["ok", "warn", "critical"] as const;
export type MotorThermalStatus = typeof MOTOR_THERMAL_STATUSES[number];

/**
 * The name of a wire status value. A value the protocol does not define (3-255) reads as
 * "critical": a motor whose protection reports something unknown is treated as the worst case.
 */
export function motorThermalStatus(value: number): MotorThermalStatus {
  return MOTOR_THERMAL_STATUSES[value] ?? "critical";
}
