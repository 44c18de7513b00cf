/**
 * The command policy: how each request of section 8 goes through the queue, derived from its
 * `role` in the protocol's command table (src/protocol/commands). The queue runs one command at a
 * time, highest priority first, FIFO within a priority:
 *
 * | role (protocol) | examples | path | priority | kind | supersedeKey |
 * |---|---|---|---|---|---|
 * | - | `Rvr.emergencyStop`, `Rvr.shutdown`: `drive_stop`, then stop IR following and evading | `queue.emergency` -> `breaker.bypass` -> `link.sendImmediate` | emergency (never queued) | safety | - |
 * | stop | `drive_stop`, `drive_stop_custom_decel`, `stop_robot_to_robot_infrared_following/evading`; auto-stops | queue -> `breaker.bypass` (a stop is never refused by an open circuit) | high | safety | - |
 * | - | safety set-up on each new link (notifications, battery read) | queue -> breaker | high | config, query | - |
 * | drive | `raw_motors`, `drive_with_heading`, `drive_tank_*`, `drive_rc_*`, `drive_with_yaw_*` | queue -> breaker | normal | movement | "drive" |
 * | move | `drive_to_position_*`, `start_robot_to_robot_infrared_following/evading`, `magnetometer_calibrate_to_north` | queue -> breaker | normal | movement | - |
 * | query | `get_*`, `echo` | queue -> breaker | normal | query | - |
 * | io | LEDs and palettes, `send_infrared_message` | queue -> breaker | normal | io | - |
 * | system | `wake`, `sleep`, `generate_api_error` | queue -> breaker | normal | system | - |
 * | config | everything else (`set_*`, `enable_*`, `reset_yaw`, `reset_locator_x_and_y`, streaming set-up, ...) | queue -> breaker | normal | config | - |
 *
 * A caller may pass `priority: "high" | "normal" | "low"` (e.g. "low" for dashboard polling);
 * "emergency" is only for the emergency stop. Drives share the supersede key "drive": a newer one
 * replaces a still queued older one, so a burst of steering updates never builds lag. An emergency
 * stop rejects every queued movement command; other queued commands survive. `reset_yaw` and
 * `reset_locator_x_and_y` are "config", not movement: they do not move the robot, so an e-stop
 * does not throw them away.
 *
 * Movement (roles drive and move) gets the safety rules (see safety/): refused while the e-stop
 * is latched or the battery is critical, speed-limited, re-arms the watchdog when sent.
 *
 * @module
 */
import type { Command, CommandKind, Priority } from "../core/mod.ts";
import { CancelledByEmergencyStopError } from "./errors.ts";
import {
  commandByName,
  type CommandRole,
  CONTINUOUS_DRIVE_COMMANDS,
  type ContinuousDriveCommand,
  MOVEMENT_COMMANDS,
  type MovementCommand,
  type RequestName,
  type RequestNameOfRole,
  requestsOfRole,
} from "../protocol/mod.ts";

export {
  CONTINUOUS_DRIVE_COMMANDS,
  type ContinuousDriveCommand,
  MOVEMENT_COMMANDS,
  type MovementCommand,
} from "../protocol/mod.ts";

/** Commands that stop the drive; run at high priority past an open circuit. */
export const STOP_COMMANDS: readonly StopCommand[] = requestsOfRole("stop");
export type StopCommand = RequestNameOfRole<"stop">;

export function isMovementCommand(name: string): name is MovementCommand {
  return (MOVEMENT_COMMANDS as readonly string[]).includes(name);
}

export function isContinuousDriveCommand(name: string): name is ContinuousDriveCommand {
  return (CONTINUOUS_DRIVE_COMMANDS as readonly string[]).includes(name);
}

export function isStopCommand(name: string): name is StopCommand {
  return (STOP_COMMANDS as readonly string[]).includes(name);
}

/** The queue kind of each role (see the table in the module doc). */
const KIND_OF_ROLE: { readonly [R in CommandRole]: CommandKind } = {
  drive: "movement",
  move: "movement",
  stop: "safety",
  query: "query",
  io: "io",
  system: "system",
  config: "config",
};

/** How one request goes through the queue (see the table in the module doc). */
export interface CommandPolicy {
  readonly role: CommandRole;
  readonly kind: CommandKind;
  /** The default; a caller may pass another (not "emergency"). */
  readonly priority: Exclude<Priority, "emergency">;
  /** A newer queued command with the same key replaces this one. */
  readonly supersedeKey?: string;
  /** Stops run past an open circuit. */
  readonly bypassBreaker: boolean;
}

/** The policy of request `name`; TypeError for an unknown name or a notification. */
export function commandPolicy(name: RequestName): CommandPolicy {
  const def = commandByName(name);
  if (def.kind !== "command") {
    throw new TypeError(`"${name}" is a notification the robot sends; it cannot be requested.`);
  }
  const { role } = def;
  const stop = role === "stop";
  return {
    role,
    kind: KIND_OF_ROLE[role],
    priority: stop ? "high" : "normal",
    ...(role === "drive" ? { supersedeKey: "drive" } : {}),
    bypassBreaker: stop,
  };
}

/**
 * What an emergency stop (and the shutdown stop) does to a queued command, as the queue's
 * emergency `cancel`: movement is rejected with CancelledByEmergencyStopError, the rest survive.
 */
export function cancelOnEmergencyStop(command: Command): CancelledByEmergencyStopError | undefined {
  return command.kind === "movement" ? new CancelledByEmergencyStopError(command.name) : undefined;
}

/** The queue kind of a request (see the table in the module doc). */
export function commandKindOf(name: RequestName): CommandKind {
  return commandPolicy(name).kind;
}
