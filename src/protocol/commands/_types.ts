import type { FieldDef } from "../fields.ts";

/** Which processor a command runs on: 1 Nordic, 2 ST, or either (the caller picks). */
export type CommandNode = 1 | 2 | "any";

/** One row of section 8. `kind: "notification"` rows are sent by the robot on its own. */
export interface CommandDef {
  readonly name: string;
  readonly device: string;
  readonly did: number;
  readonly cid: number;
  readonly node: CommandNode;
  readonly kind: "command" | "notification";
  /** Host -> robot payload. Empty for notifications. */
  readonly request: readonly FieldDef[];
  /** Reply payload (commands) or notification payload (notifications). */
  readonly response: readonly FieldDef[];
}
