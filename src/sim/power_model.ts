/**
 * Battery and motor-temperature models of the simulated RVR (rvr-protocol.md sec. 9.1 and 9.5).
 * Pure functions of simulated time: the sim calls `step(dtMs, motorCurrentA)`; no timers here.
 *
 * Battery [?]: a 2-cell Li-ion pack (8.4 V full) of BATTERY_CAPACITY_AH. The reported percentage is
 * the usable charge; open-circuit voltage follows OCV_CURVE (a typical 2S Li-ion discharge curve
 * with its knee below 15 %); under load the pack sags by current * BATTERY_INTERNAL_RESISTANCE_OHM.
 * Readings (get_battery_voltage_in_volts reading_type):
 *   0 calibrated & filtered   - the loaded voltage through a first-order filter (VOLTAGE_FILTER_S);
 *   1 calibrated & unfiltered - the instantaneous loaded voltage plus deterministic noise of up to
 *                               +-VOLTAGE_NOISE_V (seeded PRNG, new sample per step);
 *   2 uncalibrated            - reading 1 through the raw ADC gain/offset error.
 * State (get_battery_voltage_state) follows the filtered voltage: ok -> low below `low`, -> critical
 * below `critical`; back up only above threshold + hysteresis (critical -> low above critical +
 * hysteresis, low -> ok above low + hysteresis). With the defaults the pack turns low near 10 % and
 * critical near 2 % at rest.
 *
 * Motors [?]: each winding heats with I^2 * MOTOR_WINDING_RESISTANCE_OHM through a thermal resistance
 * MOTOR_THERMAL_RESISTANCE_C_PER_W and cools toward ambient with MOTOR_THERMAL_TIME_CONSTANT_S
 * (exact exponential integration, so any step size gives the same curve). Status 0 ok, 1 warn at
 * MOTOR_WARN_C, 2 critical at MOTOR_CRITICAL_C; a status drops back only MOTOR_STATUS_HYSTERESIS_C
 * below its threshold. The Nordic die sits NORDIC_DIE_RISE_C above ambient plus a little board heat
 * from the motor current.
 */
import { checkNumber, mulberry32 } from "../core/validate.ts";

export type BatteryState = 0 | 1 | 2 | 3;
export const BATTERY_STATES = ["unknown", "ok", "low", "critical"] as const;
export type BatteryEvent = { type: "battery_state"; state: BatteryState };
export interface BatteryOptions {
  /** Initial usable charge 0-100 (default 100). */
  percentage?: number;
  /** Multiplies the drain (e.g. 60 = one simulated minute of drain per second). Default 1. */
  drainScale?: number;
  /** Seed of the unfiltered-reading noise (default 1). */
  noiseSeed?: number;
}
export const VOLTAGE_READING_TYPES = [0, 1, 2] as const;
export type VoltageReadingType = (typeof VOLTAGE_READING_TYPES)[number];

export const BATTERY_CAPACITY_AH = 2.0;
export const BATTERY_INTERNAL_RESISTANCE_OHM = 0.15;
/** Electronics draw while awake, A. */
export const BATTERY_IDLE_CURRENT_A = 0.12;
export const BATTERY_THRESHOLDS = Object.freeze({ critical: 6.2, low: 6.6, hysteresis: 0.1 });
export const VOLTAGE_FILTER_S = 2;
export const VOLTAGE_NOISE_V = 0.015;
/** Reading type 2: raw = calibrated * gain + offset. */
export const UNCALIBRATED_GAIN = 1.015;
export const UNCALIBRATED_OFFSET_V = 0.04;
/** Open-circuit pack voltage by usable percentage (ascending), linear in between. */
export const OCV_CURVE: readonly (readonly [number, number])[] = Object.freeze([
  [0, 6.0],
  [2, 6.2],
  [5, 6.36],
  [10, 6.6],
  [15, 7.02],
  [20, 7.18],
  [30, 7.34],
  [40, 7.46],
  [50, 7.56],
  [60, 7.66],
  [70, 7.78],
  [80, 7.9],
  [90, 8.06],
  [100, 8.3],
]);

/** Open-circuit voltage of the pack at a usable percentage (0-100, real-valued). */
export function openCircuitVoltage(percentage: number): number {
  const p = Math.min(100, Math.max(0, percentage));
  for (let i = 1; i < OCV_CURVE.length; i++) {
    const [p1, v1] = OCV_CURVE[i];
    if (p <= p1) {
      const [p0, v0] = OCV_CURVE[i - 1];
      return v0 + ((p - p0) / (p1 - p0)) * (v1 - v0);
    }
  }
  return OCV_CURVE[OCV_CURVE.length - 1][1];
}

