/**
 * The prompt catalog without any transport: argument checks (strings as prompts/get sends them,
 * one-line refusals), completions (prefix, bounded, injected serial ports), texts whose every
 * tool mention and call the tool catalog accepts, live facts of a real Runtime over the simulated
 * robot, the diagnosis against README's Troubleshooting table, and the plans followed call by
 * call on the simulator (a shape and the first drive end where they started, also one after
 * another on a robot that has already moved).
 */
import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import { z } from "zod";
import type { Runtime } from "../../src/robot/mod.ts";
import {
  callTool,
  filterCompletions,
  InvalidArgumentsError,
  MAX_COMPLETIONS,
  parseArguments,
  parsePromptArguments,
  type Prompt,
  PROMPT_NAMES,
  promptArguments,
  PROMPTS,
} from "../../src/tools/mod.ts";
import {
  diagnoseConnection,
  matchingRow,
  rowPattern,
  TROUBLESHOOTING,
} from "../../src/tools/prompt_diagnosis.ts";
import { firstDrive } from "../../src/tools/prompt_first_drive.ts";
import { LIGHT_SHOWS, lightShow } from "../../src/tools/prompt_light_show.ts";
import { driveShape, SHAPE_NAMES } from "../../src/tools/prompt_shape.ts";
import { getBatteryStatus } from "../../src/tools/sensors.ts";
import { captureLogs } from "../_helpers/mod.ts";
import { context, rig, TOOLS } from "./_rig.ts";

/** A tool mention (`name`) or call (`name {json}`) in a prompt's text. */
interface Mention {
  readonly name: string;
  readonly args: Record<string, unknown> | undefined;
  /** True on a numbered line: a step of the plan (calls elsewhere are conditional). */
  readonly step: boolean;
}

/** Every backticked snake_case word (a tool) and its JSON arguments when it is a call. */
function mentions(text: string): Mention[] {
  const out: Mention[] = [];
  for (const line of text.split("\n")) {
    const step = /^\d+\. /.test(line);
    for (const m of line.matchAll(/`([a-z][a-z0-9_]*)(?: (\{[^`]*\}))?`/g)) {
      out.push({ name: m[1], args: m[2] === undefined ? undefined : JSON.parse(m[2]), step });
    }
  }
  return out;
}

/** Checks every mention of `text` against the catalog; returns the calls of the plan. */
function checkTools(label: string, text: string): Mention[] {
  const found = mentions(text);
  assert.ok(found.length > 0, `${label}: names tools`);
  for (const m of found) {
    const t = TOOLS.get(m.name);
    assert.ok(t, `${label}: \`${m.name}\` is a tool of the catalog`);
    if (m.args !== undefined) parseArguments(t, m.args); // throws with the reason
  }
  return found.filter((m) => m.step && m.args !== undefined);
}

/** The one text of a prompt's messages (every prompt here is one user message). */
function textOf(p: Prompt, raw: Record<string, string>, runtime: Runtime): string {
  const messages = p.messages(parsePromptArguments(p, raw), runtime);
  assert.equal(messages.length, 1);
  assert.equal(messages[0].role, "user");
  return messages[0].text;
}

/**
 * Makes the plan's calls in order, as the texts say: each pivot adds what the previous one's
 * measured turn (turned_deg) missed. Returns each result.
 */
async function follow(
  r: { runtime: Runtime; settle: <T>(p: Promise<T>) => Promise<T> },
  calls: readonly Mention[],
): Promise<Record<string, unknown>[]> {
  const results: Record<string, unknown>[] = [];
  let missedDeg = 0;
  for (const c of calls) {
    const t = TOOLS.get(c.name);
    assert.ok(t);
    const degrees = (c.args?.degrees as number) + missedDeg;
    const args = c.name === "pivot" ? { degrees } : c.args;
    const result = await r.settle(callTool(t, r.runtime, args, context()));
    if (c.name === "pivot") missedDeg = degrees - (result.turned_deg as number);
    results.push(result);
  }
  return results;
}

