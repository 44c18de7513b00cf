/**
 * Fuzz-style, seeded: for every tool of the catalog, argument sets made invalid in one way (a
 * wrong type, a number out of range or not whole, a string or list of the wrong length, a value
 * outside an enum, a missing required argument, an unknown key, a prototype key, arguments that
 * are not an object) are built from the tool's own JSON schema, parsed from JSON text as a
 * transport would, and called through the catalog (`callTool`) on a real Runtime over the
 * simulated robot. Each must be refused by the schema with one line naming the tool and the
 * field, and nothing may reach the robot's wire. The seed is fixed; the number of cases is
 * bounded (well under a second of work on a loaded machine).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { robotMetrics, Runtime } from "../../src/robot/mod.ts";
import {
  callTool,
  CATALOG,
  inputSchema,
  InvalidArgumentsError,
  PROTOTYPE_KEYS,
  type Tool,
  type ToolContext,
} from "../../src/tools/mod.ts";
import {
  fakeClock,
  keepAliveSimOpener,
  settleErrorWith,
  settleWith,
  testSettings,
} from "../_helpers/mod.ts";

const SEED = 1313;
/** Invalid argument sets per tool. */
const RUNS_PER_TOOL = 80;

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
};

/** One invalid argument set: its JSON text, and the field or key the refusal must name. */
interface Case {
  what: string;
  json: string;
  field: string;
}

const schemaOf = (t: Tool) => z.toJSONSchema(inputSchema(t), { io: "input" }) as JsonSchema;

/** A valid value for `s` (the schemas of the catalog are all of these kinds). */
function validValue(s: JsonSchema): unknown {
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case "boolean":
      return true;
    case "string":
      return "x".repeat(Math.max(1, s.minLength ?? 1));
    case "array":
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => validValue(s.items ?? {}));
    case "integer":
    case "number": {
      const low = s.minimum ?? s.exclusiveMinimum ?? -1;
      const high = s.maximum ?? s.exclusiveMaximum ?? 1;
      const mid = (low + high) / 2;
      return s.type === "integer" ? Math.round(mid) : mid;
    }
  }
  throw new Error(`no valid value for ${JSON.stringify(s)}: teach this test the new kind`);
}

/** Every argument with a valid value, optional ones included. */
function validArgs(schema: JsonSchema): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([k, s]) => [k, validValue(s)]),
  );
}

const finite = (c: fc.DoubleConstraints = {}) =>
  fc.double({ noNaN: true, noDefaultInfinity: true, ...c });

/** Values of a JSON type `s` does not allow. */
function wrongType(s: JsonSchema): fc.Arbitrary<unknown> {
  const others: fc.Arbitrary<unknown>[] = [
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
  ];
  if (s.type !== "boolean") others.push(fc.boolean());
  if (s.type !== "string") others.push(fc.string({ maxLength: 8 }));
  if (s.type !== "number" && s.type !== "integer") others.push(finite());
  if (s.type === "integer") {
    others.push(finite({ min: -1e6, max: 1e6 }).filter((v) => !Number.isInteger(v)));
  }
  return fc.oneof(...others);
}

/** Values of the right type that break a bound of `s`, or undefined when it has none to break. */
function outOfRange(s: JsonSchema): fc.Arbitrary<unknown> | undefined {
  const values = s.enum;
  if (values) {
    return values.every((v) => typeof v === "string")
      ? fc.string({ maxLength: 12 }).filter((v) => !values.includes(v))
      : finite({ min: -1e7, max: 1e7 }).filter((v) => !values.includes(v));
  }
  if (s.type === "number" || s.type === "integer") {
    const whole = (a: fc.Arbitrary<number>) =>
      s.type === "integer" ? a.map((v) => Math.trunc(v)) : a;
    const below = s.minimum ?? s.exclusiveMinimum;
    const above = s.maximum ?? s.exclusiveMaximum;
    const low = (v: number) =>
      s.minimum !== undefined ? v < s.minimum : v <= (s.exclusiveMinimum as number);
    const high = (v: number) =>
      s.maximum !== undefined ? v > s.maximum : v >= (s.exclusiveMaximum as number);
    const parts: fc.Arbitrary<number>[] = [];
    if (below !== undefined) {
      parts.push(whole(finite({ min: below - 1e6, max: below })).filter(low));
      parts.push(fc.constantFrom(-Number.MAX_VALUE, below - Number.EPSILON * 8).filter(low));
    }
    if (above !== undefined) {
      parts.push(whole(finite({ min: above, max: above + 1e6 })).filter(high));
      parts.push(fc.constant(Number.MAX_VALUE));
    }
    return parts.length > 0 ? fc.oneof(...parts) : undefined;
  }
  if (s.type === "string") {
    const parts: fc.Arbitrary<string>[] = [];
    if (s.maxLength !== undefined) {
      parts.push(
        fc.integer({ min: s.maxLength + 1, max: s.maxLength + 8 }).map((n) => "y".repeat(n)),
      );
    }
    const minLength = s.minLength ?? 0;
    if (minLength > 0) parts.push(fc.string({ maxLength: minLength - 1 }));
    return parts.length > 0 ? fc.oneof(...parts) : undefined;
  }
  if (s.type === "array") {
    const item = () => validValue(s.items ?? {});
    const parts: fc.Arbitrary<unknown[]>[] = [];
    if (s.maxItems !== undefined) {
      parts.push(
        fc.integer({ min: s.maxItems + 1, max: s.maxItems + 4 }).map((n) =>
          Array.from({ length: n }, item)
        ),
      );
    }
    if ((s.minItems ?? 0) > 0) parts.push(fc.constant([]));
    return parts.length > 0 ? fc.oneof(...parts) : undefined;
  }
  return undefined;
}

