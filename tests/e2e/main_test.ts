/** The program end to end: real processes, the simulator in-process and over a socat pty. */
import assert from "node:assert/strict";
import { openPtyPair, spawnMain, spawnTask } from "./_process.ts";

const isReady = (l: string) => l.includes("Ready:");

Deno.test("--help lists every setting and exits 0", async () => {
  const { child, stdout, stderr } = spawnMain(["--help"]);
  await child.stdin.close();
  const status = await child.status;
  await Promise.all([stdout.done, stderr.done]);
  assert.equal(status.code, 0);
  const text = stdout.lines.join("\n");
  for (const name of ["RVR_SERIAL_PORT", "RVR_BAUD_RATE", "RVR_LOG_LEVEL", "rvr-mcp sim --port"]) {
    assert.ok(text.includes(name), `help mentions ${name}`);
  }
});

Deno.test("a bad setting exits 2 with one line naming the variable, the value and what is allowed", async () => {
  const { child, stdout, stderr } = spawnMain([], { RVR_BAUD_RATE: "12345" });
  await child.stdin.close();
  const status = await child.status;
  await Promise.all([stdout.done, stderr.done]);
  assert.equal(status.code, 2);
  assert.deepEqual(stdout.lines, []);
  const lines = stderr.lines.filter((l) => l.trim() !== "");
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], /RVR_BAUD_RATE="12345".*115200/);
});

Deno.test("serve on the built-in simulator: ready on stderr, nothing on stdout, clean exit on stdin EOF", async () => {
  const { child, stdout, stderr } = spawnMain([], { RVR_SERIAL_PORT: "sim" });
  const ready = await stderr.waitFor(isReady, "the server to report readiness");
  const record = JSON.parse(ready);
  assert.equal(record.level, "info");
  assert.match(record.message, /simulated RVR/);
  await child.stdin.close();
  const status = await child.status;
  await Promise.all([stdout.done, stderr.done]);
  assert.equal(status.code, 0, stderr.lines.join("\n"));
  assert.deepEqual(stdout.lines, [], "stdout carries nothing but MCP JSON-RPC");
  for (const line of stderr.lines) JSON.parse(line); // every log line is one JSON object
  assert.ok(stderr.lines.some((l) => l.includes("Shutting down")));
});

/** Runs `sim --port` on one end of a pty pair and `serve` on the other; `stop` ends the server. */
async function serveAgainstSimOverPty(
  stop: (server: ReturnType<typeof spawnMain>) => Promise<void>,
  stdinClosed = false,
): Promise<{ simLines: string[]; serverLines: string[]; stdout: string[]; code: number }> {
  const dir = await Deno.makeTempDir({ prefix: "rvr-e2e-" });
  const pty = await openPtyPair(dir);
  // The tasks exactly as README gives them: Deno opens /dev/pts/N only with the task's -A.
  const sim = spawnTask("sim", ["--port", pty.b], { RVR_LOG_LEVEL: "debug" });
  try {
    await sim.stderr.waitFor(
      (l) => l.includes("Simulated RVR listening"),
      "the simulator to start",
    );
    const server = spawnTask("start", [], { RVR_SERIAL_PORT: pty.a });
    const ready = await server.stderr.waitFor(isReady, "the server to wake the robot over the pty");
    assert.ok(ready.includes(pty.a));
    const seen = sim.stderr.lines.length;
    await stop(server);
    const status = await server.child.status;
    if (!stdinClosed) await server.child.stdin.close();
    await Promise.all([server.stdout.done, server.stderr.done]);
    // The robot heard drive_stop after the server was told to stop, before it exited.
    await sim.stderr.waitFor(
      (l) => sim.stderr.lines.indexOf(l) >= seen && l.includes("Received drive_stop"),
      "drive_stop to reach the robot",
    );
    return {
      simLines: sim.stderr.lines,
      serverLines: server.stderr.lines,
      stdout: server.stdout.lines,
      code: status.code,
    };
  } finally {
    sim.child.kill("SIGTERM");
    const simStatus = await sim.child.status;
    await sim.child.stdin.close();
    await Promise.all([sim.stdout.done, sim.stderr.done]);
    await pty.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(simStatus.code, 0, sim.stderr.lines.join("\n"));
  }
}

Deno.test("serve over a real pty: stdin EOF stops the robot with drive_stop, then exits 0", async () => {
  const run = await serveAgainstSimOverPty((server) => server.child.stdin.close(), true);
  assert.equal(run.code, 0, run.serverLines.join("\n"));
  assert.deepEqual(run.stdout, []);
  assert.ok(run.serverLines.some((l) => l.includes("Shutting down (stdin_eof)")));
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`serve over a real pty: ${signal} stops the robot with drive_stop, then exits 0`, async () => {
    // Only the signal: stdin stays open until the process has exited.
    const run = await serveAgainstSimOverPty((server) => {
      server.child.kill(signal);
      return Promise.resolve();
    });
    assert.equal(run.code, 0, run.serverLines.join("\n"));
    assert.ok(run.serverLines.some((l) => l.includes(`Shutting down (${signal.toLowerCase()})`)));
  });
}
