/**
 * The speed limit (`speedLimitPercent`, RVR_MAX_SPEED_PERCENT, default 50, 0-100): a cap, not a
 * scale. A movement command whose speed stays within `percent` of full scale goes out unchanged;
 * one above it is reduced to the cap. Commands with two speed values (raw motors, tank, RC) have
 * both scaled by the same factor, so the turn ratio is kept. Full scale per field
 * ({@link LIMIT_RULES}): 255 for `drive_with_heading` speed and raw motor duty; 127 for
 * normalised values; {@link TOP_SPEED_MPS} (1.555 m/s, the tread top speed of section 9.4) for SI
 * velocities, so one percentage means the same physical speed in every command;
 * {@link MAX_YAW_RATE_DPS} (624 deg/s) for the RC SI yaw rate. Integers are truncated toward zero
 * and SI values rounded toward zero to the f32 that goes on the wire, so the applied value never
 * exceeds the cap. 100 turns the limit off. Commands without a speed (IR follow/evade,
 * magnetometer calibration) are not limited. {@link applySpeedLimit} reports requested vs applied.
 *
 * @module
 */
import {
  MAX_YAW_RATE_DPS,
  type RequestName,
  type RequestOf,
  SPEED_LIMITED_COMMANDS,
  type SpeedLimitedCommand,
  TOP_SPEED_MPS,
} from "../../protocol/mod.ts";

export const DEFAULT_SPEED_LIMIT_PERCENT = 50;
export {
  MAX_YAW_RATE_DPS,
  SPEED_LIMITED_COMMANDS,
  type SpeedLimitedCommand,
  TOP_SPEED_MPS,
} from "../../protocol/mod.ts";

export function isSpeedLimitedCommand(name: string): name is SpeedLimitedCommand {
  return (SPEED_LIMITED_COMMANDS as readonly string[]).includes(name);
}

/** One speed field of a command and its full scale. */
export interface LimitedField {
  readonly field: string;
  readonly fullScale: number;
  /** Integer field (truncated toward zero) or f32 (rounded toward zero). */
  readonly integer: boolean;
  readonly unit: string;
}

/** Speed fields per command; fields of one command are scaled together. */
export const LIMIT_RULES: { readonly [C in SpeedLimitedCommand]: readonly LimitedField[] } = {
  drive_with_heading: [{ field: "speed", fullScale: 255, integer: true, unit: "of 255" }],
  raw_motors: [
    { field: "left_duty_cycle", fullScale: 255, integer: true, unit: "of 255" },
    { field: "right_duty_cycle", fullScale: 255, integer: true, unit: "of 255" },
  ],
  drive_tank_si_units: [
    { field: "left_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
    { field: "right_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
  ],
  drive_tank_normalized: [
    { field: "left_velocity", fullScale: 127, integer: true, unit: "of 127" },
    { field: "right_velocity", fullScale: 127, integer: true, unit: "of 127" },
  ],
  drive_rc_si_units: [
    { field: "linear_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
    { field: "yaw_angular_velocity", fullScale: MAX_YAW_RATE_DPS, integer: false, unit: "deg/s" },
  ],
  drive_rc_normalized: [
    { field: "linear_velocity", fullScale: 127, integer: true, unit: "of 127" },
    { field: "yaw_angular_velocity", fullScale: 127, integer: true, unit: "of 127" },
  ],
  drive_with_yaw_si: [
    { field: "linear_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
  ],
  drive_with_yaw_normalized: [
    { field: "linear_velocity", fullScale: 127, integer: true, unit: "of 127" },
  ],
  drive_to_position_si: [
    { field: "linear_speed", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
  ],
  drive_to_position_normalized: [
    { field: "linear_speed", fullScale: 127, integer: true, unit: "of 127" },
  ],
};

/** What the speed limit did to one command. */
export interface LimitResult<N extends RequestName = RequestName> {
  /** The parameters to send (the requested ones with the speed fields capped). */
  readonly params: RequestOf<N>;
  /** The speed fields as requested, field name to value. Empty for commands without speed. */
  readonly requested: Readonly<Record<string, number>>;
  /** The speed fields as they go on the wire. */
  readonly applied: Readonly<Record<string, number>>;
  /** True when any speed field was reduced. */
  readonly limited: boolean;
  /** The limit in force. */
  readonly speedLimitPercent: number;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** The f32 nearest to `x` whose magnitude is not larger than |x|. */
function f32TowardZero(x: number): number {
  f32[0] = x;
  if (Math.abs(f32[0]) > Math.abs(x)) f32Bits[0] -= 1;
  return f32[0];
}

/** `percent` when it is a valid speed limit; RangeError naming the value otherwise. */
export function checkSpeedLimit(percent: unknown): number {
  if (typeof percent !== "number" || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(
      `speedLimitPercent must be a number from 0 to 100 (RVR_MAX_SPEED_PERCENT), got ${
        String(percent)
      }; 100 turns the limit off, the default is ${DEFAULT_SPEED_LIMIT_PERCENT}.`,
    );
  }
  return percent;
}

/**
 * Applies the limit `percent` to `params` of `command` (see the module doc). Commands without a
 * speed field come back unchanged with `limited: false`. Throws TypeError when a speed field is
 * not a finite number. Pure: counting and announcing a limited command is the caller's.
 */
export function applySpeedLimit<N extends RequestName>(
  command: N,
  params: RequestOf<N>,
  percent: number,
): LimitResult<N> {
  if (!isSpeedLimitedCommand(command)) {
    return { params, requested: {}, applied: {}, limited: false, speedLimitPercent: percent };
  }
  const rules = LIMIT_RULES[command];
  const values = params as unknown as Record<string, unknown>;
  const requested: Record<string, number> = {};
  let factor = 1;
  for (const rule of rules) {
    const v = values[rule.field];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(
        `${command}.${rule.field} must be a finite number (${rule.unit}), got ${String(v)}.`,
      );
    }
    requested[rule.field] = v;
    const cap = (rule.fullScale * percent) / 100;
    if (Math.abs(v) > cap) factor = Math.min(factor, cap / Math.abs(v));
  }
  if (factor >= 1 || percent >= 100) {
    return {
      params,
      requested,
      applied: { ...requested },
      limited: false,
      speedLimitPercent: percent,
    };
  }
  const applied: Record<string, number> = {};
  for (const rule of rules) {
    const scaled = requested[rule.field] * factor;
    applied[rule.field] = rule.integer ? Math.trunc(scaled) : f32TowardZero(scaled);
    // -0 would encode fine but reads oddly in reports.
    if (Object.is(applied[rule.field], -0)) applied[rule.field] = 0;
  }
  const limitedParams = { ...values, ...applied } as unknown as RequestOf<N>;
  return { params: limitedParams, requested, applied, limited: true, speedLimitPercent: percent };
}

/** One line for the log and the "limited" event: each field, requested -> applied. */
export function describeLimit(
  command: SpeedLimitedCommand,
  result: Pick<LimitResult, "requested" | "applied" | "speedLimitPercent">,
): string {
  return `${command} reduced to the ${result.speedLimitPercent} % speed limit: ` +
    LIMIT_RULES[command].map((r) =>
      `${r.field} ${result.requested[r.field]} -> ${result.applied[r.field]} ${r.unit}`
    ).join(", ") + ".";
}
