/**
 * The prompt catalog: what a person picks from a menu to get going, each a plain object (name,
 * title, description, zod arguments with bounds, `complete`, `messages`) with no transport
 * inside. Adapters list {@link PROMPTS} with `promptArguments`, check prompts/get arguments with
 * `parsePromptArguments`, answer `completion/complete` with `prompt.complete` and turn
 * `prompt.messages(args, robot)` into their SDK's messages.
 *
 * @module
 */
import type { Prompt } from "./_prompt.ts";
import { diagnoseConnection } from "./prompt_diagnosis.ts";
import { firstDrive } from "./prompt_first_drive.ts";
import { lightShow } from "./prompt_light_show.ts";
import { driveShape } from "./prompt_shape.ts";

/** Every prompt, in menu order. */
export const PROMPTS: readonly Prompt[] = [
  firstDrive,
  driveShape,
  lightShow,
  diagnoseConnection,
];

/** The names of every prompt, in menu order. */
export const PROMPT_NAMES: readonly string[] = PROMPTS.map((p) => p.name);
