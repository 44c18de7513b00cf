/**
 * The gateway against real members on a real nats-server (started here on a free port):
 * discovery, routing to exactly one robot (bytes on that robot's wire only), errors with codes,
 * call_robots order and partial results, stop-all, a duplicate robot id.
 */
import assert from "node:assert/strict";
import { FleetError, FleetLink, Gateway } from "../../src/fleet/mod.ts";
import { NatsServer } from "./_nats.ts";
import { startMember, type TestMember, untilMember, untilPolled } from "./_members.ts";

function gatewayFor(url: string): { gateway: Gateway; link: FleetLink } {
  const link = new FleetLink({ servers: [url], name: "test gateway", reconnectWaitMs: 100 });
  const gateway = new Gateway({ link, fleet: "default", pollMs: 200, offlineAfterMs: 1000 });
  gateway.start();
  return { gateway, link };
}

async function rejectsWith(p: Promise<unknown>, code: string, text: RegExp): Promise<FleetError> {
  const error = await p.then(
    () => assert.fail(`expected a FleetError ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof FleetError, `expected a FleetError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.hint, text);
  return error;
}

Deno.test("fleet gateway: discovery, routing, errors, call_robots, stop-all", async (t) => {
  await using nats = await NatsServer.start();
  const members: TestMember[] = [];
  const { gateway, link } = gatewayFor(nats.url);
  try {
    for (const id of ["r-a", "r-b"]) members.push(await startMember(id, nats.url));
    members.push(
      await startMember("r-slow", nats.url, { sim: { faults: { replyDelayMs: 400 } } }),
    );
    const [a, b, slow] = members;

    await t.step("every member appears in list_robots, online, simulated", async () => {
      await untilPolled(gateway, () => gateway.robots().length === 3, "three robots listed");
      const robots = gateway.robots();
      assert.deepEqual(robots.map((r) => r.id), ["r-a", "r-b", "r-slow"]);
      for (const r of robots) {
        assert.equal(r.status, "online");
        assert.equal(r.simulated, true);
        assert.equal(r.version, "0.0.0-test");
        assert.equal(r.circuit, "closed");
        assert.equal(r.estop_latched, false);
      }
    });

    await t.step("a call reaches exactly one robot: bytes on its wire only", async () => {
      const before = members.map((m) => m.wire.received("set_all_leds").length);
      const result = await gateway.call("r-b", "set_all_leds", { red: 10, green: 20, blue: 30 });
      assert.equal(result.simulated_robot, true);
      const after = members.map((m) => m.wire.received("set_all_leds").length);
      assert.deepEqual(after.map((n, i) => n - before[i]), [0, 1, 0]);
      assert.ok(a && b && slow);
    });

    await t.step("unknown, bad arguments, robot errors carry codes and hints", async () => {
      await rejectsWith(
        gateway.call("r-zz", "get_battery_status", {}),
        "robot_unknown",
        /r-a, r-b, r-slow/,
      );
      await rejectsWith(
        gateway.call("r-a", "drive_with_heading", { speed: 999, heading: 0 }),
        "robot_error",
        /^r-a: Input validation error: drive_with_heading: speed .*, got 999\./,
      );
    });

    await t.step("call_robots: order asked, partial results when one times out", async () => {
      const started = performance.now();
      const results = await gateway.callRobots(
        "get_battery_status",
        {},
        ["r-slow", "r-a", "r-b"],
        { timeoutMs: 200, maxParallel: 8 },
      );
      const ms = performance.now() - started;
      assert.deepEqual(results.map((r) => r.robot), ["r-slow", "r-a", "r-b"]);
      assert.equal(results[0].ok, false);
      assert.equal(results[0].error?.code, "timeout");
      assert.ok(results[1].ok && results[2].ok, JSON.stringify(results));
      assert.equal(typeof results[1].result?.percentage, "number");
      assert.ok(ms < 2000, `call_robots returned after ${ms} ms (never a hang)`);
    });

    await t.step("stop-all: every robot confirms, drive_stop on every wire", async () => {
      const before = members.map((m) => m.wire.received("drive_stop").length);
      const result = await gateway.stopAll({ timeoutMs: 2000 });
      assert.deepEqual(result.robots.map((r) => [r.robot, r.confirmed]), [
        ["r-a", true],
        ["r-b", true],
        ["r-slow", true],
      ]);
      assert.deepEqual(result.unconfirmed, []);
      for (const [i, m] of members.entries()) {
        assert.ok(m.wire.received("drive_stop").length > before[i], `${m.id} got drive_stop`);
        assert.equal(m.runtime.state.snapshot.safety.estopLatched, true);
      }
      // Latched: movement is refused through the fleet like locally.
      await rejectsWith(
        gateway.call("r-a", "drive_with_heading", { speed: 50, heading: 0 }),
        "robot_error",
        /emergency stop/i,
      );
      await untilPolled(
        gateway,
        () => gateway.robots()[0].estop_latched,
        "the e-stop shown in list_robots",
      );
    });

    await t.step("a duplicate robot id refuses to join, saying why", async () => {
      const dup = await startMember("r-a", nats.url);
      try {
        await untilMember(
          [dup],
          () => dup.member.stats.refused !== undefined,
          "the duplicate refusing",
        );
        assert.match(dup.member.stats.refused ?? "", /robot id r-a is already in fleet default/);
        assert.equal(dup.member.stats.joined, false);
      } finally {
        await dup.close();
      }
    });

    await t.step("a member that leaves goes offline, naming when it was last seen", async () => {
      await b.close();
      members.splice(1, 1);
      await untilPolled(
        gateway,
        () => gateway.robots().find((r) => r.id === "r-b")?.status === "offline",
        "r-b offline",
      );
      await rejectsWith(
        gateway.call("r-b", "get_battery_status", {}),
        "robot_offline",
        /last seen/,
      );
    });
  } finally {
    gateway.close();
    await link.close();
    for (const m of members) await m.close();
  }
});