Deno.test("prompts: four, unique snake_case names, every argument described and bounded", () => {
  assert.deepEqual(PROMPT_NAMES, [
    "first_drive",
    "drive_shape",
    "light_show",
    "diagnose_connection",
  ]);
  for (const p of PROMPTS) {
    assert.match(p.name, /^[a-z]+(_[a-z]+)*$/);
    assert.ok(!TOOLS.has(p.name), `${p.name} is not also a tool name`);
    assert.ok(p.title.length > 0 && p.description.length > 40, `${p.name} is described`);
    const schema = z.toJSONSchema(z.object(p.arguments), { io: "input" }) as {
      properties: Record<string, Record<string, unknown>>;
    };
    for (const [name, field] of Object.entries(schema.properties)) {
      assert.ok(String(field.description ?? "").length > 10, `${p.name}.${name} is described`);
      if (field.enum !== undefined) continue;
      if (field.type === "string") {
        assert.ok(field.maxLength !== undefined, `${p.name}.${name} has a length limit`);
      } else {
        assert.ok(
          field.minimum !== undefined && field.maximum !== undefined,
          `${p.name}.${name} has bounds`,
        );
      }
    }
  }
  assert.deepEqual(promptArguments(driveShape), [
    { name: "shape", description: driveShape.arguments.shape.description, required: true },
    { name: "size", description: driveShape.arguments.size.description, required: false },
    { name: "speed", description: driveShape.arguments.speed.description, required: false },
    {
      name: "direction",
      description: driveShape.arguments.direction.description,
      required: false,
    },
  ]);
  assert.ok(promptArguments(diagnoseConnection).every((a) => !a.required));
});

Deno.test("prompt arguments: strings parsed, defaults applied, bad values refused in one line", async (t) => {
  await t.step("strings as prompts/get sends them", () => {
    assert.deepEqual(parsePromptArguments(driveShape, { shape: " Square ", size: "0.75" }), {
      shape: "square",
      size: 0.75,
      speed: 0.3,
      direction: "right",
    });
    assert.deepEqual(
      parsePromptArguments(lightShow, { show: "pulse", rounds: "3", colour: "" }),
      { show: "pulse", rounds: 3, colour: "blue" },
      "an empty string is a value not given",
    );
    assert.deepEqual(parsePromptArguments(firstDrive, {}), {
      distance: 0.3,
      speed: 0.2,
      colour: "green",
    });
    assert.deepEqual(parsePromptArguments(diagnoseConnection, { port: " /dev/ttyUSB0 " }), {
      port: "/dev/ttyUSB0",
    });
    assert.deepEqual(parsePromptArguments(driveShape, { shape: "star", speed: 1 }).speed, 1);
  });

  const refusals: [Prompt, unknown, RegExp][] = [
    [driveShape, {}, /^prompt drive_shape: shape must be one of "square", .*, got nothing\.$/],
    [driveShape, { shape: "hexagonal" }, /shape must be one of "square", .*, got "hexagonal"/],
    [
      driveShape,
      { shape: "square", size: "big" },
      /size must be a number from 0\.2 to 3, got "big"/,
    ],
    [driveShape, { shape: "square", size: "5" }, /size must be a number from 0\.2 to 3, got 5/],
    [
      driveShape,
      { shape: "circle", speed: "0" },
      /speed must be a number from 0\.05 to 1\.5, got 0/,
    ],
    [driveShape, { shape: "square", direction: "up" }, /direction must be one of "right", "left"/],
    [driveShape, { shape: "square", sise: "1" }, /unknown argument "sise": it takes shape, size/],
    [lightShow, { rounds: "2.5" }, /rounds must be an integer from 1 to 5, got 2\.5/],
    [lightShow, { rounds: "9" }, /rounds must be an integer from 1 to 5, got 9/],
    [lightShow, { colour: "mauve" }, /colour must be one of "red", .*, got "mauve"/],
    [firstDrive, { distance: "-1" }, /distance must be a number from 0\.1 to 2, got -1/],
    [diagnoseConnection, { error: "x".repeat(2001) }, /error must be a string of 1 to 2000/],
    [diagnoseConnection, "port", /must be a JSON object .*got "port"/],
  ];
  for (const [p, raw, expected] of refusals) {
    await t.step(`${p.name} ${JSON.stringify(raw).slice(0, 60)}`, () => {
      assert.throws(() => parsePromptArguments(p, raw), (e: Error) => {
        assert.ok(e instanceof InvalidArgumentsError, String(e));
        assert.match(e.message, expected);
        assert.ok(e.message.startsWith(`prompt ${p.name}: `), e.message);
        assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
        return true;
      });
    });
  }
});

