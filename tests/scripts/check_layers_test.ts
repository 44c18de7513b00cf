/** The layer check's rules on small in-memory modules, its scanner, and a real tree on disk. */
import assert from "node:assert/strict";
import { scanCode, wordsOf } from "../../scripts/_code_scan.ts";
import {
  type AllowlistEntry,
  applyAllowlist,
  checkLayers,
  findViolations,
  formatViolation,
  type ImportEdge,
  layerOf,
  type ModuleInput,
  privateScope,
  type Violation,
} from "../../scripts/_layer_rules.ts";
import { checkTree } from "../../scripts/check_layers.ts";

/** A module at `path` importing each target (one per line, from line 1) with `source` as its text. */
function mod(path: string, targets: string[] = [], source = ""): ModuleInput {
  const imports: ImportEdge[] = targets.map((target, i) => ({
    specifier: target,
    target,
    line: i + 1,
  }));
  return { path, source, imports };
}

function rulesOf(violations: Violation[]): string[] {
  return violations.map((v) => `${v.file}:${v.line} ${v.rule} ${v.subject}`);
}

Deno.test("layers: each path maps to its layer, composition files to composition", () => {
  assert.equal(layerOf("src/protocol/commands/drive.ts"), "protocol");
  assert.equal(layerOf("src/sim/simulated_rvr.ts"), "sim");
  assert.equal(layerOf("src/http/auth.ts"), "http");
  assert.equal(layerOf("main.ts"), "composition");
  assert.equal(layerOf("src/config.ts"), "composition");
  assert.equal(layerOf("src/logging.ts"), "composition");
  assert.equal(layerOf("src/helpers.ts"), undefined);
  assert.equal(layerOf("src/composition/x.ts"), undefined);
  assert.equal(layerOf("tests/x_test.ts"), undefined);
});

Deno.test("arrows: the ones DESIGN allows pass, every upward or sideways one fails", async (t) => {
  const cases: [from: string, to: string, ok: boolean][] = [
    ["src/link/a.ts", "src/protocol/mod.ts", true],
    ["src/link/a.ts", "src/core/mod.ts", true],
    ["src/sim/a.ts", "src/protocol/mod.ts", true],
    ["src/sim/a.ts", "src/core/mod.ts", true],
    ["src/robot/a.ts", "src/link/mod.ts", true],
    ["src/telemetry/a.ts", "src/robot/mod.ts", true],
    ["src/tools/a.ts", "src/telemetry/mod.ts", true],
    ["src/mcp/a.ts", "src/tools/mod.ts", true],
    ["src/http/a.ts", "src/robot/mod.ts", true],
    ["src/fleet/a.ts", "src/core/mod.ts", true],
    ["src/protocol/a.ts", "src/protocol/b.ts", true],
    ["main.ts", "src/sim/mod.ts", true],
    ["main.ts", "deno.json", true],
    ["src/robot/a.ts", "npm:zod@^4.1.0", true],
    ["src/core/a.ts", "node:process", true],
    ["src/protocol/a.ts", "src/robot/mod.ts", false],
    ["src/protocol/a.ts", "src/core/mod.ts", false],
    ["src/core/a.ts", "src/protocol/mod.ts", false],
    ["src/sim/a.ts", "src/link/mod.ts", false],
    ["src/sim/a.ts", "src/robot/mod.ts", false],
    ["src/link/a.ts", "src/robot/mod.ts", false],
    ["src/link/a.ts", "src/sim/mod.ts", false],
    ["src/robot/a.ts", "src/telemetry/mod.ts", false],
    ["src/robot/a.ts", "src/sim/mod.ts", false],
    ["src/telemetry/a.ts", "src/tools/mod.ts", false],
    ["src/tools/a.ts", "src/mcp/mod.ts", false],
    ["src/http/a.ts", "src/mcp/http.ts", false],
    ["src/mcp/a.ts", "src/http/server.ts", false],
    ["src/fleet/a.ts", "src/mcp/mod.ts", false],
    ["src/mcp/a.ts", "src/sim/mod.ts", false],
  ];
  for (const [from, to, ok] of cases) {
    await t.step(`${from} -> ${to}: ${ok ? "allowed" : "refused"}`, () => {
      const found = findViolations([mod(from, [to])]);
      if (ok) assert.deepEqual(found, []);
      else {
        assert.deepEqual(rulesOf(found), [`${from}:1 layer-arrow ${to}`]);
        assert.match(
          found[0].message,
          new RegExp(`^${layerOf(from)} -> ${layerOf(to)} \\(${to}\\)`),
        );
      }
    });
  }
});

