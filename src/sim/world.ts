/**
 * One shared world for simulated robots: floor colours under the colour sensor, ambient light,
 * the Earth's magnetic field, and robot-to-robot infrared (rvr-protocol.md sec. 9.5).
 *
 * Positions and headings are world-frame (see body/geometry.ts): metres, heading rad CCW from +y.
 *
 * Infrared model (all choices [?], documented here):
 * - Emitters face front (0 deg), left (+90), right (-90) and rear (180) of the robot; each lights a
 *   cone of +-IR_EMITTER_HALF_ANGLE_DEG. Receivers sit at front-left (+45), front-right (-45),
 *   back-right (-135) and back-left (+135); each sees a cone of +-IR_RECEIVER_HALF_ANGLE_DEG.
 * - send_infrared_message: the range of a message is IR_MAX_RANGE_M * s / 64 where s is the largest
 *   strength among the active emitters ("all active emitters share one range"). A robot receives it
 *   when it is within that range and inside the cone of an active emitter.
 * - Broadcasting sends the far code at full strength (IR_MAX_RANGE_M, all emitters) and the near
 *   code at IR_NEAR_RANGE_M.
 * - irReadings(): per receiver, the strongest signal it sees wins. Signal = 1 - distance / range
 *   of that code. A broadcaster closer than IR_NEAR_RANGE_M shows its near code, otherwise its far
 *   code; a message stays visible for IR_MESSAGE_HOLD_MS (receiver's simulated time). The byte is
 *   that code (0-7) or IR_NOTHING (0xFF) when the receiver sees nothing.
 * - Colour sensor: at the robot's centre, looking at the floor lit by its own LED, so it reads the
 *   floor colour itself (ambient light does not change it), classified as color.ts says.
 * - Magnetometer: Earth field of MAG_HORIZONTAL_UT toward magnetic north and MAG_VERTICAL_UT down,
 *   in the body frame (x right, y forward, z up), tilted with the IMU pitch/roll.
 */
import { checkInteger } from "../core/validate.ts";
import { wrapDeg } from "../protocol/mod.ts";
import {
  classifyColor,
  type ColorReading,
  DEFAULT_COLOR_PALETTE,
  type PaletteEntry,
  type Rgb,
} from "./color.ts";
import { headingOf, levelToBody, type RvrBody, type Vec3, wrapRad } from "./body/mod.ts";

export interface FloorRegion {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  color: Rgb;
}
export interface WorldOptions {
  /** Rectangles on the floor; a later region paints over an earlier one. */
  floor?: FloorRegion[];
  floorDefault?: Rgb;
  ambientLux?: number;
  /** World heading (deg, CCW from +y) of magnetic north. */
  magneticNorthDeg?: number;
}
export interface IrStrengths {
  front: number;
  left: number;
  right: number;
  rear: number;
}
export interface WorldMember {
  readonly name: string;
  leave(): void;
  /** The floor colour under the robot, classified against `palette` (default palette if absent). */
  colorUnder(palette?: readonly PaletteEntry[]): ColorReading;
  ambientLightLux(): number;
  /** uT, body frame. */
  magnetometer(): Vec3;
  /** Yaw (locator frame) that points to magnetic north. */
  northYawDeg(): number;
  /** RangeError for codes > 7. */
  startBroadcast(farCode: number, nearCode: number): void;
  stopBroadcast(): void;
  sendMessage(code: number, strengths: IrStrengths): void;
  /** Messages other robots sent that reached this one. */
  onMessage(cb: (code: number) => void): void;
  /**
   * u32 per sec. 9.5: one byte per receiver (bits 0-7 front-left, 8-15 front-right, 16-23
   * back-right, 24-31 back-left); each byte the strongest code seen or 0xFF (see file comment).
   */
  irReadings(): number;
  /** World position of the nearest robot broadcasting (far, near), or null. */
  findBroadcaster(farCode: number, nearCode: number): { x: number; y: number } | null;
}