Deno.test("completions: by prefix, case-insensitive, at most 100, ports from the machine", async () => {
  assert.deepEqual(await driveShape.complete("shape", ""), SHAPE_NAMES);
  assert.deepEqual(await driveShape.complete("shape", "s"), ["square", "star"]);
  assert.deepEqual(await driveShape.complete("shape", "  SQ"), ["square"]);
  assert.deepEqual(await driveShape.complete("shape", "x"), []);
  assert.deepEqual(await driveShape.complete("size", "1"), ["1", "1.5"]);
  assert.deepEqual(await driveShape.complete("direction", "l"), ["left"]);
  assert.deepEqual(await lightShow.complete("show", ""), [...LIGHT_SHOWS]);
  assert.deepEqual(await lightShow.complete("colour", "p"), ["purple", "pink"]);
  assert.deepEqual(await firstDrive.complete("colour", "gr"), ["green"]);
  assert.deepEqual(await diagnoseConnection.complete("error", ""), [], "free text: nothing");
  await assert.rejects(
    () => driveShape.complete("colour", ""),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === 'prompt drive_shape has no argument "colour": it takes shape, size, ' +
          "speed, direction.",
  );
  // Every suggestion is a value the argument accepts.
  for (const p of PROMPTS) {
    for (const name of Object.keys(p.arguments)) {
      for (const value of await p.complete(name, "")) {
        const raw = p === driveShape && name !== "shape" ? { shape: "square" } : {};
        parsePromptArguments(p, { ...raw, [name]: value });
      }
    }
  }

  const many = Array.from({ length: 150 }, (_, i) => `/dev/ttyUSB${i}`);
  const ports = await diagnoseConnection.complete("port", "", {
    serialPorts: () => Promise.resolve(["/dev/ttyAMA0", ...many]),
  });
  assert.equal(ports.length, MAX_COMPLETIONS);
  assert.deepEqual(ports.slice(0, 3), ["sim", "/dev/ttyAMA0", "/dev/ttyUSB0"]);
  assert.deepEqual(
    await diagnoseConnection.complete("port", "/dev/ttyUSB14", {
      serialPorts: () => Promise.resolve(many),
    }),
    [
      "/dev/ttyUSB14",
      "/dev/ttyUSB140",
      "/dev/ttyUSB141",
      "/dev/ttyUSB142",
      "/dev/ttyUSB143",
      "/dev/ttyUSB144",
      "/dev/ttyUSB145",
      "/dev/ttyUSB146",
      "/dev/ttyUSB147",
      "/dev/ttyUSB148",
      "/dev/ttyUSB149",
    ],
  );
  assert.deepEqual(
    filterCompletions(["a", "A", "a", "ab"], "a"),
    ["a", "A", "ab"],
    "no duplicates",
  );

  const logs = captureLogs(["rvr", "tools"]);
  try {
    const left = await diagnoseConnection.complete("port", "", {
      serialPorts: () => Promise.reject(new Error("/dev: permission denied")),
    });
    assert.deepEqual(left, ["sim"], "a failed look-up leaves the rest");
    assert.equal(logs.length, 1);
    assert.equal(logs[0].level, "warning");
    assert.equal(logs[0].properties.error, "/dev: permission denied");
  } finally {
    resetSync();
  }
});

