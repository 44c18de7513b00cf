/**
 * `fleet-sim` as a teacher starts it: a classroom of three simulated robots in one process, on
 * one broker connection, seen from a gateway in this process, with a real nats-server. Each robot
 * answers its own calls (its own simulator: it reports its own name), the fleet's e-stop reaches
 * every robot, and when the broker is killed and started again every robot of the classroom is
 * back by itself (its service and subscriptions renewed on the shared connection) and answers.
 */
import assert from "node:assert/strict";
import { FleetLink, Gateway } from "../../src/fleet/mod.ts";
import { spawnMain, stopProcess } from "../e2e/_process.ts";
import { NatsServer } from "./_nats.ts";
import { until, untilPolled } from "./_members.ts";
import { identityOf } from "../../src/sim/_identity.ts";
import { errorMessage } from "../../src/core/mod.ts";

const IDS = ["sim-01", "sim-02", "sim-03"];
const FLEET = "room";

/** What each simulated robot advertises: a Bluetooth name made from its own name (the id). */
const ADVERTISED = IDS.map((id) => identityOf(id).bluetoothName);

/** Every robot's Bluetooth name as its own simulator reports it (get_system_info). */
async function names(gateway: Gateway): Promise<string[]> {
  const results = await gateway.callRobots("get_system_info", {}, IDS, { timeoutMs: 5_000 });
  return results.map((r) => {
    assert.ok(r.ok, `${r.robot}: ${JSON.stringify(r)}`);
    return String(r.result?.bluetooth_name);
  });
}

Deno.test("fleet-sim: a classroom on one connection; each robot answers for itself, e-stops, and rejoins after the broker restarts", async () => {
  await using nats = await NatsServer.start();
  const classroom = spawnMain(["fleet-sim", "--robots", String(IDS.length)], {
    RVR_FLEET_URL: nats.url,
    RVR_FLEET_NAME: FLEET,
    RVR_APPROVAL: "none",
  });
  const link = new FleetLink({ servers: [nats.url], name: "classroom test gateway" });
  const gateway = new Gateway({ link, fleet: FLEET, pollMs: 200 });
  gateway.start();
  const allOnline = () =>
    IDS.every((id) => gateway.robots().some((r) => r.id === id && r.status === "online"));
  try {
    await untilPolled(gateway, allOnline, "the classroom online", 30_000);
    // Routed to exactly one robot each: every simulator says its own name.
    assert.equal(new Set(ADVERTISED).size, IDS.length, "three names that tell the robots apart");
    assert.deepEqual(await names(gateway), ADVERTISED);

    const stopped = await gateway.stopAll({ timeoutMs: 5_000 });
    assert.deepEqual(
      stopped.robots.map((r) => [r.robot, r.confirmed, r.drive_stop_sent]).sort(),
      IDS.map((id) => [id, true, true]),
    );
    const cleared = await gateway.callRobots("clear_emergency_stop", {}, IDS, { timeoutMs: 5_000 });
    assert.ok(cleared.every((r) => r.ok), JSON.stringify(cleared));

    await nats.kill();
    await until(() => !link.connected, "the gateway's link down", 15_000);
    await nats.restart();
    await untilPolled(gateway, allOnline, "every robot of the classroom back online", 30_000);
    // Until then a call may fail (no responders yet): the last failure is in the timeout's message.
    let last: unknown = "no call made";
    await until(
      async () => {
        try {
          return (await names(gateway)).join() === ADVERTISED.join();
        } catch (error) {
          last = error;
          return false;
        }
      },
      "every robot answering again",
      20_000,
      100,
    ).catch((error) => {
      throw new Error(`${errorMessage(error)}; the last call failed with: ${errorMessage(last)}`);
    });
  } finally {
    gateway.close();
    await link.close();
    await stopProcess(classroom);
  }
});
