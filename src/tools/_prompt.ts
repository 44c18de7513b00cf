/**
 * What a prompt of the catalog is: a plain object a person picks from a menu to get going (a
 * guided first drive, a shape, a light show, a connection diagnosis). Like a tool (./_tool.ts) it
 * has a name, a title, a description and zod arguments with every bound; instead of a handler it
 * has {@link Prompt.complete} (candidate values for one argument, for `completion/complete`) and
 * {@link Prompt.messages} (the text the model gets, built from the checked arguments and live
 * facts of the robot). Nothing here knows a transport or an SDK: the MCP adapters register these
 * objects, and nothing here touches `Deno.*` (serial ports seen on the machine come through
 * {@link PromptContext.serialPorts}, injected by the composition root).
 *
 * Arguments arrive as strings (MCP's prompts/get sends `Record<string, string>`):
 * {@link parsePromptArguments} turns numeric strings into numbers for number arguments, trims
 * and lower-cases enum values, treats an empty string as "not given", and then checks them with
 * the catalog's one argument checker (`parseArguments`): a refused value is one line naming the
 * prompt, the argument, the value and what is allowed.
 *
 * Texts name tools in backticks: `` `pivot` `` for a mention, `` `pivot {"degrees":90}` `` for
 * a call ({@link callText}, typed by the tool's own input shape), so every call in a prompt is a
 * call the catalog accepts (tests/tools/prompts_test.ts parses the texts and checks each one).
 *
 * Private to src/tools (other layers import it through mod.ts).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import { z } from "zod";
import { type ArgumentsSpec, parseArguments } from "./_arguments.ts";
import type { Tool, ToolRobot } from "./_tool.ts";

const log = getLogger(["rvr", "tools", "prompts"]);

/** MCP's limit on the values of one completion (`completion.values` holds at most 100). */
export const MAX_COMPLETIONS = 100;

/** What a completion may use besides the argument's name and partial value. */
export interface PromptContext {
  /** Arguments the person already chose (completion/complete's `context.arguments`). */
  readonly arguments?: Readonly<Record<string, string>>;
  /** The robot, for completions that depend on it (its configured port). */
  readonly robot?: ToolRobot;
  /**
   * Serial devices that exist on this machine (e.g. /dev/ttyUSB0), looked up by whoever composes
   * the server; undefined where nobody can look (then only "sim" and the configured port).
   */
  readonly serialPorts?: () => Promise<readonly string[]>;
}

/** One message of a prompt: who says it and its text. */
export interface PromptMessage {
  readonly role: "user" | "assistant";
  readonly text: string;
}

/** Candidate values of one argument: fixed, or looked up in the context. */
export type Suggestions =
  | readonly string[]
  | ((context: PromptContext) => readonly string[] | Promise<readonly string[]>);

/** What a prompt definition gives; {@link prompt} adds `complete`. */
export interface PromptSpec<A extends z.ZodRawShape> {
  /** snake_case, unique among prompts. */
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Argument shape: value types with bounds and descriptions (optional ones have defaults). */
  readonly arguments: A;
  /** Candidates of arguments beyond enum values (enum arguments complete their values). */
  readonly suggestions?: { readonly [K in keyof A]?: Suggestions };
  /** The messages, from checked arguments and the robot's state now (no robot command sent). */
  messages(args: z.output<z.ZodObject<A>>, robot: ToolRobot): readonly PromptMessage[];
}

/** A prompt of the catalog. */
export interface Prompt<A extends z.ZodRawShape = z.ZodRawShape> extends PromptSpec<A> {
  /**
   * Candidate values of `argName` that start with `partial` (case-insensitive), at most
   * {@link MAX_COMPLETIONS}, in the prompt's order. Rejects with a RangeError for an argument
   * the prompt does not take.
   */
  complete(argName: string, partial: string, context?: PromptContext): Promise<string[]>;
}

/** The prompt's arguments as prompts/list shows them. */
export interface PromptArgumentInfo {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
}

type JsonField = { type?: string | string[]; enum?: unknown[]; description?: string };

const specs = new WeakMap<object, ArgumentsSpec>();
const fields = new WeakMap<object, Record<string, JsonField>>();

function specOf(p: PromptSpec<z.ZodRawShape>): ArgumentsSpec {
  let spec = specs.get(p);
  if (spec === undefined) {
    spec = { name: `prompt ${p.name}`, input: p.arguments };
    specs.set(p, spec);
  }
  return spec;
}