Deno.test("prompt texts on a Runtime over the simulated robot", async (t) => {
  const r = await rig();
  try {
    const { runtime } = r;
    await t.step("the configured port completes, with the ports seen", async () => {
      assert.deepEqual(
        await diagnoseConnection.complete("port", "", {
          robot: runtime,
          serialPorts: () => Promise.resolve(["/dev/ttyACM0"]),
        }),
        ["sim", "/dev/ttyACM0"],
        "the configured port (sim here) once",
      );
    });

    await t.step("every tool named exists, every call is one the tool accepts", () => {
      const argumentSets: [Prompt, Record<string, string>][] = [
        [firstDrive, {}],
        [firstDrive, { distance: "1", speed: "1", colour: "white" }],
        ...SHAPE_NAMES.flatMap((shape): [Prompt, Record<string, string>][] => [
          [driveShape, { shape }],
          [driveShape, { shape, size: "3", speed: "1.5", direction: "left" }],
        ]),
        ...LIGHT_SHOWS.map((show): [Prompt, Record<string, string>] => [lightShow, { show }]),
        [lightShow, { show: "pulse", rounds: "5", colour: "pink" }],
        [diagnoseConnection, {}],
        [diagnoseConnection, { port: "/dev/ttyUSB0", error: 'Circuit "robot" is open' }],
      ];
      const named = new Set<string>();
      for (const [p, raw] of argumentSets) {
        for (const m of mentions(textOf(p, raw, runtime))) named.add(m.name);
        checkTools(`${p.name} ${JSON.stringify(raw)}`, textOf(p, raw, runtime));
      }
      for (const never of ["drive_raw_motors", "drive_tank", "drive_rc", "drive_with_heading"]) {
        const shape = textOf(driveShape, { shape: "square" }, runtime);
        const calls = mentions(shape).filter((m) => m.name === never);
        assert.equal(calls.length, 1, `${never} is named once, as what not to use`);
        assert.equal(calls[0].args, undefined, `${never} is never called`);
        assert.match(shape, new RegExp(`Never use .*\`${never}\``));
      }
      assert.ok(named.size >= 15, `the prompts use much of the catalog: ${[...named]}`);
    });

    await t.step("live facts: simulated, speed limit, watchdog, e-stop, battery", async () => {
      let text = textOf(firstDrive, {}, runtime);
      assert.match(text, /connected to the built-in simulated RVR \(nothing real moves/);
      assert.match(text, /speed limit 50 % \(moves faster than 0\.78 m\/s are slowed to it\)/);
      assert.match(text, /the watchdog stops the robot 5 s after the last movement command/);
      assert.match(text, /the emergency stop is not latched; battery 100 % \(ok\)\./);
      await r.settle(callTool(getBatteryStatus, runtime, {}, context()));
      runtime.safety.setSpeedLimitPercent(10);
      runtime.safety.setCommandTimeoutS(0);
      await r.settle(runtime.rvr.emergencyStop("tool", { reason: "test stop" }));
      text = textOf(driveShape, { shape: "square", speed: "0.3" }, runtime);
      assert.match(text, /speed limit 10 % \(moves faster than 0\.16 m\/s/);
      assert.match(text, /0\.3 m\/s is above the speed limit, so the moves run at 0\.16 m\/s/);
      assert.match(text, /the watchdog is off/);
      assert.match(text, /the emergency stop is LATCHED \(test stop\)/);
      assert.match(text, /battery \d+ % \(ok\)/);
      assert.doesNotMatch(textOf(driveShape, { shape: "square", speed: "0.1" }, runtime), /above/);
      runtime.rvr.clearEmergencyStop("test");
      runtime.safety.setSpeedLimitPercent(50);
      runtime.safety.setCommandTimeoutS(5);
    });

    await t.step("the light show: its calls are the LED packets on the wire", async () => {
      const calls = checkTools(
        "light_show",
        textOf(lightShow, { show: "rainbow", rounds: "2" }, runtime),
      );
      assert.equal(calls.length, 13, "6 colours twice, then off");
      const before = r.robot.wire.received("set_all_leds").length;
      const results = await follow(r, calls);
      assert.equal(r.robot.wire.received("set_all_leds").length - before, 13);
      assert.deepEqual(results.at(-1)?.channels_off, 31);
    });
  } finally {
    await r.close();
  }
});

type ToolRig = Awaited<ReturnType<typeof rig>>;

const SHAPES: Record<string, string>[] = [
  { shape: "square", size: "0.5" },
  { shape: "star", size: "0.4", direction: "left" },
  { shape: "circle", size: "0.6", speed: "0.5" },
];

/** Follows drive_shape `raw` on `r`: it ends at its start (the reset origin), facing heading 0. */
async function followShape(r: ToolRig, raw: Record<string, string>): Promise<void> {
  const calls = checkTools("drive_shape", textOf(driveShape, raw, r.runtime));
  assert.deepEqual(calls.slice(0, 2).map((c) => c.name), ["reset_locator", "reset_yaw"]);
  assert.ok(
    calls.slice(2).every((c) => c.name === "drive_forward" || c.name === "pivot"),
    "timed moves only",
  );
  const drivesBefore = r.robot.wire.received("drive_to_position_si").length;
  const results = await follow(r, calls);
  const pose = results.at(-1)?.pose as { x_m: number; y_m: number; heading_deg: number };
  assert.ok(Math.hypot(pose.x_m, pose.y_m) < 0.05, `home: ${JSON.stringify(pose)}`);
  const off = Math.min(pose.heading_deg, 360 - pose.heading_deg);
  assert.ok(off < 1.5, `facing the start heading: ${pose.heading_deg}`);
  const moved = r.robot.wire.received("drive_to_position_si").length - drivesBefore;
  assert.equal(moved, calls.filter((c) => c.name === "drive_forward").length);
  assert.equal(r.robot.wire.received("raw_motors").length, 0, "never raw motors");
}

/** Follows first_drive on `r`: 0.5 m out along the reset heading, back home, facing it. */
async function followFirstDrive(r: ToolRig): Promise<void> {
  const calls = checkTools("first_drive", textOf(firstDrive, { distance: "0.5" }, r.runtime));
  assert.deepEqual(calls.map((c) => c.name), [
    "get_battery_status",
    "set_all_leds",
    "reset_yaw",
    "reset_locator",
    "drive_forward",
    "pivot",
    "drive_forward",
    "pivot",
  ]);
  const results = await follow(r, calls);
  const out = results[4].pose as { x_m: number; y_m: number };
  assert.ok(Math.abs(out.y_m - 0.5) < 0.03, `drove 0.5 m out: ${JSON.stringify(out)}`);
  assert.ok(
    Math.abs(out.x_m) < 0.03,
    `straight ahead of the reset heading: ${JSON.stringify(out)}`,
  );
  const end = results.at(-1)?.pose as { x_m: number; y_m: number; heading_deg: number };
  assert.ok(Math.hypot(end.x_m, end.y_m) < 0.05, `back home: ${JSON.stringify(end)}`);
  assert.ok(Math.min(end.heading_deg, 360 - end.heading_deg) < 1.5, `${end.heading_deg}`);
}

Deno.test("plans followed call by call on the simulator end where they started", async (t) => {
  for (const raw of SHAPES) {
    await t.step(`drive_shape ${raw.shape}`, async () => {
      const r = await rig();
      try {
        await followShape(r, raw);
      } finally {
        await r.close();
      }
    });
  }

  await t.step("first_drive: out, back, facing the start", async () => {
    const r = await rig();
    try {
      await followFirstDrive(r);
    } finally {
      await r.close();
    }
  });

  await t.step("one after another on a robot that has already moved and turned", async () => {
    const r = await rig();
    try {
      // Away from the power-on frame: turned 30 deg right, 0.3 m along that, then 100 deg left.
      await r.call("pivot", { degrees: 30 });
      await r.call("drive_forward", { distance: 0.3 });
      await r.call("pivot", { degrees: -100 });
      const world = () => r.robot.sim.body.worldPose;
      const before = world();
      assert.ok(Math.hypot(before.x, before.y) > 0.25, "moved away from the power-on origin");
      await followFirstDrive(r);
      for (const raw of SHAPES) await followShape(r, raw);
      // Every plan ended where it started: where the robot stood before the first of them.
      const after = world();
      assert.ok(
        Math.hypot(after.x - before.x, after.y - before.y) < 0.1,
        `back where the plans began: ${JSON.stringify({ before, after })}`,
      );
    } finally {
      await r.close();
    }
  });
});

/** README's Troubleshooting table: the first column of each row, without its backticks. */
async function readmeRows(): Promise<string[]> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.split("\n## Troubleshooting\n")[1].split("\n## ")[0];
  return section.split("\n")
    .filter((line) => /^\| `/.test(line))
    .map((line) => line.split(" | ")[0].replace(/^\| `/, "").replace(/`\s*$/, ""));
}

Deno.test("diagnose_connection walks README's Troubleshooting table", async (t) => {
  await t.step(
    "its rows are the table's, in order, and each pattern finds its message",
    async () => {
      const rows = await readmeRows();
      assert.ok(rows.length >= 16, `the table has its rows: ${rows.length}`);
      assert.deepEqual(TROUBLESHOOTING.map((row) => row.message), rows);
      for (const row of TROUBLESHOOTING) {
        const real = row.message.replaceAll("/dev/\u2026", "/dev/ttyAMA0").replaceAll(
          "\u2026",
          "x y",
        )
          .replace("5000", "2000");
        assert.equal(matchingRow(`tool error: ${real}. More text.`), row, real);
        assert.ok(rowPattern(row).test(real));
        for (const m of mentions(row.action)) assert.ok(TOOLS.has(m.name), m.name);
      }
      assert.equal(matchingRow("something else entirely"), undefined);
    },
  );

  await t.step("the error the person saw is matched to its row", async () => {
    const r = await rig({ connect: false });
    try {
      const text = textOf(diagnoseConnection, {
        error: "Permission denied opening serial port /dev/ttyUSB0 (EACCES).",
        port: "/dev/ttyUSB0",
      }, r.runtime);
      assert.match(
        text,
        /It matches the row "Permission denied opening serial port \/dev\/\u2026": /,
      );
      assert.ok(text.includes('`connect {"port":"/dev/ttyUSB0"}`'));
      const unknown = textOf(diagnoseConnection, { error: "Something odd" }, r.runtime);
      assert.match(unknown, /It matches no row of the table/);
      assert.match(textOf(diagnoseConnection, {}, r.runtime), /No error is recorded/);
    } finally {
      await r.close();
    }
  });

  await t.step("a silent robot: the connection's own error picks the row", async () => {
    const r = await rig({ connect: false, sim: { faults: { silentAfterPackets: 0 } } });
    try {
      const error = await r.settle(r.runtime.connection.connect().then(() => undefined, (e) => e));
      assert.ok(error instanceof Error, "the connect failed");
      const text = textOf(diagnoseConnection, {}, r.runtime);
      assert.match(
        text,
        /The error to diagnose: "No answer from an RVR on memory:\S+ within 2000 ms/,
      );
      assert.match(text, /last error: No answer from an RVR on memory:\S+ within 2000 ms\.\);/);
      assert.match(text, /battery not read yet\./);
      assert.match(
        text,
        /It matches the row "No answer from an RVR on \/dev\/\u2026 within 5000 ms"/,
      );
      assert.match(text, /Right now: the robot is error \(port sim; last error: No answer/);
      const calls = checkTools("diagnose_connection", text);
      assert.deepEqual(calls.map((c) => c.name), [
        "get_connection_status",
        "connect",
        "get_system_info",
        "get_battery_status",
      ]);
    } finally {
      await r.close();
    }
  });
});

Deno.test("README's Prompts table lists every prompt with its arguments", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.split("\n### Prompts\n")[1].split("\n## ")[0];
  const rows = section.split("\n").filter((line) => /^\| `/.test(line));
  assert.deepEqual(rows.map((row) => row.split("`")[1]), PROMPT_NAMES);
  for (const [i, p] of PROMPTS.entries()) {
    for (const name of Object.keys(p.arguments)) {
      assert.ok(rows[i].includes(`\`${name}\``), `README names ${p.name}'s ${name}`);
    }
  }
});
