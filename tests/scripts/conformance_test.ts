/** The conformance step's summary parser and its baseline file's shape. */
import assert from "node:assert/strict";
import { REVISIONS, scenarioCounts, SUITE } from "../../scripts/conformance.ts";

Deno.test("conformance: the suite's scenario lines become counts, colour codes and all", () => {
  const output = [
    "Running requirements 2026-07-28 (50 scenarios) against http://127.0.0.1:1/mcp",
    "\x1b[32m\u2713 tools-list: 4 passed, 0 failed\x1b[0m",
    "\u2717 server-stateless: 24 passed, 4 failed",
    "\u2713 tasks-status-notifications: 0 passed, 0 failed",
    "Total: 28 passed, 4 failed",
  ].join("\n");
  assert.deepEqual(scenarioCounts(output), [
    { scenario: "tools-list", passed: 4, failed: 0 },
    { scenario: "server-stateless", passed: 24, failed: 4 },
    { scenario: "tasks-status-notifications", passed: 0, failed: 0 },
  ]);
  assert.deepEqual(scenarioCounts("no table here"), []);
});

Deno.test("conformance: a pinned suite, both eras, a baseline of single checks each with its reason", () => {
  assert.match(SUITE, /^npm:@modelcontextprotocol\/conformance@\d+\.\d+\.\d+/, "a pinned version");
  assert.deepEqual([...REVISIONS], ["2025-11-25", "2026-07-28"]);
  const text = Deno.readTextFileSync(
    new URL("../conformance/expected-failures.yaml", import.meta.url),
  );
  const lines = text.split("\n");
  assert.equal(lines.filter((l) => /^\S/.test(l) && !l.startsWith("#")).join(), "server:");
  const entries = lines.filter((l) => l.startsWith("  - ")).map((l) => l.slice(4));
  assert.ok(entries.length > 0);
  for (const entry of entries) {
    // `scenario:check`, never a whole scenario (that would excuse its other checks), and never
    // `scenario: check` (YAML for a mapping, which the suite rejects).
    assert.match(entry, /^[a-z0-9-]+:[a-z0-9-]+$/, entry);
  }
  assert.equal(new Set(entries).size, entries.length, "no entry twice");
  // Each group of entries has its reason above it: the fixture it needs.
  let reason = "";
  let inEntries = false;
  for (const line of lines.slice(lines.indexOf("server:") + 1)) {
    if (line.startsWith("  # ")) {
      if (inEntries) reason = "";
      inEntries = false;
      reason += line;
    } else if (line.startsWith("  - ")) {
      inEntries = true;
      assert.match(reason, /needs? the|diagnostic tools/, `the reason for ${line.trim()}`);
    }
  }
});