function requirePercentage(p: number): number {
  return checkNumber("battery percentage", p, 0, 100);
}
function requireStep(dtMs: number): void {
  if (!Number.isFinite(dtMs) || dtMs < 0) {
    throw new RangeError(`step dtMs must be a finite number >= 0, got ${dtMs}`);
  }
}
function requireCurrents(c: { left: number; right: number }): void {
  if (!Number.isFinite(c?.left) || !Number.isFinite(c?.right)) {
    throw new RangeError(
      `motor currents must be finite amps, got left ${c?.left}, right ${c?.right}`,
    );
  }
}

export class BatteryModel {
  #chargeAh: number;
  #drainScale: number;
  #loadA = 0;
  #filteredV: number;
  #noiseV = 0;
  #state: BatteryState;
  readonly #random: () => number;

  constructor(options: BatteryOptions = {}) {
    const p = requirePercentage(options.percentage ?? 100);
    const scale = options.drainScale ?? 1;
    if (!Number.isFinite(scale) || scale < 0) {
      throw new RangeError(`battery drainScale must be a finite number >= 0, got ${scale}`);
    }
    this.#drainScale = scale;
    this.#chargeAh = (p / 100) * BATTERY_CAPACITY_AH;
    this.#random = mulberry32(options.noiseSeed ?? 1);
    this.#filteredV = openCircuitVoltage(p);
    this.#state = this.#stateWithoutHistory(this.#filteredV);
  }

  /** Drains by the motor currents (plus idle draw) for dtMs; events on state change. */
  step(dtMs: number, motorCurrentA: { left: number; right: number }): BatteryEvent[] {
    requireStep(dtMs);
    requireCurrents(motorCurrentA);
    const dtS = dtMs / 1000;
    this.#loadA = Math.abs(motorCurrentA.left) + Math.abs(motorCurrentA.right) +
      BATTERY_IDLE_CURRENT_A;
    this.#chargeAh = Math.max(0, this.#chargeAh - (this.#loadA * dtS * this.#drainScale) / 3600);
    const k = 1 - Math.exp(-dtS / VOLTAGE_FILTER_S);
    this.#filteredV += (this.#loadedV() - this.#filteredV) * k;
    this.#noiseV = (this.#random() * 2 - 1) * VOLTAGE_NOISE_V;
    const next = this.#nextState(this.#filteredV);
    if (next === this.#state) return [];
    this.#state = next;
    return [{ type: "battery_state", state: next }];
  }

  /** Usable charge, integer 0-100. */
  get percentage(): number {
    return Math.round(this.#exactPercentage());
  }

  /** Volts for a reading type (0 filtered, 1 unfiltered, 2 uncalibrated). */
  voltage(readingType: VoltageReadingType): number {
    switch (readingType) {
      case 0:
        return this.#filteredV;
      case 1:
        return this.#loadedV() + this.#noiseV;
      case 2:
        return (this.#loadedV() + this.#noiseV) * UNCALIBRATED_GAIN + UNCALIBRATED_OFFSET_V;
      default:
        throw new RangeError(
          `voltage reading type must be 0 (filtered), 1 (unfiltered) or 2 (uncalibrated), ` +
            `got ${readingType}`,
        );
    }
  }

  /** 0 unknown, 1 ok, 2 low, 3 critical (with hysteresis). */
  get state(): BatteryState {
    return this.#state;
  }

  get thresholds(): { critical: number; low: number; hysteresis: number } {
    return { ...BATTERY_THRESHOLDS };
  }

  /** Total current drawn during the last step, A. */
  get loadCurrentA(): number {
    return this.#loadA;
  }

  /** Fault/test knob: sets the charge; the filtered voltage follows at once, the state on step. */
  setPercentage(p: number): void {
    this.#chargeAh = (requirePercentage(p) / 100) * BATTERY_CAPACITY_AH;
    this.#filteredV = this.#loadedV();
  }

  #exactPercentage(): number {
    return (this.#chargeAh / BATTERY_CAPACITY_AH) * 100;
  }
  #loadedV(): number {
    return openCircuitVoltage(this.#exactPercentage()) -
      this.#loadA * BATTERY_INTERNAL_RESISTANCE_OHM;
  }
  #stateWithoutHistory(v: number): BatteryState {
    const t = BATTERY_THRESHOLDS;
    return v < t.critical ? 3 : v < t.low ? 2 : 1;
  }
  #nextState(v: number): BatteryState {
    const t = BATTERY_THRESHOLDS;
    const s = this.#state;
    if (v < t.critical) return 3;
    // Leaving critical needs critical + hysteresis.
    if (s === 3 && v <= t.critical + t.hysteresis) return 3;
    if (v < t.low) return 2;
    // Leaving low (or critical) for ok needs low + hysteresis.
    if (v > t.low + t.hysteresis) return 1;
    return s === 3 || s === 2 ? 2 : 1;
  }
}

// ---------------------------------------------------------------------------------------------

export type MotorThermalStatus = 0 | 1 | 2;
export interface ThermalReading {
  temperatureC: number;
  /** 0 ok, 1 warn, 2 critical. */
  status: MotorThermalStatus;
}
export type ThermalEvent = { type: "thermal_status"; left: ThermalReading; right: ThermalReading };

export const DEFAULT_AMBIENT_C = 25;
export const MOTOR_WINDING_RESISTANCE_OHM = 1.2;
export const MOTOR_THERMAL_RESISTANCE_C_PER_W = 20;
export const MOTOR_THERMAL_TIME_CONSTANT_S = 90;
export const MOTOR_WARN_C = 70;
export const MOTOR_CRITICAL_C = 90;
export const MOTOR_STATUS_HYSTERESIS_C = 5;
export const NORDIC_DIE_RISE_C = 8;
export const NORDIC_DIE_C_PER_A = 2;
export const NORDIC_DIE_TIME_CONSTANT_S = 60;
/** get_temperature sensor ids (sec. 9.5). */
export const TEMPERATURE_SENSORS = { leftMotor: 4, rightMotor: 5, nordicDie: 8 } as const;

function nextThermalStatus(status: MotorThermalStatus, c: number): MotorThermalStatus {
  if (c >= MOTOR_CRITICAL_C) return 2;
  if (status === 2 && c > MOTOR_CRITICAL_C - MOTOR_STATUS_HYSTERESIS_C) return 2;
  if (c >= MOTOR_WARN_C) return 1;
  if (status >= 1 && c > MOTOR_WARN_C - MOTOR_STATUS_HYSTERESIS_C) return 1;
  return 0;
}

export class ThermalModel {
  readonly #ambientC: number;
  #left: ThermalReading;
  #right: ThermalReading;
  #dieC: number;

