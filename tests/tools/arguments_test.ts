/**
 * The catalog's argument check (src/tools/_arguments.ts) on the cases the black-box run of issue
 * 13 found, run through `callTool` on a real Runtime over the simulated robot: prototype keys are
 * refused like an unknown key, with a one-line message; a move's speed too small to move is
 * refused as such (at the schema, and by Moves for programmatic callers); a speed limit that makes
 * the wire speed 0 is named as the reason a move failed. Nothing refused reaches the wire.
 */
import assert from "node:assert/strict";
import { DomainError } from "../../src/core/mod.ts";
import { MIN_MOVE_SPEED_MPS, MoveFailedError, robotMetrics, Runtime } from "../../src/robot/mod.ts";
import {
  callTool,
  CATALOG,
  inputSchema,
  InvalidArgumentsError,
  parseArguments,
  type ToolContext,
} from "../../src/tools/mod.ts";
import {
  fakeClock,
  keepAliveSimOpener,
  paramsOf,
  settleErrorWith,
  settleWith,
  testSettings,
} from "../_helpers/mod.ts";

const byName = (name: string) => {
  const t = CATALOG.find((t) => t.name === name);
  if (t === undefined) throw new Error(`no tool ${name}`);
  return t;
};

const ctx: ToolContext = {
  correlationId: "arguments-test",
  signal: new AbortController().signal,
  notify: () => {},
};

/** The refusal of `raw` (JSON text, parsed as a transport would) for `tool`. */
function refusal(tool: string, json: string): InvalidArgumentsError {
  const raw = JSON.parse(json);
  assert.equal(inputSchema(byName(tool)).safeParse(raw).success, false, `${tool} ${json}`);
  try {
    parseArguments(byName(tool), raw);
  } catch (error) {
    assert.ok(
      error instanceof InvalidArgumentsError && error instanceof DomainError,
      String(error),
    );
    assert.equal(error.hint, error.message);
    assert.doesNotMatch(error.message, /\n/, "one line");
    return error;
  }
  assert.fail(`${tool} accepted ${json}`);
}

