/**
 * Moves that take time (moves.ts): drive to a position and drive a distance (xy.ts), pivot
 * (pivot.ts), tracked on the pose (pose.ts), with their errors (errors.ts) and constants
 * (types.ts). The angle conversions live in src/protocol/angles.ts and are re-exported here under
 * the names the moves have always used.
 *
 * @module
 */
export { bearingYaw, headingFromYaw as yawToHeading, wrap180 } from "../../protocol/mod.ts";
export * from "./types.ts";
export * from "./errors.ts";
export { Moves, type MovesOptions } from "./moves.ts";
