/**
 * The gateway's per-robot circuit and retries, against a real member whose robot answers slowly
 * (the simulator's reply delay): read-only tools are retried on timeouts, movement never (the
 * member hears it exactly once); consecutive timeouts open the robot's circuit (calls then fail at
 * once with circuit_open), and a NATS ping of the robot's service closes it again.
 */
import assert from "node:assert/strict";
import { FleetError, FleetLink, Gateway } from "../../src/fleet/mod.ts";
import { NatsServer } from "./_nats.ts";
import { startMember, until, untilMember, untilPolled } from "./_members.ts";

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => "ok", (e: unknown) => e);
  if (e === "ok") return "ok";
  assert.ok(e instanceof FleetError, String(e));
  return e.code;
}

Deno.test("fleet gateway: retries only read-only tools; the circuit opens on timeouts and a ping closes it", async () => {
  await using nats = await NatsServer.start();
  const slow = await startMember("b-slow", nats.url, { sim: { faults: { replyDelayMs: 300 } } });
  const link = new FleetLink({ servers: [nats.url], name: "test gateway" });
  const gateway = new Gateway({
    link,
    fleet: "default",
    pollMs: 200,
    failureThreshold: 4,
    openMs: 400,
    readOnlyAttempts: 3,
  });
  gateway.start();
  try {
    await untilPolled(gateway, () => gateway.robots().length === 1, "the robot listed");

    // Movement: one timeout, heard once by the member (never sent twice).
    let calls = slow.member.stats.calls;
    assert.equal(
      await codeOf(gateway.call("b-slow", "drive_with_heading", { speed: 10, heading: 0 }, {
        timeoutMs: 100,
      })),
      "timeout",
    );
    await untilMember([slow], () => slow.member.stats.calls > calls, "the member heard the drive");
    assert.equal(slow.member.stats.calls, calls + 1, "movement is not retried");

    // Read-only: retried within its time (four queries of 300 ms each never fit an attempt).
    calls = slow.member.stats.calls;
    assert.equal(
      await codeOf(gateway.call("b-slow", "get_battery_status", {}, { timeoutMs: 1200 })),
      "timeout",
    );
    await untilMember([slow], () => slow.member.stats.calls >= calls + 2, "a retried read");

    // Four timeouts in a row: the circuit is open, calls fail at once.
    assert.equal(gateway.robots()[0].circuit, "open");
    const started = performance.now();
    assert.equal(
      await codeOf(gateway.call("b-slow", "get_battery_status", {}, { timeoutMs: 10_000 })),
      "circuit_open",
    );
    // Fast: not after its 10 s timeout (a margin no loaded machine eats; speed is in the bench).
    assert.ok(performance.now() - started < 2_500, "fails fast while open, not by its timeout");

    // The probe is a ping of the robot's service, which answers: the circuit closes.
    await until(() => gateway.robots()[0].circuit === "closed", "the circuit closed by a ping");
    // (The robot still works through the reads that timed out: they were sent.)
    assert.equal(
      await codeOf(gateway.call("b-slow", "get_battery_status", {}, { timeoutMs: 20_000 })),
      "ok",
    );
  } finally {
    gateway.close();
    await link.close();
    await slow.close();
  }
});
