/** The program end to end: real processes, the simulator in-process and over a socat pty. */
import assert from "node:assert/strict";
import {
  exitWithin,
  openPtyPair,
  spawnMain,
  spawnTask,
  spawnTaskBehindReader,
} from "./_process.ts";
import { StdioRpc } from "./_jsonrpc.ts";

const isReady = (l: string) => l.includes("Ready:");

for (
  const [how, spawn] of [
    ["main.ts --help", () => spawnMain(["--help"])],
    // README: "`deno task start -- --help` prints this list"; the task passes the `--` on.
    ["deno task start -- --help", () => spawnTask("start", ["--", "--help"])],
    ["deno task sim -- --help", () => spawnTask("sim", ["--", "--help"])],
  ] as const
) {
  Deno.test(`${how} lists every setting and exits 0`, async () => {
    const { child, stdout, stderr } = spawn();
    await child.stdin.close();
    const status = await child.status;
    await Promise.all([stdout.done, stderr.done]);
    assert.equal(status.code, 0, stderr.lines.join("\n"));
    const text = stdout.lines.join("\n");
    for (
      const name of ["RVR_SERIAL_PORT", "RVR_BAUD_RATE", "RVR_LOG_LEVEL", "rvr-mcp sim --port"]
    ) {
      assert.ok(text.includes(name), `help mentions ${name}`);
    }
  });
}

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

/** A server process; `code()`, when there, is its exit code (it runs behind a reader). */
type Server = ReturnType<typeof spawnMain> & { code?: () => Promise<number> };

interface PtyRun {
  simLines: string[];
  serverLines: string[];
  stdout: string[];
  code: number;
}

/**
 * Runs `sim --port` on one end of a pty pair and `serve` on the other, has the robot drive over
 * MCP on stdio, then `stop` ends the server. Resolves once the robot heard drive_stop after
 * `stop` began: the robot's own received bytes decide, not the server's word. The watchdog is
 * off (RVR_COMMAND_TIMEOUT=0), so nothing but the shutdown sends that drive_stop.
 */
async function serveAgainstSimOverPty(
  stop: (server: Server, rpc: StdioRpc) => Promise<void>,
  options: {
    /** `stop` closed stdin itself. */
    stdinClosed?: boolean;
    /** The server process; default `deno task start`, as README gives it. */
    spawn?: (env: Record<string, string>, dir: string) => Server;
    /** The simulator's arguments after `deno task sim`; PORT stands for its end of the pty. */
    simArgs?: string[];
    /** The client's protocol era: 2025 (`initialize`, the default) or 2026-07-28. */
    era?: "2025" | "2026-07-28";
  } = {},
): Promise<PtyRun> {
  const dir = await Deno.makeTempDir({ prefix: "rvr-e2e-" });
  const pty = await openPtyPair(dir);
  // The tasks exactly as README gives them: Deno opens /dev/pts/N only with the task's -A.
  const simArgs = (options.simArgs ?? ["--port", "PORT"]).map((a) => a === "PORT" ? pty.b : a);
  const sim = spawnTask("sim", simArgs, { RVR_LOG_LEVEL: "debug" });
  const received = (command: string, from = 0) => (l: string) =>
    sim.stderr.lines.indexOf(l) >= from && l.includes(`Received ${command} `);
  try {
    await sim.stderr.waitFor(
      (l) => l.includes("Simulated RVR listening"),
      "the simulator to start",
    );
    const env = { RVR_SERIAL_PORT: pty.a, RVR_COMMAND_TIMEOUT: "0" };
    const server: Server = options.spawn?.(env, dir) ?? spawnTask("start", [], env);
    const rpc = new StdioRpc(server.child.stdin, server.stdout);
    if (options.era === "2026-07-28") await rpc.discover();
    else await rpc.initialize();
    const ready = await server.stderr.waitFor(isReady, "the server to wake the robot over the pty");
    assert.ok(ready.includes(pty.a));
    // A drive in progress: the robot keeps it up until told otherwise (or its firmware's 2 s).
    const drive = await rpc.callTool("drive_with_heading", { speed: 100, heading: 0 });
    assert.equal(drive.isError, undefined, JSON.stringify(drive));
    await sim.stderr.waitFor(received("drive_with_heading"), "the drive to reach the robot");
    const seen = sim.stderr.lines.length;
    await stop(server, rpc);
    const status = await exitWithin(
      server.child,
      30_000,
      "the server to exit after the client left",
    );
    if (!options.stdinClosed) await rpc.close();
    await Promise.all([server.stdout.done, server.stderr.done]);
    // The robot heard drive_stop after the server was told to stop, before it exited.
    await sim.stderr.waitFor(received("drive_stop", seen), "drive_stop to reach the robot");
    return {
      simLines: sim.stderr.lines,
      serverLines: server.stderr.lines,
      stdout: server.stdout.lines,
      code: server.code ? await server.code() : status.code,
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

/**
 * The server's log of a clean stop for `reason`: every line one JSON object (no crash trace),
 * "Shutting down (reason)" and the safety layer's auto-stop for that reason, drive_stop sent.
 */
function assertStoppedFor(run: PtyRun, reason: string): void {
  const records = run.serverLines.map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      assert.fail(
        `a stderr line that is not JSON (a crash trace?): ${l}\n${run.serverLines.join("\n")}`,
      );
    }
  });
  assert.ok(
    records.some((r) =>
      r.logger === "rvr.main" && r.reason === reason && /^Shutting down/.test(r.message)
    ),
    `"Shutting down (${reason})" in:\n${run.serverLines.join("\n")}`,
  );
  const autoStop = records.find((r) => r.logger === "rvr.safety" && r.reason === reason);
  assert.ok(autoStop, `an auto-stop for ${reason} in:\n${run.serverLines.join("\n")}`);
  assert.match(autoStop.detail, /^drive_stop sent before shutting down/);
}

