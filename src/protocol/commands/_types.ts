import type { FieldDef } from "../fields.ts";

/** Which processor a command runs on: 1 Nordic, 2 ST, or either (the caller picks). */
export type CommandNode = 1 | 2 | "any";

/**
 * What a request does to the robot; the robot layer derives its command policy (queue kind,
 * priority, which requests the safety rules cover) from it:
 * - `drive`: keeps the robot moving until the next command (raw motors, heading, tank, RC, yaw);
 *   a newer one replaces the last.
 * - `move`: sets the robot moving on its own (drive to a position, IR following/evading,
 *   magnetometer calibration).
 * - `stop`: ends motion (drive_stop, drive_stop_custom_decel, stop IR following/evading).
 * - `query`: reads something (`get_*`, echo).
 * - `io`: LEDs, colour palettes, infrared messages.
 * - `system`: wake, sleep, generate_api_error.
 * - `config`: everything else (`set_*`, `enable_*`, resets, streaming set-up, ...).
 */
export const COMMAND_ROLES = ["drive", "move", "stop", "query", "io", "system", "config"] as const;
export type CommandRole = (typeof COMMAND_ROLES)[number];

interface CommandDefBase {
  readonly name: string;
  readonly device: string;
  readonly did: number;
  readonly cid: number;
  readonly node: CommandNode;
  /** Host -> robot payload. Empty for notifications. */
  readonly request: readonly FieldDef[];
  /** Reply payload (commands) or notification payload (notifications). */
  readonly response: readonly FieldDef[];
}

/** A row the host sends. */
export interface RequestDef extends CommandDefBase {
  readonly kind: "command";
  readonly role: CommandRole;
}

/** A row the robot sends on its own. */
export interface NotificationDef extends CommandDefBase {
  readonly kind: "notification";
  readonly role?: undefined;
}

/** One row of section 8. `kind: "notification"` rows are sent by the robot on its own. */
export type CommandDef = RequestDef | NotificationDef;
