/**
 * A schema as every MCP server instance lists it, converted to JSON Schema once and shared.
 *
 * The SDK converts each tool's input and output schema to JSON Schema on every `tools/list` (and
 * the output schema once more per registered tool for `tools/call`), and zod builds the JSON
 * Schema afresh each time. With one server per 2025-era HTTP session that was ~45 tools times two
 * conversions per session: a third of a megabyte of garbage each, which a heap that no longer
 * allocates much keeps for good (issue 13: the RSS after 100 abandoned sessions stayed at ~1.8x
 * idle). {@link listedOnce} wraps a schema so that its Standard JSON Schema converter answers
 * from a per-schema cache (one entry per io and target); callers build the wrapper once per
 * catalog tool, not per server. The cached JSON Schema is deep-frozen: it is shared by every
 * session, so a consumer that tried to change it would throw instead of changing every
 * session's listing.
 *
 * Private to src/mcp.
 *
 * @module
 */
import type { z } from "zod";

type Io = "input" | "output";
type Standard = z.ZodType["~standard"];
type Converter = Standard["jsonSchema"]["input"];

/** `value` and everything it holds, frozen; returns `value`. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}

/**
 * `schema` as the SDK reads it (its `~standard` properties: validate, vendor, JSON Schema), with
 * each JSON Schema converted once and shared, and `validate` replaced when one is given. Build it
 * once per schema and reuse it for every server instance.
 */
export function listedOnce<S extends z.ZodType>(
  schema: S,
  validate?: Standard["validate"],
): S {
  const standard = schema["~standard"];
  const converted = new Map<string, Record<string, unknown>>();
  const convert = (io: Io): Converter => (options) => {
    // Vendor options may change the output: those conversions are not shared.
    if (options?.libraryOptions !== undefined) return standard.jsonSchema[io](options);
    const key = `${io} ${options?.target}`;
    let json = converted.get(key);
    if (json === undefined) {
      json = deepFreeze(standard.jsonSchema[io](options));
      converted.set(key, json);
    }
    return json;
  };
  return {
    "~standard": {
      ...standard,
      ...(validate === undefined ? {} : { validate }),
      jsonSchema: { input: convert("input"), output: convert("output") },
    },
  } as unknown as S;
}