  constructor(options: { ambientC?: number } = {}) {
    const a = options.ambientC ?? DEFAULT_AMBIENT_C;
    if (!Number.isFinite(a) || a < -40 || a > 85) {
      throw new RangeError(`ambientC must be a temperature -40..85 C, got ${a}`);
    }
    this.#ambientC = a;
    this.#left = { temperatureC: a, status: 0 };
    this.#right = { temperatureC: a, status: 0 };
    this.#dieC = a + NORDIC_DIE_RISE_C;
  }

  /** Heats/cools for dtMs at the given motor currents; an event when a status changes. */
  step(dtMs: number, motorCurrentA: { left: number; right: number }): ThermalEvent[] {
    requireStep(dtMs);
    requireCurrents(motorCurrentA);
    const dtS = dtMs / 1000;
    const k = Math.exp(-dtS / MOTOR_THERMAL_TIME_CONSTANT_S);
    const heat = (r: ThermalReading, amps: number): ThermalReading => {
      const target = this.#ambientC +
        amps * amps * MOTOR_WINDING_RESISTANCE_OHM * MOTOR_THERMAL_RESISTANCE_C_PER_W;
      const c = target + (r.temperatureC - target) * k;
      return { temperatureC: c, status: nextThermalStatus(r.status, c) };
    };
    const left = heat(this.#left, motorCurrentA.left);
    const right = heat(this.#right, motorCurrentA.right);
    const dieTarget = this.#ambientC + NORDIC_DIE_RISE_C +
      NORDIC_DIE_C_PER_A * (Math.abs(motorCurrentA.left) + Math.abs(motorCurrentA.right));
    this.#dieC = dieTarget + (this.#dieC - dieTarget) * Math.exp(-dtS / NORDIC_DIE_TIME_CONSTANT_S);
    const changed = left.status !== this.#left.status || right.status !== this.#right.status;
    this.#left = left;
    this.#right = right;
    return changed ? [{ type: "thermal_status", left: { ...left }, right: { ...right } }] : [];
  }

  get left(): ThermalReading {
    return { ...this.#left };
  }
  get right(): ThermalReading {
    return { ...this.#right };
  }
  get nordicDieC(): number {
    return this.#dieC;
  }
  get ambientC(): number {
    return this.#ambientC;
  }

  /** get_temperature ids: 4 left motor, 5 right motor, 8 Nordic die. */
  temperature(sensorId: number): number {
    switch (sensorId) {
      case TEMPERATURE_SENSORS.leftMotor:
        return this.#left.temperatureC;
      case TEMPERATURE_SENSORS.rightMotor:
        return this.#right.temperatureC;
      case TEMPERATURE_SENSORS.nordicDie:
        return this.#dieC;
      default:
        throw new RangeError(
          `temperature sensor id ${sensorId} is unknown; use 4 (left motor), 5 (right motor) ` +
            "or 8 (Nordic die)",
        );
    }
  }

  /** Fault/test knob: sets a motor temperature; its status follows on the next step. */
  setMotorTemperature(side: "left" | "right", c: number): void {
    if (side !== "left" && side !== "right") {
      throw new RangeError(`motor side must be "left" or "right", got ${String(side)}`);
    }
    if (!Number.isFinite(c)) {
      throw new RangeError(`motor temperature must be a finite number of C, got ${c}`);
    }
    if (side === "left") this.#left = { ...this.#left, temperatureC: c };
    else this.#right = { ...this.#right, temperatureC: c };
  }
}