/** Floor colour when no region covers the point: mid grey. */
export const DEFAULT_FLOOR_COLOR: Readonly<Rgb> = Object.freeze({ r: 128, g: 128, b: 128 });
export const DEFAULT_AMBIENT_LUX = 300;
export const MAG_HORIZONTAL_UT = 20;
export const MAG_VERTICAL_UT = 44;
export const IR_MAX_STRENGTH = 64;
export const IR_MAX_RANGE_M = 3;
export const IR_NEAR_RANGE_M = 1;
export const IR_EMITTER_HALF_ANGLE_DEG = 60;
export const IR_RECEIVER_HALF_ANGLE_DEG = 67.5;
export const IR_MESSAGE_HOLD_MS = 250;
export const IR_NOTHING = 0xff;
export const IR_CODE_MAX = 7;
/** Receivers in sec. 9.5 byte order with their facing (deg, CCW from the nose). */
export const IR_RECEIVERS = [
  { name: "front_left", facingDeg: 45 },
  { name: "front_right", facingDeg: -45 },
  { name: "back_right", facingDeg: -135 },
  { name: "back_left", facingDeg: 135 },
] as const;
/** Emitters with their facing (deg, CCW from the nose). */
export const IR_EMITTERS = [
  { name: "front", facingDeg: 0 },
  { name: "left", facingDeg: 90 },
  { name: "right", facingDeg: -90 },
  { name: "rear", facingDeg: 180 },
] as const;

const DEG = Math.PI / 180;

function requireCode(what: string, code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > IR_CODE_MAX) {
    throw new RangeError(`${what} ${code} is not an infrared code; use 0..${IR_CODE_MAX}`);
  }
  return code;
}
function requireRgb(what: string, c: Rgb): Rgb {
  for (const k of ["r", "g", "b"] as const) {
    const v = c?.[k];
    checkInteger(`${what}.${k}`, v, 0, 255, "a colour channel");
  }
  return { r: c.r, g: c.g, b: c.b };
}
function requireRegion(i: number, f: FloorRegion): FloorRegion {
  for (const k of ["xMin", "xMax", "yMin", "yMax"] as const) {
    if (!Number.isFinite(f?.[k])) {
      throw new RangeError(`floor[${i}].${k} must be a finite number of metres, got ${f?.[k]}`);
    }
  }
  if (f.xMin > f.xMax || f.yMin > f.yMax) {
    throw new RangeError(
      `floor[${i}] is empty (xMin ${f.xMin} > xMax ${f.xMax} or yMin ${f.yMin} > yMax ${f.yMax}); ` +
        "give min <= max",
    );
  }
  return { ...f, color: requireRgb(`floor[${i}].color`, f.color) };
}
function requireLux(lux: number): number {
  if (!Number.isFinite(lux) || lux < 0) {
    throw new RangeError(`ambient light must be a finite number of lux >= 0, got ${lux}`);
  }
  return lux;
}
function requireNorth(deg: number): number {
  if (!Number.isFinite(deg)) {
    throw new RangeError(`magnetic north must be a finite heading in degrees, got ${deg}`);
  }
  return deg;
}

interface Latched {
  code: number;
  signal: number;
  receiverMask: number;
  atMs: number;
}

class Member implements WorldMember {
  broadcast: { far: number; near: number } | null = null;
  left = false;
  readonly #callbacks: ((code: number) => void)[] = [];
  readonly latched: Latched[] = [];

  constructor(
    readonly name: string,
    readonly body: RvrBody,
    readonly world: SimWorld,
    readonly peers: Set<Member>,
  ) {}

