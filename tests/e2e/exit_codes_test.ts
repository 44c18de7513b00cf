/**
 * Every configuration error ends the program with exit code 2 and one line on stderr that names
 * the setting and the fix. deploy/rvr-mcp.service does not restart on 2
 * (RestartPreventExitStatus=2): a service that cannot start as configured must stop and say why
 * in the journal, not restart every few seconds.
 */
import assert from "node:assert/strict";
import { spawnMain } from "./_process.ts";

/** Runs the program to its end with stdin closed; its exit code and non-empty output lines. */
async function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const { child, stdout, stderr } = spawnMain(args, env);
  await child.stdin.close();
  const status = await child.status;
  await Promise.all([stdout.done, stderr.done]);
  const lines = (l: string[]) => l.filter((x) => x.trim() !== "");
  return { code: status.code, stdout: lines(stdout.lines), stderr: lines(stderr.lines) };
}

/** The message of a stderr line: a JSON log record's, or the line itself (before logging starts). */
function message(line: string): string {
  return line.startsWith("{") ? JSON.parse(line).message : line;
}

const CASES: { what: string; args?: string[]; env: Record<string, string>; says: RegExp }[] = [
  {
    what: "MCP over HTTP on every interface without RVR_API_KEY (the env example as shipped)",
    env: { RVR_MCP_HTTP_PORT: "0", RVR_HTTP_HOST: "0.0.0.0", RVR_API_KEY: "" },
    says: /^Refusing to serve MCP over HTTP on 0\.0\.0\.0 without RVR_API_KEY.*Set RVR_API_KEY/,
  },
  {
    what: "a short RVR_API_KEY",
    env: { RVR_MCP_HTTP_PORT: "0", RVR_HTTP_HOST: "0.0.0.0", RVR_API_KEY: "short" },
    says: /^Invalid RVR_API_KEY=<5 characters, not shown>: allowed is a string of at least 16/,
  },
  {
    what: "the side port on every interface without RVR_API_KEY",
    env: { RVR_HTTP_PORT: "0", RVR_HTTP_HOST: "0.0.0.0" },
    says: /^Refusing to serve the side port .* RVR_HTTP_HOST=0\.0\.0\.0 without RVR_API_KEY/,
  },
  {
    what: "a telemetry file in a directory that does not exist",
    env: { RVR_TELEMETRY_FILE: "/nonexistent-rvr-dir/telemetry.jsonl" },
    says:
      /^Cannot open the telemetry file \/nonexistent-rvr-dir\/telemetry\.jsonl .*does not exist/,
  },
  {
    what: "HTTP-only without an HTTP port",
    env: { RVR_MCP_STDIO: "false" },
    says: /^RVR_MCP_STDIO=false leaves no way to reach the server: set RVR_MCP_HTTP_PORT/,
  },
  {
    what: "an unknown flag",
    args: ["--serial-prot=/dev/serial0"],
    env: {},
    says: /--serial-prot.*run with --help/,
  },
  {
    what: "`sim` without --port",
    args: ["sim"],
    env: {},
    says: /^`sim` needs --port PATH/,
  },
];

Deno.test("every configuration error exits 2 with one line naming the setting and the fix", async (t) => {
  for (const c of CASES) {
    await t.step(c.what, async () => {
      const r = await run(c.args ?? [], { RVR_SERIAL_PORT: "sim", ...c.env });
      assert.equal(r.code, 2, r.stderr.join("\n"));
      assert.deepEqual(r.stdout, [], "stdout stays MCP's");
      assert.equal(r.stderr.length, 1, r.stderr.join("\n"));
      assert.match(message(r.stderr[0]), c.says);
    });
  }
});