Deno.test("arrows: mcp, http and fleet share exactly one auth module", () => {
  for (const from of ["src/mcp/http.ts", "src/fleet/gateway.ts", "src/http/server.ts"]) {
    assert.deepEqual(findViolations([mod(from, ["src/http/auth.ts"])]), [], from);
  }
  // Not for the layers below, and no other module of http.
  assert.deepEqual(rulesOf(findViolations([mod("src/tools/a.ts", ["src/http/auth.ts"])])), [
    "src/tools/a.ts:1 layer-arrow src/http/auth.ts",
  ]);
  assert.deepEqual(rulesOf(findViolations([mod("src/mcp/a.ts", ["src/http/mod.ts"])])), [
    "src/mcp/a.ts:1 layer-arrow src/http/mod.ts",
  ]);
});

Deno.test("arrows: the MCP App's page (src/mcp/app/) reuses the dashboard's page files, nothing else does", () => {
  const page = ["src/http/dashboard/view.ts", "src/http/dashboard/index.html"];
  assert.deepEqual(findViolations([mod("src/mcp/app/main.ts", page)]), []);
  // Not the rest of mcp, not the dashboard's server side, not another layer.
  assert.deepEqual(rulesOf(findViolations([mod("src/mcp/server.ts", page)])), [
    "src/mcp/server.ts:1 layer-arrow src/http/dashboard/view.ts",
    "src/mcp/server.ts:2 layer-arrow src/http/dashboard/index.html",
  ]);
  assert.deepEqual(rulesOf(findViolations([mod("src/mcp/app/page.ts", ["src/http/server.ts"])])), [
    "src/mcp/app/page.ts:1 layer-arrow src/http/server.ts",
  ]);
  assert.deepEqual(rulesOf(findViolations([mod("src/fleet/a.ts", page)])), [
    "src/fleet/a.ts:1 layer-arrow src/http/dashboard/view.ts",
    "src/fleet/a.ts:2 layer-arrow src/http/dashboard/index.html",
  ]);
});

Deno.test("arrows: the HTTP servers also share the bounded-body module, and nothing else of http", () => {
  for (const from of ["src/mcp/http.ts", "src/fleet/gateway.ts", "src/http/server.ts"]) {
    assert.deepEqual(findViolations([mod(from, ["src/http/body_limit.ts"])]), [], from);
  }
  assert.deepEqual(rulesOf(findViolations([mod("src/tools/a.ts", ["src/http/body_limit.ts"])])), [
    "src/tools/a.ts:1 layer-arrow src/http/body_limit.ts",
  ]);
  assert.deepEqual(rulesOf(findViolations([mod("src/mcp/a.ts", ["src/http/server.ts"])])), [
    "src/mcp/a.ts:1 layer-arrow src/http/server.ts",
  ]);
});

Deno.test("composition: layers never import main.ts, the config or logging; nothing outside src", () => {
  const found = findViolations([
    mod("src/tools/connection.ts", ["src/config.ts", "src/logging.ts", "main.ts"]),
    mod("src/robot/a.ts", ["shared/rvr-vectors.json", "bench/gate.ts"]),
  ]);
  assert.deepEqual(rulesOf(found), [
    "src/robot/a.ts:1 outside-src shared/rvr-vectors.json",
    "src/robot/a.ts:2 outside-src bench/gate.ts",
    "src/tools/connection.ts:1 composition-import src/config.ts",
    "src/tools/connection.ts:2 composition-import src/logging.ts",
    "src/tools/connection.ts:3 composition-import main.ts",
  ]);
  assert.match(found[2].message, /only main\.ts composes/);
});

Deno.test("unknown layer: a file outside the picture is reported once", () => {
  const found = findViolations([mod("src/utils/x.ts", ["src/core/mod.ts", "src/robot/mod.ts"])]);
  assert.deepEqual(rulesOf(found), ["src/utils/x.ts:1 unknown-layer src/utils/x.ts"]);
  assert.match(found[0].message, /is in no layer: put it in src\/<protocol\|core\|/);
});