Deno.test("serve over a real pty: stdin EOF stops the robot with drive_stop, then exits 0", async () => {
  const run = await serveAgainstSimOverPty((_server, rpc) => rpc.close(), { stdinClosed: true });
  assert.equal(run.code, 0, run.serverLines.join("\n"));
  assert.ok(run.stdout.every((l) => JSON.parse(l).jsonrpc === "2.0"), run.stdout.join("\n"));
  assert.ok(run.serverLines.some((l) => l.includes("Shutting down (stdin_eof)")));
  assertStoppedFor(run, "stdin_eof");
});

Deno.test("serve over a real pty, a 2026-07-28 client: stdin EOF stops the robot with drive_stop, then exits 0", async () => {
  const run = await serveAgainstSimOverPty((_server, rpc) => rpc.close(), {
    stdinClosed: true,
    era: "2026-07-28",
  });
  assert.equal(run.code, 0, run.serverLines.join("\n"));
  const discovered = JSON.parse(run.stdout[0]);
  assert.deepEqual(discovered.result.supportedVersions, ["2026-07-28"], run.stdout[0]);
  assert.ok(run.stdout.every((l) => JSON.parse(l).jsonrpc === "2.0"), run.stdout.join("\n"));
  assertStoppedFor(run, "stdin_eof");
});

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.test(`serve over a real pty: ${signal} stops the robot with drive_stop, then exits 0`, async () => {
    // Only the signal: stdin stays open until the process has exited.
    const run = await serveAgainstSimOverPty((server) => {
      server.child.kill(signal);
      return Promise.resolve();
    }, signal === "SIGHUP" ? { simArgs: ["--", "--port", "PORT"] } : {});
    assert.equal(run.code, 0, run.serverLines.join("\n"));
    assert.ok(run.serverLines.some((l) => l.includes(`Shutting down (${signal.toLowerCase()})`)));
    assertStoppedFor(run, signal.toLowerCase());
  });
}

Deno.test("serve over a real pty: the client's stdout closing (EPIPE on the next write) stops the robot, exit 0", async () => {
  let server: ReturnType<typeof spawnTaskBehindReader> | undefined;
  const run = await serveAgainstSimOverPty(async (_server, rpc) => {
    // The reader of stdout exits; stdin stays open. Any request then makes the server write.
    await server?.closeReader();
    await rpc.send("ping");
  }, { spawn: (env, dir) => server = spawnTaskBehindReader("start", [], env, { dir }) });
  assert.equal(run.code, 0, run.serverLines.join("\n"));
  assertStoppedFor(run, "stdout_closed");
  assert.ok(run.serverLines.some((l) => /"message":"stdout failed \(EPIPE\)/.test(l)));
});

Deno.test("serve over a real pty: the whole session going away (stdout and stderr closed) stops the robot, exit 0", async () => {
  // As when an ssh session drops: the log has nowhere to go either; the robot's wire decides.
  let server: ReturnType<typeof spawnTaskBehindReader> | undefined;
  const run = await serveAgainstSimOverPty(async (_server, rpc) => {
    await server?.closeReader();
    await rpc.send("ping");
  }, {
    spawn: (env, dir) =>
      server = spawnTaskBehindReader("start", [], env, { dir, withStderr: true }),
  });
  assert.equal(run.code, 0, run.serverLines.join("\n"));
});

for (const kind of ["throw", "reject"] as const) {
  Deno.test(`serve over a real pty: an uncaught error (${kind}) still puts drive_stop on the wire, logged, exit 1`, async () => {
    const preload = new URL("./_fault_preload.ts", import.meta.url).pathname;
    const run = await serveAgainstSimOverPty(
      (server) => {
        server.child.kill("SIGUSR2"); // the preloaded module's cue to fault
        return Promise.resolve();
      },
      {
        spawn: (env) =>
          spawnMain([], { ...env, FAULT_KIND: kind }, { denoFlags: ["--preload", preload] }),
      },
    );
    assert.equal(run.code, 1, run.serverLines.join("\n"));
    assertStoppedFor(run, "uncaught_error");
    const fatal = run.serverLines.map((l) => JSON.parse(l)).find((r) => r.level === "fatal");
    assert.ok(fatal, run.serverLines.join("\n"));
    assert.equal(fatal.kind, kind === "throw" ? "uncaught_error" : "unhandled_rejection");
    assert.equal(fatal.error.message, `injected fault (${kind}) for the last-resort test`);
    assert.match(fatal.error.stack, /_fault_preload\.ts/);
  });
}
