/**
 * Why a move did not arrive: it ran out of time, the firmware's position controller gave up, the
 * caller cancelled it, or a newer move replaced it. The classes live with the robot layer's other
 * errors (../errors.ts, all DomainErrors); this module names the ones moves throw.
 *
 * @module
 */
export {
  MoveCancelledError,
  MoveFailedError,
  MoveSupersededError,
  MoveTimeoutError,
} from "../errors.ts";