  #alive(): void {
    if (this.left) {
      throw new Error(`robot "${this.name}" has left the world; join it again first`);
    }
  }

  leave(): void {
    this.left = true;
    this.broadcast = null;
    this.peers.delete(this);
  }

  colorUnder(palette: readonly PaletteEntry[] = DEFAULT_COLOR_PALETTE): ColorReading {
    const p = this.body.worldPose;
    return classifyColor(this.world.floorColorAt(p.x, p.y), palette);
  }

  ambientLightLux(): number {
    return this.world.ambientLux;
  }

  magnetometer(): Vec3 {
    const rel = this.world.magneticNorthDeg * DEG - this.body.worldPose.headingRad;
    const imu = this.body.imu;
    return levelToBody(
      {
        x: -MAG_HORIZONTAL_UT * Math.sin(rel),
        y: MAG_HORIZONTAL_UT * Math.cos(rel),
        z: -MAG_VERTICAL_UT,
      },
      imu.pitchDeg,
      imu.rollDeg,
    );
  }

  northYawDeg(): number {
    return this.body.worldHeadingToYawDeg(this.world.magneticNorthDeg * DEG);
  }

  startBroadcast(farCode: number, nearCode: number): void {
    this.#alive();
    this.broadcast = {
      far: requireCode("far code", farCode),
      near: requireCode("near code", nearCode),
    };
  }

  stopBroadcast(): void {
    this.broadcast = null;
  }

  sendMessage(code: number, strengths: IrStrengths): void {
    this.#alive();
    requireCode("infrared code", code);
    let strongest = 0;
    for (const e of IR_EMITTERS) {
      const s = strengths?.[e.name];
      if (!Number.isInteger(s) || s < 0 || s > IR_MAX_STRENGTH) {
        throw new RangeError(
          `${e.name} emitter strength must be an integer 0..${IR_MAX_STRENGTH} (0 = off), got ${s}`,
        );
      }
      strongest = Math.max(strongest, s);
    }
    if (strongest === 0) return;
    const range = (IR_MAX_RANGE_M * strongest) / IR_MAX_STRENGTH;
    const from = this.body.worldPose;
    for (const other of this.peers) {
      if (other === this) continue;
      const to = other.body.worldPose;
      const dist = Math.hypot(to.x - from.x, to.y - from.y);
      if (dist > range) continue;
      const bearing = relativeBearingDeg(from, to);
      const lit = IR_EMITTERS.some((e) =>
        strengths[e.name] > 0 &&
        Math.abs(wrapDeg(bearing - e.facingDeg)) <= IR_EMITTER_HALF_ANGLE_DEG
      );
      if (!lit) continue;
      other.receive(code, 1 - dist / range, receiverMask(relativeBearingDeg(to, from)));
    }
  }

  receive(code: number, signal: number, mask: number): void {
    const now = this.body.elapsedMs;
    // Forget expired messages.
    for (let i = this.latched.length - 1; i >= 0; i--) {
      if (now - this.latched[i].atMs > IR_MESSAGE_HOLD_MS) this.latched.splice(i, 1);
    }
    this.latched.push({ code, signal, receiverMask: mask, atMs: now });
    for (const cb of this.#callbacks) cb(code);
  }

  onMessage(cb: (code: number) => void): void {
    if (typeof cb !== "function") {
      throw new TypeError(`onMessage needs a callback function, got ${typeof cb}`);
    }
    this.#callbacks.push(cb);
  }

  irReadings(): number {
    const best = IR_RECEIVERS.map(() => ({ code: IR_NOTHING, signal: -1 }));
    const consider = (mask: number, code: number, signal: number) => {
      for (let i = 0; i < IR_RECEIVERS.length; i++) {
        if ((mask & (1 << i)) !== 0 && signal > best[i].signal) best[i] = { code, signal };
      }
    };
    const me = this.body.worldPose;
    for (const other of this.peers) {
      if (other === this || other.broadcast === null) continue;
      const at = other.body.worldPose;
      const dist = Math.hypot(at.x - me.x, at.y - me.y);
      if (dist > IR_MAX_RANGE_M) continue;
      const near = dist < IR_NEAR_RANGE_M;
      const code = near ? other.broadcast.near : other.broadcast.far;
      const signal = near ? 1 - dist / IR_NEAR_RANGE_M : 1 - dist / IR_MAX_RANGE_M;
      consider(receiverMask(relativeBearingDeg(me, at)), code, signal);
    }
    const now = this.body.elapsedMs;
    for (const m of this.latched) {
      if (now - m.atMs <= IR_MESSAGE_HOLD_MS) consider(m.receiverMask, m.code, m.signal);
    }
    return best.reduce((acc, b, i) => acc | (b.code << (8 * i)), 0) >>> 0;
  }

  findBroadcaster(farCode: number, nearCode: number): { x: number; y: number } | null {
    requireCode("far code", farCode);
    requireCode("near code", nearCode);
    const me = this.body.worldPose;
    let found: { x: number; y: number } | null = null;
    let bestDist = Infinity;
    for (const other of this.peers) {
      const b = other.broadcast;
      if (other === this || b === null || b.far !== farCode || b.near !== nearCode) continue;
      const at = other.body.worldPose;
      const dist = Math.hypot(at.x - me.x, at.y - me.y);
      if (dist <= IR_MAX_RANGE_M && dist < bestDist) {
        bestDist = dist;
        found = { x: at.x, y: at.y };
      }
    }
    return found;
  }
}

