/** README.md stays true: its commands exist, its settings table is complete, its messages are real. */
import assert from "node:assert/strict";
import { OPTIONS } from "../src/config.ts";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));

async function sourceText(dir: URL): Promise<string> {
  let out = "";
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) out += await sourceText(url);
    else if (entry.name.endsWith(".ts")) out += await Deno.readTextFile(url);
  }
  return out;
}

Deno.test("README: the quick start's two commands are tasks, and CI runs the test command", async () => {
  const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Talking"));
  const commands = [...quickStart.matchAll(/^deno task (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(commands, ["start", "test"]);
  for (const task of commands) assert.ok(denoJson.tasks[task], `deno.json has task ${task}`);
  const ci = await Deno.readTextFile(new URL(".ci/run", root));
  assert.match(ci, /^deno task test\b/m, ".ci/run runs README's test command");
  for (const m of readme.matchAll(/`deno task ([\w:]+)/g)) {
    assert.ok(denoJson.tasks[m[1]], `README mentions task ${m[1]}, which deno.json defines`);
  }
});

Deno.test("README: every setting is in the settings table with its flag", () => {
  for (const o of Object.values(OPTIONS)) {
    assert.match(readme, new RegExp(`\\|\\s*\`${o.env}\`\\s*\\|\\s*\`--${o.flag}\`\\s*\\|`), o.env);
  }
});

Deno.test("README: the troubleshooting messages are the program's own", async () => {
  const src = await sourceText(new URL("src/", root));
  const table = readme.slice(
    readme.indexOf("| message starts with"),
    readme.indexOf("## What keeps"),
  );
  const rows = [...table.matchAll(/^\|\s*`([^`]+)`\s*\|/gm)].map((m) => m[1]);
  assert.ok(rows.length >= 5);
  for (const row of rows) {
    // The fixed words of the message (paths and numbers vary) must appear in the source.
    for (const words of row.split(/\/dev\/\u2026|\u2026|\d+ ms|RVR_\u2026=/).map((w) => w.trim())) {
      if (words.length < 4) continue;
      assert.ok(src.includes(words), `"${words}" (from "${row}") is in src/`);
    }
  }
});
