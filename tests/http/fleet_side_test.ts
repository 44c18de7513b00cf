/**
 * The fleet gateway's side port handler against a real gateway and members on nats-server:
 * /robots lists them, POST /estop stops every robot (drive_stop on each wire), /metrics carries
 * the robot label, the page has STOP ALL, and the API key is required when set. Bodies: none is
 * needed; one over the limit gets 413 before it is read (declared: not a byte pulled; streamed:
 * cut off after the limit), POST /estop over the limit still stops every robot, and a request
 * without the key is refused before its body is touched.
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
import { startMember, untilPolled } from "../fleet/_members.ts";
import { bodySource } from "./_side_port.ts";

const MB20 = 20_000_000;
/** The chunk bodySource pulls (its default). */
const CHUNK = 64 * 1024;
const LIMIT = 64 * 1024;

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
    maxBodyBytes: LIMIT,
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
    await untilPolled(gateway, () => gateway.robots().length === 2, "two robots");
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

    // Bodies: 413 before they are read; the stop goes out anyway.
    {
      const declared = bodySource(MB20);
      const res = await get("/robots", {
        method: "POST",
        body: declared.stream,
        headers: { "content-length": String(MB20) },
      });
      assert.equal(res.status, 413);
      assert.match(
        (await res.json()).error,
        /the request body of 20000000 bytes \(Content-Length\) is over the limit of 65536 bytes \(RVR_MAX_BODY_BYTES\)/,
      );
      assert.equal(declared.pulled(), 0, "not a byte of a declared 20 MB was read");

      const unauthorized = bodySource(MB20);
      const refused = await get("/estop", { method: "POST", body: unauthorized.stream }, null);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="rvr-mcp"');
      await refused.body?.cancel();
      assert.equal(unauthorized.pulled(), 0, "no key: the body is never touched");

      const before = members.map((m) => m.wire.received("drive_stop").length);
      const streamed = bodySource(MB20);
      const big = await get("/estop", { method: "POST", body: streamed.stream });
      assert.equal(big.status, 413);
      const bigBody = await big.json();
      assert.match(bigBody.error, /was not read further.*Every robot was stopped anyway/);
      assert.deepEqual(bigBody.unconfirmed, []);
      assert.ok(streamed.pulled() <= LIMIT + 2 * CHUNK, `pulled ${streamed.pulled()} of ${MB20}`);
      for (const [i, m] of members.entries()) {
        assert.ok(m.wire.received("drive_stop").length > before[i], `${m.id} got drive_stop`);
      }

      const small = await get("/robots", { method: "POST", body: "x".repeat(LIMIT) });
      assert.equal(small.status, 404, "a body within the limit is read and dropped");
      await small.body?.cancel();
    }

    // Without a key (loopback only): another site's name for 127.0.0.1 is refused (DNS
    // rebinding), and so is STOP ALL from another origin's page; this server's own page works.
    {
      const local = fleetSideHandler({
        loopbackPort: () => 8123,
        maxBodyBytes: LIMIT,
        metrics: () => metrics.text(),
        metricsContentType: metrics.contentType,
        robots: () => listRobots.handler(gateway, {}, ctx()),
        stopAll: () => fleetEmergencyStop.handler(gateway, {}, ctx()),
      });
      const at = (path: string, headers: Record<string, string>, init: RequestInit = {}) =>
        local(new Request(`http://127.0.0.1:8123${path}`, { ...init, headers }));
      const rebound = await at("/robots", { host: "evil.example:8123" });
      assert.equal(rebound.status, 403);
      assert.match((await rebound.json()).error, /Host "evil\.example:8123" is not this server/);
      assert.equal((await at("/robots", { host: "127.0.0.1:8123" })).status, 200);

      const before = members.map((m) => m.wire.received("drive_stop").length);
      const foreign = await at("/estop", {
        host: "127.0.0.1:8123",
        origin: "http://evil.example",
      }, { method: "POST" });
      assert.equal(foreign.status, 403);
      assert.match((await foreign.json()).error, /\/estop from a page of another origin/);
      assert.deepEqual(
        members.map((m) => m.wire.received("drive_stop").length),
        before,
        "no robot stopped by another site's page",
      );
      const own = await at("/estop", {
        host: "127.0.0.1:8123",
        origin: "http://127.0.0.1:8123",
      }, { method: "POST" });
      assert.equal(own.status, 200);
      await own.body?.cancel();
    }
  } finally {
    gateway.close();
    await link.close();
    for (const m of members) await m.close();
  }
});