/** Each argument's JSON schema (input side): its type, enum values and description. */
function fieldsOf(p: PromptSpec<z.ZodRawShape>): Record<string, JsonField> {
  let out = fields.get(p);
  if (out === undefined) {
    const schema = z.toJSONSchema(z.object(p.arguments), { io: "input" }) as {
      properties?: Record<string, JsonField>;
    };
    out = schema.properties ?? {};
    fields.set(p, out);
  }
  return out;
}

function takes(p: PromptSpec<z.ZodRawShape>): string {
  const names = Object.keys(p.arguments);
  return names.length === 0 ? "it takes no arguments" : `it takes ${names.join(", ")}`;
}

/** Defines a prompt: adds {@link Prompt.complete} (enum values plus `suggestions`, filtered). */
export function prompt<A extends z.ZodRawShape>(spec: PromptSpec<A>): Prompt<A> {
  const self: Prompt<A> = {
    ...spec,
    async complete(argName, partial, context = {}) {
      if (!Object.hasOwn(spec.arguments, argName)) {
        throw new RangeError(
          `prompt ${spec.name} has no argument ${JSON.stringify(argName)}: ${takes(spec)}.`,
        );
      }
      const field = fieldsOf(spec)[argName] ?? {};
      const fixed = (field.enum ?? []).map(String);
      const extra = (spec.suggestions as Record<string, Suggestions | undefined> | undefined)
        ?.[argName];
      const more = typeof extra === "function" ? await extra(context) : extra ?? [];
      return filterCompletions([...fixed, ...more], partial);
    },
  };
  return self;
}

/**
 * The candidates that start with `partial` (trimmed, case-insensitive), without duplicates, at
 * most {@link MAX_COMPLETIONS}.
 */
export function filterCompletions(candidates: readonly string[], partial: string): string[] {
  const prefix = partial.trim().toLowerCase();
  const out: string[] = [];
  for (const value of new Set(candidates)) {
    if (!value.toLowerCase().startsWith(prefix)) continue;
    out.push(value);
    if (out.length === MAX_COMPLETIONS) break;
  }
  return out;
}

/** The arguments of `p` as prompts/list shows them, in declaration order. */
export function promptArguments(p: PromptSpec<z.ZodRawShape>): PromptArgumentInfo[] {
  const json = fieldsOf(p);
  return Object.entries(p.arguments).map(([name, schema]) => ({
    name,
    description: json[name]?.description ?? "",
    required: !z.safeParse(schema, undefined).success,
  }));
}

const NUMBER_TEXT = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;

/**
 * `raw` (strings as prompts/get sends them, or values) checked against `p`'s arguments: the
 * parsed arguments with defaults, or `InvalidArgumentsError` whose one-line message names the
 * prompt, each refused argument, its value and what is allowed. An empty string counts as not
 * given; number arguments take numeric strings ("0.5"); enum values are trimmed and lower-cased.
 */
export function parsePromptArguments<A extends z.ZodRawShape>(
  p: Prompt<A>,
  raw: unknown,
): z.output<z.ZodObject<A>> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return parseArguments(specOf(p), raw) as z.output<z.ZodObject<A>>;
  }
  const json = fieldsOf(p);
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== "string") {
      args[key] = value;
      continue;
    }
    const text = value.trim();
    if (text === "") continue;
    const field = json[key];
    const types = field === undefined ? [] : [field.type ?? []].flat();
    if ((types.includes("number") || types.includes("integer")) && NUMBER_TEXT.test(text)) {
      args[key] = Number(text);
    } else if (field?.enum !== undefined) {
      args[key] = text.toLowerCase();
    } else {
      args[key] = text;
    }
  }
  return parseArguments(specOf(p), args) as z.output<z.ZodObject<A>>;
}

/**
 * A tool call as prompt texts write it: `` `name {"arg":value}` ``, typed by the tool's input
 * shape (a misspelt argument does not compile).
 */
export function callText<I extends z.ZodRawShape>(
  t: Tool<I, z.ZodRawShape>,
  args: z.input<z.ZodObject<I>>,
): string {
  return `\`${t.name} ${JSON.stringify(args)}\``;
}

/** A tool mention as prompt texts write it: `` `name` ``. */
export function toolText(t: Tool<z.ZodRawShape, z.ZodRawShape>): string {
  return `\`${t.name}\``;
}

/** Suggestions from `serialPorts`, logged and left out when the look-up fails. */
export async function seenSerialPorts(context: PromptContext): Promise<readonly string[]> {
  if (context.serialPorts === undefined) return [];
  try {
    return await context.serialPorts();
  } catch (error) {
    log.warn("Serial ports not listed for a completion: {error}", {
      error: errorMessage(error),
    });
    return [];
  }
}

/** `n` rounded to `digits` decimals, as a number (0.30000000000000004 -> 0.3). */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
