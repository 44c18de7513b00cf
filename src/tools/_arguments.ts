/**
 * A tool's arguments, checked once where they enter: {@link inputSchema} is the one schema every
 * adapter declares for a tool (a strict object: a key the tool does not take is refused, also a
 * misspelt optional one), and {@link parseArguments} checks raw arguments against it and throws
 * {@link InvalidArgumentsError}, whose message is one line naming the tool, each offending field
 * or key, the value and what is allowed (never a dump of zod issues).
 *
 * Prototype keys (`__proto__`, `constructor`, `prototype`) are refused like any other unknown key,
 * and named as prototype keys. `JSON.parse` makes `"__proto__"` an own key, which the strict
 * schema sees and refuses. But a parser that copies keys into a fresh object (zod 4's
 * `z.record`, which both MCP SDK lines use for `tools/call` `params.arguments`) drops
 * `"__proto__"` without a trace, so an adapter must hand {@link parseArguments} the arguments as
 * parsed from the request's JSON text, before any such copy. An object whose prototype was
 * replaced (by an assignment to `__proto__`) is refused as not a plain JSON object.
 *
 * Private to src/tools (other layers import it through mod.ts).
 *
 * @module
 */
import { z } from "zod";
import { DomainError } from "../core/mod.ts";

/** Keys that name an object's prototype machinery: never an argument of any tool. */
export const PROTOTYPE_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

/** What {@link inputSchema} and {@link parseArguments} need of a tool. */
export interface ArgumentsSpec {
  readonly name: string;
  readonly input: z.ZodRawShape;
}

/** A tool's arguments are wrong: the message (and hint) is one line saying which and why. */
export class InvalidArgumentsError extends DomainError {
  override name = "InvalidArgumentsError";
  /** The tool whose arguments were refused. */
  readonly tool: string;
  /** The offending fields (`percent`, `sensors[1]`) and unknown keys, in the message's order. */
  readonly fields: readonly string[];

  constructor(tool: string, fields: readonly string[], message: string) {
    super(message);
    this.tool = tool;
    this.fields = fields;
  }
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
};

const schemas = new WeakMap<ArgumentsSpec, z.ZodObject>();
const jsonSchemas = new WeakMap<ArgumentsSpec, JsonSchema>();

/** The argument schema of `t`: a strict object of its input shape (one per tool, cached). */
export function inputSchema<I extends z.ZodRawShape>(
  t: { readonly name: string; readonly input: I },
): z.ZodObject<I, z.core.$strict> {
  let schema = schemas.get(t);
  if (schema === undefined) {
    const keys = Object.keys(t.input);
    schema = z.strictObject(t.input, {
      // What the schema says by itself (an adapter may show it): the key and what is allowed.
      error: (issue) =>
        issue.code === "unrecognized_keys" ? unknownKeysText(issue.keys, keys) : undefined,
    });
    schemas.set(t, schema);
  }
  return schema as z.ZodObject<I, z.core.$strict>;
}

/**
 * `raw` checked against `t`'s schema: the parsed arguments (defaults applied), or
 * {@link InvalidArgumentsError}. `undefined` counts as no arguments (`{}`).
 */
export function parseArguments<I extends z.ZodRawShape>(
  t: { readonly name: string; readonly input: I },
  raw: unknown,
): z.output<z.ZodObject<I>> {
  const args = raw === undefined ? {} : raw;
  const keys = Object.keys(t.input);
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new InvalidArgumentsError(
      t.name,
      [],
      `${t.name}: the arguments must be a JSON object (${takes(keys)}), got ${
        Array.isArray(args) ? "an array" : show(args)
      }.`,
    );
  }
  const proto = Object.getPrototypeOf(args);
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidArgumentsError(
      t.name,
      ["__proto__"],
      `${t.name}: the arguments must be a plain JSON object, but their prototype was replaced ` +
        `(a "__proto__" key, a prototype key and never an argument); ${takes(keys)}.`,
    );
  }
  const result = inputSchema(t).safeParse(args);
  if (result.success) return result.data;
  const fields: string[] = [];
  const parts = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      fields.push(...issue.keys);
      return unknownKeysText(issue.keys, keys);
    }
    const field = fieldName(issue.path);
    fields.push(field);
    const value = valueAt(args, issue.path);
    const allowed = describeAllowed(schemaAt(jsonSchemaOf(t), issue.path));
    const reason = ownMessage(issue);
    return value === undefined && issue.code === "invalid_type"
      ? `${field} is missing: give ${allowed}`
      : `${field} must be ${allowed}, got ${show(value)}${reason ? `: ${reason}` : ""}`;
  });
  throw new InvalidArgumentsError(t.name, fields, `${t.name}: ${parts.join("; ")}.`);
}

