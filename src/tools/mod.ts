/**
 * The tool catalog: every robot operation once (name, title, description, zod input and output
 * shapes with every bound, annotations, a handler `(robot, args, ctx)`), grouped as the server
 * lists them, with no transport inside. Adapters (src/mcp, a NATS service) register
 * {@link CATALOG} with `inputSchema(tool)`, check raw arguments with `parseArguments` and run a
 * tool with {@link runTool} (or both at once with {@link callTool}); they turn a thrown `DomainError` into an
 * error result with its `hint` and let anything else surface as a bug.
 *
 * The prompt catalog ({@link PROMPTS}, prompts.ts) sits beside it: what a person picks from a
 * menu (a first drive, a shape, a light show, a connection diagnosis), with argument completion
 * and messages that name the tools above.
 *
 * @module
 */
import { CONNECTION_TOOLS } from "./connection.ts";
import { IR_TOOLS } from "./ir.ts";
import { LED_TOOLS } from "./leds.ts";
import { MOVEMENT_TOOLS } from "./movement.ts";
import { SAFETY_TOOLS } from "./safety.ts";
import { SENSOR_TOOLS } from "./sensors.ts";
import { SYSTEM_TOOLS } from "./system.ts";
import type { Tool } from "./_tool.ts";

export {
  type ArgumentsSpec,
  inputSchema,
  InvalidArgumentsError,
  parseArguments,
  PROTOTYPE_KEYS,
  show,
  valueAt,
} from "./_arguments.ts";
export { type ApprovalRequest, type RefusalText } from "./_approval.ts";
export {
  callTool,
  commandOptions,
  outputShape,
  robotIsSimulated,
  runTool,
  SIMULATED_KEY,
  type Tool,
  tool,
  type ToolContext,
  type ToolHints,
  type ToolRobot,
} from "./_tool.ts";
export {
  connectionStatus,
  connectionStatusShape,
  type ConnectionStatusView,
} from "./connection.ts";
export {
  filterCompletions,
  MAX_COMPLETIONS,
  parsePromptArguments,
  type Prompt,
  type PromptArgumentInfo,
  promptArguments,
  type PromptContext,
  type PromptMessage,
} from "./_prompt.ts";
export { PROMPT_NAMES, PROMPTS } from "./prompts.ts";
export { safetyStatusShape, type SafetyStatusView, safetyView } from "./safety.ts";
export {
  readingShape,
  readingView,
  type SensorDataView,
  sensorDataView,
  telemetryStateNow,
} from "./sensors.ts";

/** Every tool, by group, in the order they are listed. */
export const TOOL_GROUPS = {
  connection: CONNECTION_TOOLS,
  movement: MOVEMENT_TOOLS,
  leds: LED_TOOLS,
  sensors: SENSOR_TOOLS,
  system: SYSTEM_TOOLS,
  safety: SAFETY_TOOLS,
  ir: IR_TOOLS,
} as const;

/** Every tool of the catalog, in the order they are listed. */
export const CATALOG: readonly Tool[] = Object.values(TOOL_GROUPS).flat();

/** The names of every tool, in catalog order. */
export const TOOL_NAMES: readonly string[] = CATALOG.map((t) => t.name);
