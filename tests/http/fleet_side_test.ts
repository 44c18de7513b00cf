/**
 * The fleet gateway's side port handler against a real gateway and members on nats-server:
 * /robots lists them, POST /estop stops every robot (drive_stop on each wire), /metrics carries
 * the robot label, the page has STOP ALL, and the API key is required when set.
 */
import assert from "node:assert/strict";
import { MetricsRegistry } from "../../src/core/metrics.ts";
import {
  fleetEmergencyStop,
  FleetLink,
  FleetMetrics,
  Gateway,
  listRobots,
} from "../../src/fleet/mod.ts";
import { fleetSideHandler } from "../../src/http/mod.ts";
import { NatsServer } from "../fleet/_nats.ts";
import { startMember, until } from "../fleet/_members.ts";

const ctx = () => ({ correlationId: "t", signal: AbortSignal.timeout(5000), notify: () => {} });

Deno.test("fleet side port: robots, STOP ALL, metrics with a robot label, the key", async () => {
  await using nats = await NatsServer.start();
  const members = [await startMember("h-a", nats.url), await startMember("h-b", nats.url)];
  const link = new FleetLink({ servers: [nats.url], name: "test gateway" });
  const metrics = new MetricsRegistry();
  const gateway = new Gateway({
    link,
    fleet: "default",
    pollMs: 200,
    metrics: new FleetMetrics(metrics.registry),
  });
  gateway.start();
  const apiKey = "a-key-of-sixteen-chars";
  const handle = fleetSideHandler({
    apiKey,
    metrics: () => metrics.text(),
    metricsContentType: metrics.contentType,
    robots: () => listRobots.handler(gateway, {}, ctx()),
    stopAll: () => fleetEmergencyStop.handler(gateway, {}, ctx()),
  });
  const get = (path: string, init: RequestInit = {}, key: string | null = apiKey) =>
    handle(
      new Request(
        `http://x${path}${key ? `${path.includes("?") ? "&" : "?"}key=${key}` : ""}`,
        init,
      ),
    );
  try {
    await until(() => gateway.robots().length === 2, "two robots");
    assert.equal((await get("/robots", {}, null)).status, 401);
    assert.equal((await get("/robots", {}, "wrong-key-of-16-chars")).status, 401);
    const robots = await (await get("/robots")).json();
    assert.deepEqual(robots.robots.map((r: { id: string }) => r.id), ["h-a", "h-b"]);
    const page = await (await get("/")).text();
    assert.match(page, /STOP ALL/);

    const before = members.map((m) => m.wire.received("drive_stop").length);
    const stop = await get("/estop", { method: "POST" });
    assert.equal(stop.status, 200);
    const body = await stop.json();
    assert.deepEqual(body.unconfirmed, []);
    for (const [i, m] of members.entries()) {
      assert.ok(m.wire.received("drive_stop").length > before[i], `${m.id} got drive_stop`);
    }
    const text = await (await get("/metrics")).text();
    assert.match(text, /rvr_fleet_robot_online\{robot="h-a"\} 1/);
    assert.match(text, /rvr_fleet_estops_total\{robot="h-b",confirmed="true"\} 1/);
    assert.equal((await get("/nope")).status, 404);
  } finally {
    gateway.close();
    await link.close();
    for (const m of members) await m.close();
  }
});