Deno.test("private files: a _ file or folder is its folder's, subfolders included", () => {
  assert.equal(privateScope("src/mcp/_tool.ts"), "src/mcp/");
  assert.equal(privateScope("src/sim/_session/state.ts"), "src/sim/");
  assert.equal(privateScope("src/sim/world.ts"), undefined);
  const found = findViolations([
    mod("src/mcp/tools/leds.ts", ["src/mcp/_tool.ts"]),
    mod("src/protocol/commands/mod.ts", ["src/protocol/_field_codec.ts"]),
    mod("src/protocol/packet.ts", ["src/protocol/commands/_types.ts"]),
    mod("src/http/server.ts", ["src/mcp/_status.ts"]),
    mod("src/robot/a.ts", ["src/link/_pending.ts", "src/link/sub/_x.ts"]),
  ]);
  assert.deepEqual(rulesOf(found), [
    "src/http/server.ts:1 layer-arrow src/mcp/_status.ts",
    "src/http/server.ts:1 private-import src/mcp/_status.ts",
    "src/protocol/packet.ts:1 private-import src/protocol/commands/_types.ts",
    "src/robot/a.ts:1 private-import src/link/_pending.ts",
    "src/robot/a.ts:2 private-import src/link/sub/_x.ts",
  ]);
  assert.match(found[3].message, /private to src\/link\/; import it through src\/link\/mod\.ts/);
});

Deno.test("unresolved imports are reported with the resolver's words", () => {
  const found = findViolations([{
    path: "src/robot/a.ts",
    source: "",
    imports: [{
      specifier: "./gone.ts",
      target: "src/robot/gone.ts",
      line: 3,
      error: "Module not found",
    }],
  }]);
  assert.deepEqual(rulesOf(found), ["src/robot/a.ts:3 unresolved-import src/robot/gone.ts"]);
  assert.match(found[0].message, /\.\/gone\.ts: Module not found; fix the path\./);
});

