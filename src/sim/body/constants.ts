/**
 * Physical constants of the simulated RVR body (sources: docs/protocol.md sec. 9.4 [DOC]/[SDK];
 * values marked [?] are reasoned choices). The wire facts (speed and yaw-rate limits, controller
 * ids, flag bits) live in src/protocol/drive_control.ts.
 */
import { TOP_SPEED_MPS } from "../../protocol/mod.ts";

export interface SlewParameters {
  a: number;
  b: number;
  c: number;
  linearAcceleration: number;
  method: number;
}

/** Distance between the tread centre lines [?] (RVR is about 0.22 m wide over the treads). */
export const TRACK_WIDTH_M = 0.2;
/** Top tread speed: the protocol's TOP_SPEED_MPS (SDK samples for tank drive). */
export const MAX_TREAD_SPEED_MPS = TOP_SPEED_MPS;
/** Gyroscope full scale; beyond it a gyro_max event is raised (sec. 9.5). */
export const GYRO_RANGE_DPS = 2000;
/**
 * Encoder resolution [?]: assumes a 12-line quadrature motor encoder (48 counts/rev), a 40:1
 * gearbox and 0.2 m of tread travel per sprocket revolution, i.e. 48 * 40 / 0.2 = 9600 ticks/m.
 */
export const ENCODER_TICKS_PER_METRE = 9600;
/** Physical acceleration limit of one tread (motor torque) [?]. */
export const MAX_TREAD_ACCEL_MPS2 = 5;
/** Default control-system timeout (sec. 9.4). */
export const DEFAULT_CONTROL_TIMEOUT_MS = 2000;
/** drive_stop deceleration (sec. 9.4). */
export const DEFAULT_STOP_DECEL_MPS2 = 2;
/** Slew defaults: yaw-rate cap a*v^2 + b*v + c [DOC]; linear acceleration 3 m/s^2 [?]. */
export const DEFAULT_SLEW_PARAMETERS: Readonly<SlewParameters> = Object.freeze({
  a: -177.78,
  b: 533.33,
  c: 200,
  linearAcceleration: 3,
  method: 0,
});
/** Linear velocity slew methods: 0 constant acceleration, 1 proportional (see slewLinear). */
export const SLEW_METHODS = [0, 1] as const;
/** Method 1: the slewed speed closes SLEW_PROPORTIONAL_GAIN_PER_S of its error per second. */
export const SLEW_PROPORTIONAL_GAIN_PER_S = 4;
/** raw_motors: duty (0-255) needed to overcome static friction [?]. */
export const RAW_MOTOR_FRICTION_DUTY = 24;
/** raw_motors: open-loop speed response time constant [?]. */
export const RAW_MOTOR_TIME_CONSTANT_S = 0.12;
/** Yaw controllers: deg/s of yaw rate per degree of yaw error. */
export const YAW_GAIN_PER_S = 6;
/** Advanced yaw controller: when started at standstill it turns within this before driving. */
export const TURN_FIRST_TOLERANCE_DEG = 5;
/** XY position controller: arrival radius and final-yaw tolerance. */
export const XY_POSITION_TOLERANCE_M = 0.02;
export const XY_YAW_TOLERANCE_DEG = 1;
/** XY controller: crawl speed used near the target so it arrives in finite time. */
export const XY_MIN_SPEED_MPS = 0.04;
/** XY controller: it turns in place while the bearing to the target is off by this or more. */
export const XY_DRIVE_WINDOW_DEG = 30;
/** IR follow: keep this gap to the broadcaster; IR evade: flee while closer than the range. */
export const IR_FOLLOW_GAP_M = 0.4;
export const IR_EVADE_RANGE_M = 1.0;
export const IR_MAX_SPEED_MPS = 0.8;
export const IR_SPEED_GAIN_PER_S = 1.5;
/** Magnetometer calibration: one full turn in place at this rate. */
export const MAG_CALIBRATION_RATE_DPS = 90;
/** A blocked tread whose controller demands more than this for STALL_DETECT_MS stalls. */
export const STALL_DEMAND_MPS = 0.05;
export const STALL_DETECT_MS = 250;
/** Motor current model (per motor) [?]: idle + speed + acceleration terms; stall current. */
export const MOTOR_IDLE_CURRENT_A = 0.08;
export const MOTOR_CURRENT_PER_MPS = 0.35;
export const MOTOR_CURRENT_PER_MPS2 = 0.12;
export const MOTOR_STALL_CURRENT_A = 2.3;
/** Suspension model (see the file comment). */
export const PITCH_DEG_PER_MPS2 = 0.8;
export const ROLL_DEG_PER_MPS2 = 0.8;
export const SUSPENSION_TIME_CONSTANT_S = 0.08;
/** Standard gravity, m/s^2 per g. */
export const STANDARD_GRAVITY_MPS2 = 9.80665;
/** Largest internal integration step. */
export const MAX_SUBSTEP_MS = 5;

/** Default controller of each control-system type (index = type id) at power-on. */
export const INITIAL_DEFAULT_CONTROLLERS: readonly number[] = [0, 1, 2, 3, 5, 7, 8, 9];