/** Bearing (deg, CCW from the nose of `from`) of the point `to`. */
function relativeBearingDeg(
  from: { x: number; y: number; headingRad: number },
  to: { x: number; y: number },
): number {
  return wrapRad(headingOf(to.x - from.x, to.y - from.y) - from.headingRad) / DEG;
}

/** Receivers (bit i = IR_RECEIVERS[i]) whose cone contains the relative bearing. */
function receiverMask(bearingDeg: number): number {
  let mask = 0;
  IR_RECEIVERS.forEach((r, i) => {
    if (Math.abs(wrapDeg(bearingDeg - r.facingDeg)) <= IR_RECEIVER_HALF_ANGLE_DEG) mask |= 1 << i;
  });
  return mask;
}

/** One world, many robots (IR messages/broadcasts between them, floor colours, light, north). */
export class SimWorld {
  #floor: FloorRegion[];
  #floorDefault: Rgb;
  #ambientLux: number;
  #northDeg: number;
  readonly #members = new Set<Member>();

  constructor(options: WorldOptions = {}) {
    this.#floor = (options.floor ?? []).map((f, i) => requireRegion(i, f));
    this.#floorDefault = requireRgb("floorDefault", options.floorDefault ?? DEFAULT_FLOOR_COLOR);
    this.#ambientLux = requireLux(options.ambientLux ?? DEFAULT_AMBIENT_LUX);
    this.#northDeg = requireNorth(options.magneticNorthDeg ?? 0);
  }

  /** Registers a robot; the handle is how the sim talks to the world. */
  join(name: string, body: RvrBody): WorldMember {
    if (typeof name !== "string" || name.length === 0) {
      throw new RangeError(`robot name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const m = new Member(name, body, this, this.#members);
    this.#members.add(m);
    return m;
  }

  /** Names of the robots in the world, in joining order. */
  get memberNames(): string[] {
    return [...this.#members].map((m) => m.name);
  }

  floorColorAt(x: number, y: number): Rgb {
    for (let i = this.#floor.length - 1; i >= 0; i--) {
      const f = this.#floor[i];
      if (x >= f.xMin && x <= f.xMax && y >= f.yMin && y <= f.yMax) return { ...f.color };
    }
    return { ...this.#floorDefault };
  }
  setFloor(regions: FloorRegion[], floorDefault?: Rgb): void {
    this.#floor = regions.map((f, i) => requireRegion(i, f));
    if (floorDefault !== undefined) this.#floorDefault = requireRgb("floorDefault", floorDefault);
  }

  get ambientLux(): number {
    return this.#ambientLux;
  }
  setAmbientLux(lux: number): void {
    this.#ambientLux = requireLux(lux);
  }

  get magneticNorthDeg(): number {
    return this.#northDeg;
  }
  setMagneticNorthDeg(deg: number): void {
    this.#northDeg = requireNorth(deg);
  }
}