Deno.test("prototype keys are refused like an unknown key, naming the key and what is allowed", () => {
  const cases: [string, string, string, RegExp][] = [
    [
      "get_safety_status",
      '{"__proto__": {"polluted": true}}',
      "__proto__",
      /^get_safety_status: unknown argument "__proto__" \(a prototype key is never an argument\): it takes no arguments\.$/,
    ],
    ["stop", '{"__proto__": {"polluted": true}}', "__proto__", /it takes deceleration\.$/],
    [
      "set_speed_limit",
      '{"percent": 50, "__proto__": {"polluted": true}}',
      "__proto__",
      /^set_speed_limit: unknown argument "__proto__" .*: it takes percent\.$/,
    ],
    ["set_speed_limit", '{"percent": 50, "constructor": {}}', "constructor", /"constructor"/],
    ["stop", '{"prototype": 1}', "prototype", /unknown argument "prototype" \(a prototype key/],
    ["stop", '{"x": 1}', "x", /^stop: unknown argument "x": it takes deceleration\.$/],
  ];
  for (const [tool, json, key, pattern] of cases) {
    const error = refusal(tool, json);
    assert.deepEqual(error.fields, [key]);
    assert.match(error.message, pattern);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "nothing was polluted");
});

Deno.test("arguments whose prototype was replaced are refused as not a plain JSON object", () => {
  const polluted = Object.assign(Object.create({ polluted: true }), { percent: 50 });
  assert.throws(
    () => parseArguments(byName("set_speed_limit"), polluted),
    (e: unknown) =>
      e instanceof InvalidArgumentsError &&
      /^set_speed_limit: the arguments must be a plain JSON object, but their prototype was replaced/
        .test(e.message),
  );
  // A null-prototype object (what some JSON parsers make) is plain: accepted.
  const bare = Object.assign(Object.create(null), { percent: 50 });
  assert.deepEqual({ ...parseArguments(byName("set_speed_limit"), bare) }, { percent: 50 });
});

Deno.test("arguments that are not an object, and missing ones, are named in one line", () => {
  assert.match(
    refusal("set_speed_limit", "[1]").message,
    /^set_speed_limit: the arguments must be a JSON object \(it takes percent\), got an array\.$/,
  );
  assert.match(
    refusal("set_speed_limit", '"str"').message,
    /the arguments must be a JSON object \(it takes percent\), got "str"\.$/,
  );
  assert.match(
    refusal("set_speed_limit", "{}").message,
    /^set_speed_limit: percent is missing: give a number from 0 to 100\.$/,
  );
  const two = refusal("drive_to_position", '{"x": 1, "y": 2, "speed": 3, "final_heading": 360}');
  assert.deepEqual(two.fields, ["speed", "final_heading"]);
  assert.match(two.message, /speed must be a number from 0\.01 to 2, got 3; final_heading must/);
  const item = refusal("start_sensor_streaming", '{"sensors": ["imu", "nope"]}');
  assert.deepEqual(item.fields, ["sensors[1]"]);
  assert.match(item.message, /sensors\[1\] must be one of "quaternion", .*, got "nope"\.$/);
});

Deno.test("a move's speed too small to move: refused naming the value and the smallest that moves", async (t) => {
  const clock = fakeClock();
  const robot = keepAliveSimOpener({}, "arguments");
  const runtime = new Runtime(
    { ...testSettings(), commandTimeout: 0 },
    robot.open,
    robotMetrics(),
  );
  const settle = <T>(p: Promise<T>) => settleWith(clock, p, 60_000);
  try {
    await settle(runtime.connection.connect());
    await settle(runtime.rvr.ready());
    const sent = () => robot.wire.received().length;

    await t.step(
      "drive_forward, drive_backward, drive_to_position: refused by the schema",
      async () => {
        const before = sent();
        for (const speed of [5e-324, 1e-50, 0.005]) {
          for (
            const [tool, args] of [
              ["drive_forward", { distance: 0.5, speed }],
              ["drive_backward", { distance: 0.5, speed }],
              ["drive_to_position", { x: 0, y: 0.5, speed }],
            ] as const
          ) {
            const error = await settleErrorWith(clock, callTool(byName(tool), runtime, args, ctx));
            assert.ok(error instanceof InvalidArgumentsError, String(error));
            assert.equal(
              error.message,
              `${tool}: speed must be a number from ${MIN_MOVE_SPEED_MPS} to 2, got ${speed}: ` +
                `too small to move (the smallest speed that moves is ${MIN_MOVE_SPEED_MPS} m/s).`,
            );
            assert.doesNotMatch(error.message, /took over/);
          }
        }
        assert.equal(sent(), before, "nothing reached the robot");
      },
    );

    await t.step(
      "Moves itself (programmatic callers): the same refusal as a RangeError",
      async () => {
        const before = sent();
        const error = await settleErrorWith(
          clock,
          runtime.moves.driveToPosition({ x_m: 0, y_m: 0.5, speed_mps: 1e-50 }),
        );
        assert.ok(error instanceof RangeError, String(error));
        assert.equal(
          error.message,
          "drive_to_position speed_mps 1e-50 m/s is too small to move: the smallest speed that " +
            `moves is ${MIN_MOVE_SPEED_MPS} m/s; e.g. 0.3.`,
        );
        assert.equal(sent(), before, "nothing reached the robot");
      },
    );

    await t.step("a speed limit that makes the wire speed 0: the failure says so", async () => {
      runtime.safety.setSpeedLimitPercent(1e-50);
      const error = await settleErrorWith(
        clock,
        callTool(byName("drive_forward"), runtime, { distance: 0.5, speed: 0.5 }, ctx),
      );
      assert.ok(error instanceof MoveFailedError, String(error));
      assert.match(
        error.message,
        /the speed limit of 1e-50 % caps the speed at [0-9.e-]+ m\/s, which is 0 on the wire: too small to move; the smallest speed that moves is 0\.01 m\/s/,
      );
      assert.doesNotMatch(error.message, /took over/);
      const sentDrive = robot.wire.received("drive_to_position_si").at(-1);
      assert.ok(sentDrive !== undefined, "the move went out");
      assert.equal(paramsOf("drive_to_position_si", sentDrive).linear_speed, 0, "0 on the wire");
    });
  } finally {
    runtime.moves.dispose();
    runtime.streams.dispose();
    await settle(runtime.close("sigterm"));
    await settle(robot.sim.stop());
    clock.uninstall();
  }
});
