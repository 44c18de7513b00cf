/**
 * The program's V8 flags (README "Memory") are one setting: `deno task start` holds them, and every
 * other way the program starts must carry the same ones, or the memory the fan-out bench measures
 * is not the memory users get. The flags themselves are exercised by every e2e run (spawnMain and
 * the bundle test pass them; V8 refuses a flag it does not know).
 */
import assert from "node:assert/strict";
import { denoTasks, programV8Flags, ROOT } from "./e2e/_process.ts";
import { DEFAULT_ENTRY, DEFAULT_OUT } from "../scripts/bundle.ts";

const read = (path: string) => Deno.readTextFileSync(`${ROOT}${path}`);

Deno.test("the program's V8 flags: one setting, in every way the program starts", async (t) => {
  const flags = programV8Flags();
  const tasks = denoTasks();

  await t.step("they are memory settings V8 takes, comma-separated in one argument", () => {
    assert.match(flags, /^--v8-flags=--[a-z-]+(=\d+)?(,--[a-z-]+(=\d+)?)*$/);
  });

  await t.step("the compile tasks compile the bundle with them", () => {
    for (const name of ["compile", "compile:pi"]) {
      const task = tasks[name];
      assert.match(task, /^deno task bundle && deno compile /, `${name} builds the bundle first`);
      assert.ok(task.split(/\s+/).includes(flags), `${name} bakes in ${flags}: ${task}`);
      assert.ok(task.endsWith(" dist/rvr-mcp.js"), `${name} compiles dist/rvr-mcp.js: ${task}`);
    }
    assert.equal(tasks.bundle, "deno run -A scripts/bundle.ts");
    assert.deepEqual([DEFAULT_ENTRY, DEFAULT_OUT], ["main.ts", "dist/rvr-mcp.js"]);
  });

  await t.step("deploy/rvr-mcp runs the bundle with them", () => {
    const exec = read("deploy/rvr-mcp").split("\n").find((l) => l.startsWith("exec deno run"));
    assert.equal(exec, `exec deno run -A ${flags} "$here/rvr-mcp.js" "$@"`);
  });

  await t.step("the Claude Desktop config (deploy/ and README) runs the bundle with them", () => {
    const config = JSON.parse(read("deploy/claude_desktop_config.json"));
    // A desktop app does not see the shell's PATH: Deno by its absolute path.
    assert.match(config.mcpServers["rvr-local"].command, /^\/.*\/deno$/);
    assert.deepEqual(config.mcpServers["rvr-local"].args, [
      "run",
      "-A",
      flags,
      "/path/to/rvr-mcp/dist/rvr-mcp.js",
    ]);
    const readme = read("README.md");
    const block = /```json\n(\{\n {2}"mcpServers"[\s\S]*?)```/.exec(readme);
    assert.ok(block, "README shows the Claude Desktop config");
    assert.deepEqual(JSON.parse(block[1]), config, "README's config is deploy/'s");
  });

  await t.step("the Claude Code line (deploy/ and README) runs the bundle with them", () => {
    const line = `deno run -A ${flags} /path/to/rvr-mcp/dist/rvr-mcp.js`;
    assert.ok(read("deploy/claude_code.sh").includes(`-- ${line}`));
    assert.ok(read("README.md").includes(`-- ${line}`));
  });
});
