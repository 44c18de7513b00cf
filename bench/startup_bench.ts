/**
 * Start-up: from spawning `deno run -A <the program's V8 flags> rvr-mcp.js` (the single-file
 * bundle, built here with `deno task bundle`'s command into a temporary directory) to the first MCP `initialize` answer on
 * its stdout, on the built-in simulator. The request is written at once, as an MCP client does; the
 * process ends (stdin EOF) outside the timed part. Target (issue 6): median < 300 ms. Deno prints
 * avg, p75 and p99; the median is at most p75.
 */
import { buildBundle, LineReader, programV8Flags } from "../tests/e2e/_process.ts";

const dir = await Deno.makeTempDir({ prefix: "rvr-startup-bench-" });
const bundle = `${dir}/rvr-mcp.js`;

await buildBundle(bundle);

const INITIALIZE = new TextEncoder().encode(
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "startup-bench", version: "1" },
    },
  }) + "\n",
);

/** Spawns the bundle, sends initialize, resolves with the process once the answer is on stdout. */
async function startAndInitialize(): Promise<{
  child: Deno.ChildProcess;
  stdout: LineReader;
  stderr: LineReader;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", programV8Flags(), bundle],
    cwd: dir,
    env: { NO_COLOR: "1", RVR_SERIAL_PORT: "sim", RVR_LOG_LEVEL: "warning" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new LineReader(child.stdout);
  const stderr = new LineReader(child.stderr);
  const stdin = child.stdin.getWriter();
  await stdin.write(INITIALIZE);
  await stdout.waitFor((l) => l.includes('"id":1') && l.includes('"serverInfo"'), "initialize");
  return { child, stdout, stderr, stdin };
}

Deno.bench({
  name: "start-up: spawn the bundle -> first initialize answer (stdio, simulator)",
  group: "startup",
  n: 20,
  warmup: 2,
  async fn(b) {
    b.start();
    const p = await startAndInitialize();
    b.end();
    await p.stdin.close(); // the client goes away: the server stops the robot and exits
    const status = await p.child.status;
    await Promise.all([p.stdout.done, p.stderr.done]);
    if (status.code !== 0) {
      throw new Error(`the bundle exited ${status.code}:\n${p.stderr.lines.join("\n")}`);
    }
  },
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});