Deno.test("Deno.*: only in the adapters", () => {
  const source = 'const f = await Deno.open("x");\nconst env = globalThis.Deno.env;\n';
  const found = findViolations([
    mod("src/robot/recorder.ts", [], source),
    mod("src/core/clock.ts", [], "export const t: Deno.NetAddr | undefined = undefined;\n"),
    mod("src/link/tty_port.ts", [], source),
    mod("src/http/server.ts", [], source),
    mod("main.ts", [], source),
    mod("src/telemetry/recorder.ts", [], source),
  ]);
  assert.deepEqual(rulesOf(found), [
    "src/core/clock.ts:1 deno-outside-adapter Deno.*",
    "src/robot/recorder.ts:1 deno-outside-adapter Deno.*",
    "src/robot/recorder.ts:2 deno-outside-adapter Deno.*",
  ]);
  assert.match(found[1].message, /^Deno\.open in robot: only the adapters \(main\.ts, /);
  assert.match(found[2].message, /^Deno\.env in robot/);
});

Deno.test("robot words: none in core's code, comments free, the log category root exempt", () => {
  const core = [
    "// The queue serves the robot's commands (prose may say so).",
    'const log = getLogger(["rvr", "core"]);',
    "export const BATTERY_STATES = [1];",
    'throw new Error("check the robot and the robot\'s cable");',
    "const rvrName = 1;",
  ].join("\n");
  const found = findViolations([
    mod("src/core/x.ts", [], core),
    mod("src/link/x.ts", [], "const robot = 1; const BATTERY = 2;"),
  ]);
  assert.deepEqual(rulesOf(found), [
    "src/core/x.ts:3 robot-word-in-core battery",
    "src/core/x.ts:4 robot-word-in-core robot",
    "src/core/x.ts:5 robot-word-in-core rvr",
  ]);
  assert.match(found[1].message, /^"robot" \(2x\) in core: core is robot-agnostic/);
});

Deno.test("computed import() cannot be followed and is reported", () => {
  const found = findViolations([
    mod("src/robot/a.ts", [], 'await import(name);\nawait import("./b.ts");\nx.import(y);\n'),
  ]);
  assert.deepEqual(rulesOf(found), ["src/robot/a.ts:1 computed-import import()"]);
});

Deno.test("allowlist: covers exactly its entry, and an entry that matches nothing is an error", () => {
  const modules = [
    mod("src/mcp/tools/connection.ts", ["src/config.ts", "src/sim/mod.ts"]),
    mod("src/robot/recorder.ts", [], "Deno.open('x');"),
  ];
  const allowlist: AllowlistEntry[] = [
    {
      file: "src/mcp/tools/connection.ts",
      rule: "composition-import",
      subject: "src/config.ts",
      why: "test",
    },
    { file: "src/robot/recorder.ts", rule: "deno-outside-adapter", subject: "Deno.*", why: "test" },
    { file: "src/core/state.ts", rule: "robot-word-in-core", subject: "battery", why: "fixed" },
  ];
  const left = checkLayers(modules, allowlist);
  assert.deepEqual(rulesOf(left), [
    "src/mcp/tools/connection.ts:2 layer-arrow src/sim/mod.ts",
    "src/core/state.ts:1 stale-allowlist battery",
  ]);
  assert.match(left[1].message, /matches nothing any more: remove it from ALLOWLIST/);
  assert.deepEqual(applyAllowlist([], []), []);
});

Deno.test("output: one line per violation with file:line, rule and the arrow", () => {
  const [v] = findViolations([
    mod("src/protocol/packet.ts", ["src/protocol/constants.ts", "src/robot/mod.ts"]),
  ]);
  assert.equal(
    formatViolation(v),
    "src/protocol/packet.ts:2: layer-arrow: protocol -> robot (src/robot/mod.ts): protocol may " +
      "import nothing of ours; dependencies point down only.",
  );
});

Deno.test("scanner: Deno and words only from code, through comments, strings, templates, regexes", () => {
  const source = [
    "// Deno.exit(1) in a comment",
    "/* Deno.open",
    "   still a comment */ const a = 1;",
    'const s = "Deno.env is prose here"; const q = \'it\\\'s "Deno.x"\';',
    'const re = /[/"]Deno\\/x/g; const half = a / 2 / a;',
    "const t = `text Deno.no ${Deno.build.os} more ${`${inner}`} Deno.not`;",
    "const obj = { k: other.Deno, n: [...items] };",
    "if (x) Deno.exit(0);",
  ].join("\n");
  const scan = scanCode(source);
  assert.deepEqual(scan.denoUses, [{ line: 6, text: "Deno.build" }, {
    line: 8,
    text: "Deno.exit",
  }]);
  assert.deepEqual(scan.computedImports, []);
  const literal = scan.words.filter((w) => w.literal !== undefined).map((w) => w.literal);
  assert.ok(literal.includes("Deno.env is prose here"));
  assert.deepEqual(wordsOf("linkRobotErrorsTotal BATTERY_STATES rvr_link_bytes HTTPServer"), [
    "link",
    "robot",
    "errors",
    "total",
    "battery",
    "states",
    "rvr",
    "link",
    "bytes",
    "http",
    "server",
  ]);
});

Deno.test("a real tree on disk: Deno's module graph, a wrong import found, a clean one passes", async () => {
  const root = await Deno.makeTempDir({ prefix: "check_layers_" });
  try {
    const write = async (path: string, text: string) => {
      await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/") + 1) || "."}`, {
        recursive: true,
      });
      await Deno.writeTextFile(`${root}/${path}`, text);
    };
    await write("src/core/mod.ts", "export const queue = 1;\n");
    await write(
      "src/robot/mod.ts",
      'import { queue } from "../core/mod.ts";\nexport const r = queue;\n',
    );
    await write(
      "src/protocol/mod.ts",
      '// the codec\nexport type { r } from "../robot/mod.ts";\nexport const p = 2;\n',
    );
    await write("src/sim/_session.ts", "export const s = 3;\n");
    await write("src/sim/mod.ts", 'export { s } from "./_session.ts";\n');
    await write(
      "main.ts",
      'import { p } from "./src/protocol/mod.ts";\nimport { s } from "./src/sim/mod.ts";\n' +
        "console.log(p, s, Deno.args);\n",
    );
    const wrong = await checkTree(root, []);
    assert.equal(wrong.files, 6);
    assert.deepEqual(wrong.lines, [
      "src/protocol/mod.ts:2: layer-arrow: protocol -> robot (src/robot/mod.ts): protocol may " +
      "import nothing of ours; dependencies point down only.",
    ]);

    await write("src/protocol/mod.ts", "export const p = 2;\n");
    await write("src/robot/late.ts", 'export const late = await import("../sim/_session.ts");\n');
    await write("src/robot/lost.ts", 'export { gone } from "./gone.ts";\n');
    const late = await checkTree(root, []);
    assert.deepEqual(late.lines.map((l) => l.split(": ").slice(0, 2).join(": ")), [
      "src/robot/late.ts:1: layer-arrow",
      "src/robot/late.ts:1: private-import",
      "src/robot/lost.ts:1: unresolved-import",
    ]);
    assert.match(
      late.lines[2],
      /\.\/gone\.ts: Module not found "file:.*gone\.ts"; fix the path\.$/,
    );

    await Deno.remove(`${root}/src/robot/late.ts`);
    await Deno.remove(`${root}/src/robot/lost.ts`);
    assert.deepEqual(await checkTree(root, []), { files: 6, lines: [] });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
