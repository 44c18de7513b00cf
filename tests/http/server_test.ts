/**
 * The side port over real sockets: every route with and without RVR_API_KEY, readiness as the
 * robot connects, trips the breaker and goes silent, POST /estop down to the simulator's wire,
 * and the refusals (non-loopback without a key, DNS rebinding, other origins).
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config.ts";
import { refuseHost, serveSidePort, SIDE_PORT_ROUTES } from "../../src/http/server.ts";
import { Aggregator } from "../../src/telemetry/mod.ts";
import { assertJson, bounded, makeSideRig, request, TelemetryClient, until } from "./_side_port.ts";
import { sampleValue } from "../_helpers/mod.ts";

const KEY = "side-port-test-key-0123456789";
const PAGE = "<!doctype html><title>rvr dashboard under test</title>";

Deno.test("side port without a key: every route, 404, 405, 426", async (t) => {
  const rig = await makeSideRig({ dashboardHtml: () => PAGE });
  try {
    await t.step("GET /healthz: alive, with uptime", async () => {
      const r = await request(`${rig.url}/healthz`);
      assert.equal(r.status, 200);
      const body = assertJson(r.text);
      assert.equal(body.ok, true);
      assert.ok(typeof body.uptime_s === "number" && body.uptime_s > 0);
    });
    await t.step("GET /readyz: connected and closed", async () => {
      const r = await request(`${rig.url}/readyz`);
      assert.equal(r.status, 200);
      assert.deepEqual(assertJson(r.text), {
        ready: true,
        connection: "connected",
        breaker: "closed",
        port: rig.runtime.connection.info?.port,
        simulated: true,
      });
    });
    await t.step(
      "GET /metrics: Prometheus text with the robot's and the side port's metrics",
      async () => {
        const r = await request(`${rig.url}/metrics`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("content-type"), rig.runtime.metrics.contentType);
        assert.equal(sampleValue(r.text, "rvr_connection_state", { state: "connected" }), 1);
        assert.match(r.text, /^# TYPE rvr_telemetry_clients gauge$/m);
        assert.match(r.text, /^# TYPE rvr_telemetry_ws_dropped_total counter$/m);
        assert.match(r.text, /^# TYPE rvr_telemetry_ws_send_seconds histogram$/m);
      },
    );
    await t.step("GET /: the dashboard page", async () => {
      const r = await request(`${rig.url}/`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(r.text, PAGE);
    });
    await t.step("unknown path: 404 naming the routes", async () => {
      const r = await request(`${rig.url}/nope`);
      assert.equal(r.status, 404);
      const error = String(assertJson(r.text).error);
      for (const path of Object.keys(SIDE_PORT_ROUTES)) assert.ok(error.includes(` ${path}`));
    });
    await t.step("wrong method: 405 with Allow", async () => {
      const get = await request(`${rig.url}/estop`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get("allow"), "POST");
      const post = await request(`${rig.url}/metrics`, { method: "POST" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET");
      assert.equal(rig.runtime.state.safety.estopLatched, false, "GET /estop stops nothing");
    });
    await t.step("GET /telemetry without Upgrade: 426 saying it is a WebSocket", async () => {
      const r = await request(`${rig.url}/telemetry`);
      assert.equal(r.status, 426);
      assert.match(String(assertJson(r.text).error), /WebSocket/);
    });
    await t.step("a Host that is not this loopback server: 403 (DNS rebinding)", async () => {
      const status = await rawStatus(rig.url, "/healthz", "evil.example:80");
      assert.equal(status, 403);
      assert.equal(await rawStatus(rig.url, "/healthz", new URL(rig.url).host), 200);
    });
    await t.step("POST /estop from a page of another origin: 403, nothing latched", async () => {
      const r = await request(`${rig.url}/estop`, {
        method: "POST",
        headers: { origin: "http://evil.example" },
      });
      assert.equal(r.status, 403);
      assert.equal(rig.runtime.state.safety.estopLatched, false);
    });
  } finally {
    await rig.close();
  }
});

Deno.test("side port with RVR_API_KEY: 401 without it, Bearer or ?key= with it, /healthz open", async (t) => {
  const rig = await makeSideRig({ apiKey: KEY, dashboardHtml: () => PAGE });
  try {
    const guarded = [
      ["GET", "/"],
      ["GET", "/metrics"],
      ["GET", "/readyz"],
      ["GET", "/telemetry"],
      ["POST", "/estop"],
      ["POST", "/estop/clear"],
    ] as const;
    await t.step("every route but /healthz: 401 without the key or with a wrong one", async () => {
      for (const [method, path] of guarded) {
        for (const init of [{}, { key: "wrong-key-of-some-length" }]) {
          const r = await request(`${rig.url}${path}`, { method, ...init });
          assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(init)}`);
          assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="rvr-mcp"');
          assert.match(String(assertJson(r.text).error), /Bearer <RVR_API_KEY>.*\?key=/);
        }
        const wrongQuery = await request(`${rig.url}${path}?key=nope`, { method });
        assert.equal(wrongQuery.status, 401, `${method} ${path}?key=nope`);
      }
      assert.equal(rig.runtime.state.safety.estopLatched, false, "no unauthorised e-stop");
    });
    await t.step("/healthz needs no key", async () => {
      assert.equal((await request(`${rig.url}/healthz`)).status, 200);
    });
    await t.step("Authorization: Bearer <key> and ?key=<key> both work", async () => {
      for (const path of ["/", "/metrics", "/readyz"]) {
        assert.equal((await request(`${rig.url}${path}`, { key: KEY })).status, 200, path);
        const q = await request(`${rig.url}${path}?key=${encodeURIComponent(KEY)}`);
        assert.equal(q.status, 200, `${path}?key=`);
      }
      assert.equal((await request(`${rig.url}/`, { key: KEY })).text, PAGE);
    });
    await t.step("WebSocket: refused without the key, served with ?key=", async () => {
      await assert.rejects(TelemetryClient.open(rig.wsUrl), /WebSocket .* failed/);
      const client = await TelemetryClient.open(rig.wsUrl, { key: KEY });
      await client.waitFor((c) => c.state !== null, "the first frame");
      assert.equal(client.frames[0].type, "full");
      await client.close();
    });
  } finally {
    await rig.close();
  }
});

Deno.test("side port refuses a non-loopback host without a key, with a clear message", async () => {
  assert.equal(refuseHost("127.0.0.1", undefined), undefined);
  assert.equal(refuseHost("localhost", undefined), undefined);
  assert.equal(refuseHost("0.0.0.0", KEY), undefined);
  const aggregator = new Aggregator(null, { windowMs: 10 });
  try {
    await assert.rejects(
      serveSidePort({
        port: 0,
        host: "0.0.0.0",
        // Never reached: the refusal comes before the runtime is touched.
        runtime: undefined as never,
        aggregator,
        dashboardHtml: () => PAGE,
      }),
      (e: Error) => {
        assert.ok(e instanceof ConfigError, "a configuration error: the program exits 2");
        assert.match(e.message, /Refusing to serve the side port .* RVR_HTTP_HOST=0\.0\.0\.0/);
        assert.match(e.message, /Set RVR_API_KEY .* or bind to 127\.0\.0\.1/);
        return true;
      },
    );
    assert.equal(aggregator.stats.subscribers, 0, "nothing subscribed by a refused start");
  } finally {
    aggregator.close();
  }
});

Deno.test("side port on 0.0.0.0 with a key serves, and still needs the key", async () => {
  const rig = await makeSideRig({ apiKey: KEY });
  const side = await serveSidePort({
    port: 0,
    host: "0.0.0.0",
    apiKey: KEY,
    runtime: rig.runtime,
    aggregator: rig.aggregator,
    dashboardHtml: () => PAGE,
  });
  try {
    assert.match(side.url, /^http:\/\/0\.0\.0\.0:\d+$/);
    const local = side.url.replace("0.0.0.0", "127.0.0.1");
    assert.equal((await request(`${local}/metrics`)).status, 401);
    assert.equal((await request(`${local}/metrics`, { key: KEY })).status, 200);
  } finally {
    await side.close();
    await rig.close();
  }
});

Deno.test("/readyz: 503 before connect, 200 after, 503 with the reason when the breaker opens or the robot goes silent", async (t) => {
  const rig = await makeSideRig({ connect: false, settings: { heartbeatMs: 0 } });
  const readyz = async () => {
    const r = await request(`${rig.url}/readyz`);
    return { status: r.status, body: assertJson(r.text) };
  };
  try {
    await t.step("before connect: 503, not connected", async () => {
      const r = await readyz();
      assert.equal(r.status, 503);
      assert.equal(r.body.ready, false);
      assert.equal(r.body.connection, "disconnected");
      assert.match(String(r.body.reason), /robot is not connected \(connection disconnected\)/);
    });
    await t.step("after connect: 200", async () => {
      await bounded(rig.runtime.connection.connect(), "connect");
      const r = await readyz();
      assert.equal(r.status, 200);
      assert.equal(r.body.ready, true);
    });
    await t.step("breaker open after timeouts: 503 naming the breaker", async () => {
      rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn;
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          bounded(rig.runtime.rvr.command("get_battery_percentage", {}), "a timeout"),
          (e: Error) => e.name === "ResponseTimeoutError",
        );
      }
      assert.equal(rig.runtime.breaker.state.name, "open");
      const r = await readyz();
      assert.equal(r.status, 503);
      assert.equal(r.body.breaker, "open");
      assert.equal(r.body.connection, "connected");
      assert.match(String(r.body.reason), /circuit breaker is open \(.*\).*next in \d+ s/);
    });
    await t.step("robot gone (disconnected): 503 naming the connection", async () => {
      await bounded(rig.runtime.connection.disconnect("robot unplugged"), "disconnect");
      const r = await readyz();
      assert.equal(r.status, 503);
      assert.equal(r.body.connection, "disconnected");
      assert.match(String(r.body.reason), /not connected/);
    });
  } finally {
    await rig.close();
  }
});

Deno.test("/readyz: a robot that goes silent is reported as reconnecting (heartbeat)", async () => {
  const rig = await makeSideRig({ settings: { heartbeatMs: 40, requestTimeoutMs: 40 } });
  try {
    assert.equal((await request(`${rig.url}/readyz`)).status, 200);
    const lost = new Promise<void>((resolve) => {
      const off = rig.runtime.connection.onDisconnected(() => {
        off();
        resolve();
      });
    });
    rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn;
    await bounded(lost, "the heartbeat to notice the silence");
    const r = await request(`${rig.url}/readyz`);
    assert.equal(r.status, 503);
    const body = assertJson(r.text);
    assert.match(String(body.connection), /^(reconnecting|error)$/);
    assert.match(String(body.reason), /robot is not connected \(connection (reconnecting|error)/);
  } finally {
    await rig.close();
  }
});

Deno.test("POST /estop latches the e-stop, puts drive_stop on the wire, and the telemetry shows it", async () => {
  const rig = await makeSideRig({ apiKey: KEY });
  const client = await TelemetryClient.open(rig.wsUrl, { key: KEY });
  try {
    await client.waitFor((c) => c.state !== null, "the first frame");
    assert.equal(client.state?.safety.estop, false);
    const before = rig.wire.received("drive_stop").length;
    const r = await request(`${rig.url}/estop`, { method: "POST", key: KEY });
    assert.equal(r.status, 200);
    const body = assertJson(r.text);
    assert.equal(body.estop, true);
    assert.equal(body.sent, true);
    assert.equal(body.newlyLatched, true);
    assert.equal(typeof body.latchedAt, "number");
    assert.equal(rig.runtime.state.safety.estopLatched, true);
    await until(
      () => rig.wire.received("drive_stop").length > before,
      (changed) => {
        rig.wire.onReceived = changed;
        return () => rig.wire.onReceived = undefined;
      },
      "drive_stop at the simulator",
    );
    await client.waitFor((c) => c.state?.safety.estop === true, "estop in the telemetry");
    assert.match(String(client.state?.safety.estop_reason), /http/);
    const metrics = await request(`${rig.url}/metrics`, { key: KEY });
    assert.equal(
      sampleValue(metrics.text, "rvr_safety_emergency_stops_total", { source: "http" }),
      1,
    );
    // A second press is answered too; the latch keeps its first reason.
    const again = assertJson(
      (await request(`${rig.url}/estop`, { method: "POST", key: KEY })).text,
    );
    assert.equal(again.newlyLatched, false);
  } finally {
    await client.close();
    await rig.close();
  }
});

/** The status of a raw HTTP/1.1 request with a chosen Host header (fetch will not forge Host). */
async function rawStatus(url: string, path: string, host: string): Promise<number> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n")) {
      const n = await bounded(conn.read(buf), "the raw HTTP response");
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return Number(text.split(" ")[1]);
  } finally {
    conn.close();
  }
}
