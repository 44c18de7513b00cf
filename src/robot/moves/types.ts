/**
 * The moves' names, limits and timing constants, and the shapes of their options, progress and
 * outcome (see moves.ts for what each move does).
 *
 * @module
 */

/** The moves, as named in errors and outcomes (the MCP tool names). */
export const MOVE_NAMES = [
  "drive_to_position",
  "drive_forward",
  "drive_backward",
  "pivot",
] as const;
export type MoveName = typeof MOVE_NAMES[number];

export const DRIVE_DIRECTIONS = ["forward", "backward"] as const;
export type DriveDirection = typeof DRIVE_DIRECTIONS[number];

/** Stream interval (ms, or faster) of locator and imu while a move runs. */
export const MOVE_STREAM_INTERVAL_MS = 100;
/** A pivot has arrived when the measured turn is this close to the request. */
export const PIVOT_TOLERANCE_DEG = 1;
/** How far ahead of the measured yaw a pivot's yaw target is set (< 180 so the way is certain). */
export const PIVOT_LEAD_DEG = 90;
/** A pivot resends its yaw target at least this often (firmware control timeout: 2000 ms). */
export const PIVOT_RESEND_MS = 500;
/** Speed of drive_forward / drive_backward when none is given. */
export const DEFAULT_DISTANCE_SPEED_MPS = 0.5;
/**
 * Slowest speed a move accepts, m/s: the smallest that moves. Slower moves would not arrive (the
 * move's timeout assumes at least this speed), and below ~1e-45 m/s the speed is 0 on the wire
 * (a 32-bit float), so the position controller cannot move at all.
 */
export const MIN_MOVE_SPEED_MPS = 0.01;
/** Top speed a move accepts (SI drive commands saturate here; the speed limit caps lower). */
export const MAX_MOVE_SPEED_MPS = 2;
/** Largest |x|, |y| of drive_to_position, and the longest drive_forward/backward, metres. */
export const MAX_MOVE_DISTANCE_M = 1000;
/** Largest |degrees| of one pivot (10 turns). */
export const MAX_PIVOT_DEG = 3600;
/** Timeout terms (see the module doc). */
export const TIMEOUT_DISTANCE_FACTOR = 1.5;
export const TIMEOUT_TURN_RATE_DPS = 45;
export const TIMEOUT_MARGIN_MS = 3000;
/** How long a fresh pose may take to arrive (several stream periods). */
export const POSE_WAIT_MS = 1500;

/** Where the robot is, in the locator frame (see moves.ts). */
export interface Pose {
  x_m: number;
  y_m: number;
  /** + = left/CCW, -180..180. */
  yaw_deg: number;
  /** Left-hand heading, 0-359.99: 0 forward, 90 right (= -yaw mod 360). */
  heading_deg: number;
}

export interface MoveProgress {
  /** Metres covered toward the target (drives) or degrees turned (pivot); increases. */
  progress: number;
  /** Straight-line distance to the target in m (drives) or |degrees| (pivot). */
  total: number;
  message: string;
  pose: Pose;
}

export interface MoveOutcome {
  /** Always true: a move that does not arrive rejects instead. */
  success: boolean;
  move: MoveName;
  /** Measured after the robot arrived. */
  pose: Pose;
  /** Target pose of a drive (yaw and heading: the final ones sent). */
  target?: Pose;
  /** Measured turn of a pivot, degrees, + = right (the pivot convention). */
  turned_deg?: number;
  /** From the movement command to arrival, ms. */
  duration_ms: number;
  /** The derived timeout, ms. */
  timeout_ms: number;
  /** Drives: { speed_mps }. Pivot: { degrees }. */
  requested: Record<string, number>;
  /** Drives: { speed_mps } as sent after the speed limit. Pivot: { degrees }. */
  applied: Record<string, number>;
  /** True when the speed limit reduced the speed. */
  limited: boolean;
  speed_limit_percent: number;
}

export interface MoveOptions {
  /** Aborting stops the robot and rejects with MoveCancelledError (MCP cancellation). */
  signal?: AbortSignal;
  /** Progress, from stream samples (see the module doc). A listener that throws is logged. */
  onProgress?: (p: MoveProgress) => void;
}