/**
 * The reason a tool's schema gives for this refusal (zod's `error` option on a check, e.g. "too
 * small to move"), or undefined when the message is zod's own (the field's bounds already say it).
 */
function ownMessage(issue: z.core.$ZodIssue): string | undefined {
  const standard = z.config().localeError?.(issue as Parameters<z.core.$ZodErrorMap>[0]);
  const text = typeof standard === "string" ? standard : standard?.message;
  return issue.message === text ? undefined : issue.message.replace(/\s+/g, " ");
}

/** "it takes x, y and speed" / "it takes no arguments". */
function takes(keys: readonly string[]): string {
  if (keys.length === 0) return "it takes no arguments";
  if (keys.length === 1) return `it takes ${keys[0]}`;
  return `it takes ${keys.slice(0, -1).join(", ")} and ${keys.at(-1)}`;
}

function unknownKeysText(unknown: readonly string[], keys: readonly string[]): string {
  const shown = unknown.slice(0, 5).map((k) => show(k)).join(", ") +
    (unknown.length > 5 ? ` and ${unknown.length - 5} more` : "");
  const proto = unknown.some((k) => PROTOTYPE_KEYS.includes(k))
    ? " (a prototype key is never an argument)"
    : "";
  return `unknown argument${unknown.length > 1 ? "s" : ""} ${shown}${proto}: ${takes(keys)}`;
}

/** `percent`, `sensors[1]`. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)
    .join("") || "the arguments";
}

/** The value at `path` inside `value` (own keys only), or undefined. */
export function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function jsonSchemaOf(t: ArgumentsSpec): JsonSchema {
  let schema = jsonSchemas.get(t);
  if (schema === undefined) {
    schema = z.toJSONSchema(inputSchema(t), { io: "input" }) as JsonSchema;
    jsonSchemas.set(t, schema);
  }
  return schema;
}

function schemaAt(schema: JsonSchema, path: readonly PropertyKey[]): JsonSchema | undefined {
  let s: JsonSchema | undefined = schema;
  for (const p of path) {
    s = typeof p === "number" ? s?.items : s?.properties?.[String(p)];
  }
  return s;
}

/** What a JSON schema allows, in words: "an integer from 0 to 255", "one of "a", "b"". */
function describeAllowed(s: JsonSchema | undefined): string {
  if (s === undefined) return "a valid value";
  if (s.enum !== undefined) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  if (s.const !== undefined) return `exactly ${JSON.stringify(s.const)}`;
  if (s.anyOf !== undefined) return s.anyOf.map(describeAllowed).join(" or ");
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "integer":
      return `an integer${range(s)}`;
    case "number":
      return `a number${range(s)}`;
    case "boolean":
      return "true or false";
    case "string":
      return `a string of ${s.minLength ?? 0} to ${s.maxLength ?? "any number of"} characters`;
    case "array":
      return `a list of ${s.minItems ?? 0} to ${s.maxItems ?? "any number of"} items, each ${
        describeAllowed(s.items)
      }`;
    case "null":
      return "null";
    case "object":
      return "an object";
    default:
      return "a valid value";
  }
}

function range(s: JsonSchema): string {
  const low = s.minimum !== undefined
    ? `from ${s.minimum}`
    : s.exclusiveMinimum !== undefined
    ? `above ${s.exclusiveMinimum}`
    : "";
  const high = s.maximum !== undefined
    ? `${s.minimum !== undefined ? "to" : "at most"} ${s.maximum}`
    : s.exclusiveMaximum !== undefined
    ? `below ${s.exclusiveMaximum}`
    : "";
  const joint = s.minimum !== undefined && s.maximum !== undefined ? " " : ", ";
  return [low, high].filter((p) => p !== "").map((p, i) => (i === 0 ? " " : joint) + p).join("");
}

/** A value as the message shows it: JSON, at most 40 characters, always one line. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value.slice(0, 41));
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch (error) {
      text = `<${typeof value} that is not JSON: ${(error as Error).message}>`;
    }
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