/** JSON text of `args` plus one more key, written out so `__proto__` stays an own key. */
function withKey(args: Record<string, unknown>, key: string, value: unknown): string {
  const head = JSON.stringify(args).slice(0, -1);
  return `${head}${head.length > 1 ? "," : ""}${JSON.stringify(key)}:${JSON.stringify(value)}}`;
}

/** Every way to make `t`'s arguments invalid in one place. */
function invalidCases(t: Tool): fc.Arbitrary<Case> {
  const schema = schemaOf(t);
  const base = validArgs(schema);
  const props = Object.entries(schema.properties ?? {});
  const names = new Set(props.map(([k]) => k));
  const set = (field: string, value: unknown) => JSON.stringify({ ...base, [field]: value });
  const kinds: fc.Arbitrary<Case>[] = [
    fc.tuple(
      fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/).filter((k) => !names.has(k)),
      fc.jsonValue({ maxDepth: 1 }),
    ).map(([key, value]) => ({ what: "unknown key", json: withKey(base, key, value), field: key })),
    fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.jsonValue({ maxDepth: 2 })).map((
      [key, value],
    ) => ({ what: "prototype key", json: withKey(base, key, value), field: key })),
    fc.oneof(
      fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
      fc.string({ maxLength: 8 }),
      finite(),
      fc.boolean(),
      fc.constant(null),
    ).map((value) => ({ what: "not an object", json: JSON.stringify(value), field: t.name })),
  ];
  for (const [field, s] of props) {
    kinds.push(
      wrongType(s).map((value) => ({ what: "wrong type", json: set(field, value), field })),
    );
    const range = outOfRange(s);
    if (range) {
      kinds.push(range.map((value) => ({ what: "out of range", json: set(field, value), field })));
    }
    const items = s.type === "array" ? s.items : undefined;
    if (items) {
      kinds.push(
        fc.oneof(wrongType(items), outOfRange(items) ?? wrongType(items)).map((value) => ({
          what: "bad list item",
          json: set(field, [validValue(items), value]),
          field: `${field}[1]`,
        })),
      );
    }
    if (schema.required?.includes(field)) {
      const { [field]: _, ...rest } = base;
      kinds.push(fc.constant({ what: "missing", json: JSON.stringify(rest), field }));
    }
  }
  return fc.oneof(...kinds);
}

Deno.test("fuzz: every tool refuses invalid arguments at its schema, in one line naming the field; nothing reaches the robot", async (t) => {
  const clock = fakeClock();
  const robot = keepAliveSimOpener({}, "fuzz");
  const runtime = new Runtime(
    testSettings(),
    robot.open,
    robotMetrics(),
  );
  const settle = <T>(p: Promise<T>) => settleWith(clock, p, 60_000);
  const ctx: ToolContext = {
    correlationId: "fuzz",
    signal: new AbortController().signal,
    notify: () => assert.fail("a refused call changed a setting"),
  };
  try {
    await settle(runtime.connection.connect());
    await settle(runtime.rvr.ready());
    const packets = () => robot.wires.reduce((n, w) => n + w.received().length, 0);

    await t.step("the generator's valid arguments are valid (each case breaks one thing)", () => {
      for (const tool of CATALOG) {
        const result = inputSchema(tool).safeParse(validArgs(schemaOf(tool)));
        assert.ok(result.success, `${tool.name}: ${result.error?.message}`);
      }
    });

    let cases = 0;
    const kinds = new Map<string, number>();
    for (const tool of CATALOG) {
      await t.step(tool.name, async () => {
        const before = packets();
        await fc.assert(
          fc.asyncProperty(invalidCases(tool), async (c) => {
            cases++;
            kinds.set(c.what, (kinds.get(c.what) ?? 0) + 1);
            const raw = JSON.parse(c.json);
            assert.equal(inputSchema(tool).safeParse(raw).success, false, "the schema refuses");
            const error = await settleErrorWith(clock, callTool(tool, runtime, raw, ctx), 1000);
            assert.ok(error instanceof InvalidArgumentsError, `${c.what} ${c.json}: ${error}`);
            assert.equal(error.tool, tool.name);
            assert.ok(error.message.startsWith(`${tool.name}: `), error.message);
            assert.doesNotMatch(error.message, /\n/, "one line");
            assert.doesNotMatch(error.message, /"code"|"path"|"expected"/, "no zod dump");
            assert.ok(error.message.length < 600, `short: ${error.message.length} characters`);
            if (c.field !== tool.name) {
              // A list of the wrong item type is named by its first bad item: sensors[0].
              const named = error.fields.some((f) => f === c.field || f.startsWith(`${c.field}[`));
              assert.ok(named, `${c.json}: ${error.fields}`);
              assert.ok(error.message.includes(c.field), `names ${c.field}: ${error.message}`);
            }
            assert.equal(packets(), before, "nothing reached the wire");
          }),
          { seed: SEED, numRuns: RUNS_PER_TOOL, endOnFailure: true },
        );
      });
    }
    assert.equal(cases, CATALOG.length * RUNS_PER_TOOL);
    for (
      const kind of [
        "unknown key",
        "prototype key",
        "not an object",
        "wrong type",
        "out of range",
        "bad list item",
        "missing",
      ]
    ) {
      assert.ok((kinds.get(kind) ?? 0) > 0, `${kind} cases ran`);
    }
  } finally {
    runtime.moves.dispose();
    runtime.streams.dispose();
    await settle(runtime.close("sigterm"));
    await settle(robot.sim.stop());
    clock.uninstall();
  }
});
