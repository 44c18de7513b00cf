/**
 * Integration of one body: `step(dtMs)` is split into sub-steps of at most MAX_SUBSTEP_MS so results
 * hardly depend on the caller's step size. Each sub-step runs the controller, integrates the pose
 * (tread speeds change linearly within a sub-step), the IMU (accelerations, a soft suspension that
 * tips PITCH_DEG_PER_MPS2 per m/s^2 of longitudinal and ROLL_DEG_PER_MPS2 per m/s^2 of centripetal
 * acceleration with a SUSPENSION_TIME_CONSTANT_S lag), motor currents, stalls and the gyro range.
 * Control timeout: raw, tank, yaw and RC controllers fall back to the decelerating stop (2 m/s^2)
 * when no drive command arrives within the timeout; robot_has_stopped once at standstill.
 */
import { getLogger } from "@logtape/logtape";
import { GYRO_MAX_FLAGS } from "../../protocol/mod.ts";
import {
  DEFAULT_STOP_DECEL_MPS2,
  GYRO_RANGE_DPS,
  MAX_SUBSTEP_MS,
  MOTOR_CURRENT_PER_MPS,
  MOTOR_CURRENT_PER_MPS2,
  MOTOR_IDLE_CURRENT_A,
  MOTOR_STALL_CURRENT_A,
  PITCH_DEG_PER_MPS2,
  ROLL_DEG_PER_MPS2,
  STALL_DEMAND_MPS,
  STALL_DETECT_MS,
  SUSPENSION_TIME_CONSTANT_S,
  TRACK_WIDTH_M,
} from "./constants.ts";
import { control, TIMED_KINDS } from "./control.ts";
import { DEG, wrapRad } from "./geometry.ts";
import { gyroscope } from "./readouts.ts";
import type { BodyEvent, BodyState } from "./_state.ts";

const log = getLogger(["rvr", "sim"]);

/** Advance the physics by dtMs; returns what happened (events in order). */
export function step(s: BodyState, dtMs: number): BodyEvent[] {
  if (!Number.isFinite(dtMs) || dtMs < 0) {
    throw new RangeError(`step dtMs must be a finite number >= 0, got ${dtMs}`);
  }
  const events = s.pending;
  s.pending = [];
  if (dtMs === 0) return events;
  const n = Math.ceil(dtMs / MAX_SUBSTEP_MS);
  const h = dtMs / n / 1000;
  for (let i = 0; i < n; i++) substep(s, h, events);
  return events;
}

function substep(s: BodyState, h: number, events: BodyEvent[]): void {
  s.nowMs += h * 1000;
  const d0 = s.drive;
  if (TIMED_KINDS.has(d0.kind) && s.nowMs - s.lastCommandMs >= s.timeoutMs) {
    log.debug("Control system timeout after {timeoutMs} ms: stopping", {
      timeoutMs: s.timeoutMs,
    });
    s.drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: false };
  }
  const prevL = s.vL;
  const prevR = s.vR;
  const prevV = (prevL + prevR) / 2;
  const demand = control(s, h, events);

  if (s.blocked.left) s.vL = 0;
  if (s.blocked.right) s.vR = 0;

  // Integrate the pose. Tread speeds change linearly within a sub-step (acceleration-limited),
  // so their average is exact for the travel; the position uses the midpoint heading.
  const vL = s.vL;
  const vR = s.vR;
  const v = (vL + vR) / 2;
  const wBody = (vR - vL) / TRACK_WIDTH_M;
  const w = wBody + s.external.z * DEG;
  const avgL = (vL + prevL) / 2;
  const avgR = (vR + prevR) / 2;
  const wAvg = (avgR - avgL) / TRACK_WIDTH_M + s.external.z * DEG;
  const mid = s.heading + (wAvg * h) / 2;
  s.x += -Math.sin(mid) * ((avgL + avgR) / 2) * h;
  s.y += Math.cos(mid) * ((avgL + avgR) / 2) * h;
  s.heading = wrapRad(s.heading + wAvg * h);
  s.travelL += avgL * h;
  s.travelR += avgR * h;
  if (s.drive.kind === "mag") s.drive.turnedRad += Math.abs(wAvg * h);

  // IMU: accelerations, suspension tilt, rates.
  s.aLongMps2 = (v - prevV) / h;
  s.aLatMps2 = -v * wBody; // toward +x (right); a left turn pulls toward -x
  s.yawRateDps = w / DEG;
  const k = 1 - Math.exp(-h / SUSPENSION_TIME_CONSTANT_S);
  const pitch = s.pitchDeg + (PITCH_DEG_PER_MPS2 * s.aLongMps2 - s.pitchDeg) * k;
  const roll = s.rollDeg + (ROLL_DEG_PER_MPS2 * -s.aLatMps2 - s.rollDeg) * k;
  s.pitchRateDps = (pitch - s.pitchDeg) / h;
  s.rollRateDps = (roll - s.rollDeg) / h;
  s.pitchDeg = pitch;
  s.rollDeg = roll;

  // Motor currents.
  const current = (vNow: number, vPrev: number, dem: number, blocked: boolean): number => {
    if (blocked && Math.abs(dem) > STALL_DEMAND_MPS) {
      return 0.3 + (MOTOR_STALL_CURRENT_A - 0.3) * Math.min(1, Math.abs(dem) / 0.5);
    }
    if (dem === 0 && vNow === 0 && vPrev === 0) return 0;
    return MOTOR_IDLE_CURRENT_A + MOTOR_CURRENT_PER_MPS * Math.abs(vNow) +
      MOTOR_CURRENT_PER_MPS2 * Math.abs((vNow - vPrev) / h);
  };
  s.currentL = current(vL, prevL, demand.left, s.blocked.left);
  s.currentR = current(vR, prevR, demand.right, s.blocked.right);

  // Stall detection.
  checkStall(s, 0, s.blocked.left, demand.left, h, events);
  checkStall(s, 1, s.blocked.right, demand.right, h, events);

  // Gyro range.
  const g = gyroscope(s);
  let flags = 0;
  if (g.x > GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.plusX;
  if (g.x < -GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.minusX;
  if (g.y > GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.plusY;
  if (g.y < -GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.minusY;
  if (g.z > GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.plusZ;
  if (g.z < -GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.minusZ;
  if (flags & ~s.gyroMaxFlags) events.push({ type: "gyro_max", flags });
  s.gyroMaxFlags = flags;

  // Stop controller reached standstill.
  const d = s.drive;
  if (d.kind === "stop" && !d.announced && s.vL === 0 && s.vR === 0) {
    d.announced = true;
    events.push({ type: "robot_has_stopped" });
  }
}

function checkStall(
  s: BodyState,
  index: 0 | 1,
  blocked: boolean,
  dem: number,
  h: number,
  events: BodyEvent[],
): void {
  const st = s.stall[index];
  if (blocked && Math.abs(dem) > STALL_DEMAND_MPS) {
    st.blockedMs += h * 1000;
    if (!st.triggered && st.blockedMs >= STALL_DETECT_MS) {
      st.triggered = true;
      events.push({ type: "motor_stall", motorIndex: index, isTriggered: true });
    }
  } else {
    st.blockedMs = 0;
    if (st.triggered) {
      st.triggered = false;
      events.push({ type: "motor_stall", motorIndex: index, isTriggered: false });
    }
  }
}
