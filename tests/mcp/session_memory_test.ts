/**
 * What a 2025-era HTTP session costs and leaves behind (issue 13, "memory that comes back"): the
 * tool schemas every session lists are converted once and shared (_listed_schema.ts), and
 * sessions of the real server (createServer over a Runtime on the simulator), used and abandoned
 * without DELETE, leave no subscription on the robot's bus once the idle timeout has ended them.
 * The RSS itself is measured by bench/mcp_limits_bench.ts.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { listedOnce } from "../../src/mcp/_listed_schema.ts";
import { serveMcpHttp } from "../../src/mcp/http.ts";
import { createServer } from "../../src/mcp/server.ts";
import { robotMetrics } from "../../src/robot/mod.ts";
import { Runtime } from "../../src/robot/runtime.ts";
import { keepAliveSimOpener, testSettings } from "../_helpers/mod.ts";

const TARGET = { target: "draft-2020-12" } as const;

Deno.test("listedOnce: one JSON Schema per io and target, frozen, zod's own; validate kept or replaced", () => {
  const schema = z.strictObject({ speed: z.number().min(0).max(255), note: z.string().optional() });
  // The premise: zod converts afresh on every call.
  const zodsOwn = schema["~standard"].jsonSchema.input(TARGET);
  assert.notEqual(schema["~standard"].jsonSchema.input(TARGET), zodsOwn);

  const listed = listedOnce(schema);
  const std = listed["~standard"];
  const input = std.jsonSchema.input(TARGET);
  assert.deepEqual(input, zodsOwn);
  assert.equal(std.jsonSchema.input(TARGET), input, "the second listing is the same object");
  const output = std.jsonSchema.output(TARGET);
  assert.deepEqual(output, schema["~standard"].jsonSchema.output(TARGET));
  assert.equal(std.jsonSchema.output(TARGET), output);
  assert.notEqual(output, input, "input and output are converted apart");
  const draft7 = std.jsonSchema.input({ target: "draft-07" });
  assert.notEqual(draft7, input, "another target is another conversion");
  assert.deepEqual(draft7, schema["~standard"].jsonSchema.input({ target: "draft-07" }));

  assert.ok(Object.isFrozen(input));
  const properties = input.properties as Record<string, Record<string, unknown>>;
  assert.ok(Object.isFrozen(properties.speed), "frozen all the way down");
  assert.throws(() => {
    properties.speed.maximum = 1;
  }, TypeError);

  assert.equal(std.vendor, "zod");
  const kept = std.validate({ speed: 300 });
  assert.ok("issues" in kept && kept.issues !== undefined, "zod's own validate: 300 > 255");
  const open = listedOnce(schema, (value) => ({ value }));
  assert.deepEqual(open["~standard"].validate({ speed: 300 }), { value: { speed: 300 } });
  assert.deepEqual(open["~standard"].jsonSchema.input(TARGET), zodsOwn);
});

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};
const PROTOCOL = "2025-06-18";

/** POSTs `body`; the JSON-RPC answer (from JSON or the one SSE event), or undefined for 202. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ res: Response; answer?: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${JSON.stringify(body)} answered ${res.status}: ${text}`);
  if (text === "") return { res };
  const data = res.headers.get("content-type")?.startsWith("text/event-stream")
    ? text.split("\n").find((l) => l.startsWith("data: "))?.slice("data: ".length)
    : text;
  assert.ok(data, `no answer in ${text}`);
  return { res, answer: JSON.parse(data) };
}

/** A session used the way a client does, then abandoned (no DELETE); its tools/list. */
async function useAndAbandon(url: string): Promise<{ id: string; tools: unknown }> {
  const init = await post(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: PROTOCOL,
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    },
  });
  const id = init.res.headers.get("mcp-session-id");
  assert.ok(id, "initialize gave a session id");
  const h = { "mcp-session-id": id, "mcp-protocol-version": PROTOCOL };
  await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, h);
  const subscribed = await post(url, {
    jsonrpc: "2.0",
    id: 1,
    method: "resources/subscribe",
    params: { uri: "rvr://events" },
  }, h);
  assert.deepEqual(subscribed.answer?.result, {});
  const listed = await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list" }, h);
  const called = await post(url, {
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: { name: "get_safety_status", arguments: {} },
  }, h);
  const result = called.answer?.result as { isError?: boolean; structuredContent?: object };
  assert.equal(result.isError, undefined, JSON.stringify(result));
  assert.ok(result.structuredContent, "the output schema's check passed");
  return { id, tools: (listed.answer?.result as { tools: unknown }).tools };
}

Deno.test("MCP over HTTP: sessions of the real server, used and abandoned, leave no bus subscription", async () => {
  const opener = keepAliveSimOpener({}, "sessions");
  const runtime = new Runtime(
    testSettings({ requestTimeoutMs: 500, wakeTimeout: 5, commandTimeout: 0 }),
    opener.open,
    robotMetrics(),
  );
  const SESSIONS = 20;
  const closed = new Set<string>();
  const allClosed = Promise.withResolvers<void>();
  try {
    await runtime.connection.connect();
    await runtime.rvr.ready();
    const deps = { runtime, streams: runtime.streams, moves: runtime.moves, version: "0.0.0-test" };
    const http = await serveMcpHttp({
      port: 0,
      host: "127.0.0.1",
      createServer: (era) => createServer(deps, { era }),
      sessionIdleTimeoutMs: 300,
      maxSessions: SESSIONS,
      onSessionClosed: (id) => {
        closed.add(id);
        if (closed.size === SESSIONS) allClosed.resolve();
      },
    });
    try {
      const before = runtime.bus.stats.subscribers;
      const sessions = await Promise.all(
        Array.from({ length: SESSIONS }, () => useAndAbandon(http.url)),
      );
      assert.ok(
        runtime.bus.stats.subscribers >= before + SESSIONS,
        `each live session listens to the bus: ${runtime.bus.stats.subscribers} vs ${before}`,
      );
      for (const s of sessions.slice(1)) {
        assert.deepEqual(s.tools, sessions[0].tools, "every session lists the same tools");
      }
      await allClosed.promise; // each one's expiry, awaited as an event
      assert.deepEqual([...closed].sort(), sessions.map((s) => s.id).sort());
      assert.equal(http.sessions, 0);
      assert.equal(http.expiredSessions, SESSIONS);
      assert.equal(
        runtime.bus.stats.subscribers,
        before,
        "the expired sessions' servers unsubscribed from the bus",
      );
    } finally {
      await http.close();
    }
  } finally {
    await runtime.close("sigterm");
    if (opener.wires.length > 0) await opener.sim.stop();
  }
});
