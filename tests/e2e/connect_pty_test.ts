/**
 * Connects over a real pty (socat) against `deno task sim`, as a scripted client does them: the
 * first tool call right after initialize, while a sleepy robot still wakes; then two connects at
 * once and three back to back. The breaker stays closed, the live link's safety set-up is
 * complete, and the simulated robot heard every safety notification switched on after its last
 * wake.
 */
import assert from "node:assert/strict";
import { openPtyPair, spawnTask } from "./_process.ts";
import { StdioRpc } from "./_jsonrpc.ts";

const SAFETY_NOTIFY_COMMANDS = [
  "enable_motor_stall_notify",
  "enable_motor_fault_notify",
  "enable_motor_thermal_protection_status_notify",
  "enable_battery_voltage_state_change_notify",
];

Deno.test("over a pty: the first call waits for the wake; double and triple connects stay clean", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-mcp-connect-" });
  const pty = await openPtyPair(dir);
  const sim = spawnTask(
    "sim",
    ["--port", pty.b, "--asleep", "--wake-latency-ms", "700", "--reply-delay-ms", "15"],
    { RVR_LOG_LEVEL: "debug" },
  );
  try {
    await sim.stderr.waitFor((l) => l.includes("Simulated RVR listening"), "the simulator");
    const server = spawnTask("start", [], { RVR_SERIAL_PORT: pty.a });
    const rpc = new StdioRpc(server.child.stdin, server.stdout);
    try {
      await rpc.initialize();
      // No waiting for "Ready:": the robot is still waking up.
      const battery = await rpc.callTool("get_battery_status");
      assert.equal(battery.isError, undefined, JSON.stringify(battery));
      assert.equal(typeof battery.structuredContent?.percentage, "number");

      const both = await Promise.all([rpc.callTool("connect"), rpc.callTool("connect")]);
      for (const r of both) assert.equal(r.isError, undefined, JSON.stringify(r));
      let last = both[1];
      for (let i = 0; i < 3; i++) {
        last = await rpc.callTool("connect");
        assert.equal(last.isError, undefined, JSON.stringify(last));
      }
      assert.equal(last.structuredContent?.safety_setup_ok, true, JSON.stringify(last));
      assert.deepEqual(last.structuredContent?.safety_setup_failures, []);
      const status = await rpc.callTool("get_connection_status");
      const s = status.structuredContent as { status: string; circuit: { state: string } };
      assert.equal(s.status, "connected");
      assert.equal(s.circuit.state, "closed", JSON.stringify(s));
      rpc.assertOnlyJsonRpc();
    } finally {
      await rpc.close();
    }
    const status = await server.child.status;
    await Promise.all([server.stdout.done, server.stderr.done]);
    assert.equal(status.code, 0, server.stderr.lines.join("\n"));
    const log = server.stderr.lines.join("\n");
    assert.doesNotMatch(log, /Circuit closed -> open/);
    assert.doesNotMatch(log, /Safety set-up on [^"]* incomplete/);
    // The robot's side: after its last wake it was asked for every safety notification.
    const received = sim.stderr.lines.map((l) => JSON.parse(l) as { message: string })
      .map((r) => r.message.match(/^Received (\w+) seq/)?.[1]).filter((n) => n !== undefined);
    const afterWake = received.slice(received.lastIndexOf("wake"));
    for (const name of SAFETY_NOTIFY_COMMANDS) {
      assert.ok(afterWake.includes(name), `${name} after the last wake: ${afterWake.join(", ")}`);
    }
  } finally {
    sim.child.kill("SIGTERM");
    await sim.child.status;
    await sim.child.stdin.close();
    await Promise.all([sim.stdout.done, sim.stderr.done]);
    await pty.close();
    await Deno.remove(dir, { recursive: true });
  }
});
