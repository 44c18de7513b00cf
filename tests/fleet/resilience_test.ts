/**
 * The broker is never in a robot's way: killed (SIGKILL) and started again, the members keep
 * serving locally (the robot answers, safety holds), the gateway fails fast with
 * broker_unreachable, and everything rejoins by itself. A wrong token keeps a robot out of the
 * fleet with a clear reason, never a crash or a blocked call.
 */
import assert from "node:assert/strict";
import { FleetError, FleetLink, Gateway } from "../../src/fleet/mod.ts";
import { NatsServer } from "./_nats.ts";
import { startMember, until, untilMember, untilPolled } from "./_members.ts";

Deno.test("fleet: the broker killed and restarted; members keep serving locally; all recover", async () => {
  await using nats = await NatsServer.start();
  const a = await startMember("k-a", nats.url);
  const link = new FleetLink({ servers: [nats.url], name: "test gateway", reconnectWaitMs: 100 });
  const gateway = new Gateway({ link, fleet: "default", pollMs: 200, offlineAfterMs: 1000 });
  gateway.start();
  try {
    await untilPolled(
      gateway,
      () => gateway.robots().some((r) => r.id === "k-a" && r.status === "online"),
      "k-a online",
    );
    await gateway.call("k-a", "get_battery_status", {});

    await nats.kill();
    await until(() => !link.connected && !a.link.connected, "both links down");
    // The gateway fails fast, naming the broker.
    const started = performance.now();
    const error = await gateway.call("k-a", "get_battery_status", {}, { timeoutMs: 10_000 }).then(
      () => assert.fail("a call without a broker must fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof FleetError);
    assert.equal(error.code, "broker_unreachable");
    assert.match(error.hint, /broker unreachable/);
    assert.match(error.hint, new RegExp(`127\\.0\\.0\\.1:${nats.port}`));
    // At once: not after its 10 s timeout (a margin no loaded machine eats; speed is in the bench).
    assert.ok(performance.now() - started < 2_500, "fails at once, not by its timeout");
    // The member's robot keeps working locally: a command reaches its wire, safety holds.
    const before = a.wire.received("get_battery_percentage").length;
    await a.runtime.rvr.command("get_battery_percentage", {});
    assert.equal(a.wire.received("get_battery_percentage").length, before + 1);
    await a.runtime.rvr.emergencyStop("api", { reason: "broker down" });
    assert.equal(a.runtime.state.snapshot.safety.estopLatched, true);
    // Telemetry without a broker is counted, not lost silently.
    await untilMember([a], () => a.member.stats.batchesDropped > 0, "a dropped batch counted");

    await nats.restart();
    await until(() => link.connected && a.link.connected, "both links back", 20_000);
    await until(
      async () => {
        try {
          await gateway.call("k-a", "get_battery_status", {});
          return true;
        } catch {
          return false;
        }
      },
      "calls work again",
      20_000,
      100,
    );
    const robots = gateway.robots();
    assert.equal(robots.find((r) => r.id === "k-a")?.status, "online");
  } finally {
    gateway.close();
    await link.close();
    await a.close();
  }
});

Deno.test("fleet: a wrong token keeps the robot out, saying why; it still serves locally", async () => {
  await using nats = await NatsServer.start({ token: "classroom-secret" });
  const wrong = await startMember("w-a", nats.url, { token: "not-it" });
  const right = await startMember("w-b", nats.url, { token: "classroom-secret" });
  try {
    await untilMember([right], () => right.member.stats.joined, "the right token joins");
    await until(() => wrong.link.problem?.includes("refused the token") ?? false, "the refusal");
    assert.match(wrong.link.problem ?? "", /RVR_FLEET_TOKEN/);
    assert.doesNotMatch(wrong.link.problem ?? "", /not-it/, "the token is never shown");
    assert.equal(wrong.member.stats.joined, false);
    const before = wrong.wire.received("get_battery_percentage").length;
    await wrong.runtime.rvr.command("get_battery_percentage", {});
    assert.equal(wrong.wire.received("get_battery_percentage").length, before + 1);
  } finally {
    await wrong.close();
    await right.close();
  }
});
