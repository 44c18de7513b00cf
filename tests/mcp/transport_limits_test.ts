/**
 * The pieces in front of the SDK: the line splitter (linear, bounded, resyncs), the session table
 * (idle expiry, cap) under fake time, and 2025-era HTTP sessions abandoned without DELETE: 100 of
 * them are gone after the idle timeout, and the cap answers 503 with the way out.
 */
import assert from "node:assert/strict";
import { McpServer } from "@modelcontextprotocol/server";
import { LineSplitter } from "../../src/mcp/_line_splitter.ts";
import { SessionTable } from "../../src/mcp/_session_table.ts";
import { screenText } from "../../src/mcp/_jsonrpc_gate.ts";
import { serveMcpHttp } from "../../src/mcp/http.ts";
import { fakeClock } from "../_helpers/mod.ts";

const text = new TextEncoder();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("LineSplitter: lines across chunks, CRLF, blanks skipped, nothing held from a chunk", () => {
  const lines: string[] = [];
  const s = new LineSplitter(64, {
    line: (b) => lines.push(decode(b)),
    tooLong: () => assert.fail(),
  });
  const chunk = text.encode('{"a":1}\r\n\n  \n{"b":');
  s.push(chunk);
  chunk.fill(0x7a); // the caller reuses its buffer: the pending piece was copied
  s.push(text.encode("2}\n"));
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  assert.equal(s.pendingBytes, 0);
});

Deno.test("LineSplitter: a line over the limit is refused at once, dropped to its newline, then reading resyncs", () => {
  const events: string[] = [];
  const s = new LineSplitter(10, {
    line: (b) => events.push(`line ${decode(b)}`),
    tooLong: (n) => events.push(`too long at ${n}`),
    resynced: (n) => events.push(`resynced after ${n}`),
  });
  s.push(text.encode("12345678"));
  assert.deepEqual(events, []);
  s.push(text.encode("9012"));
  assert.deepEqual(events, ["too long at 12"], "refused as soon as it passed the limit");
  for (let i = 0; i < 1000; i++) s.push(text.encode("x".repeat(100)));
  assert.equal(s.pendingBytes, 0, "nothing of the dropped line is held");
  s.push(text.encode('y\n{"ok":1}\n'));
  assert.deepEqual(events, ["too long at 12", "resynced after 100013", 'line {"ok":1}']);
});

Deno.test("the gate: ids kept where readable, a response passes, a notification is never answered", () => {
  const r = screenText(`{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":1}}`);
  assert.ok(!r.ok && r.response?.id === 7 && r.response.error.code === -32602);
  const bad = screenText(`{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}`);
  assert.ok(!bad.ok && bad.response?.id === null && bad.response.error.code === -32600);
  assert.match(bad.ok ? "" : bad.reason, /id must be a string or a number, got \{"x":1\}/);
  const note = screenText(`{"jsonrpc":"2.0","method":"notifications/progress","params":5}`);
  assert.ok(!note.ok && note.response === undefined, "a refused notification gets no answer");
  assert.ok(screenText(`{"jsonrpc":"2.0","id":3,"result":{}}`).ok, "a response to the server");
  const call = screenText(
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"stop","arguments":{"__proto__":{"p":1}}}}`,
  );
  assert.ok(call.ok);
  const args = (call.raw.params as { arguments: object }).arguments;
  assert.deepEqual(Object.keys(args), ["__proto__"], "the text's own parse keeps the key");
});

Deno.test("SessionTable: idle sessions expire, a request in flight holds one, the cap counts openings", async () => {
  using clock = fakeClock();
  const expired: string[] = [];
  const table = new SessionTable<number>({
    idleTimeoutMs: 1000,
    maxSessions: 3,
    expire: (id) => expired.push(id),
  });
  table.add("a", 1);
  table.add("b", 2);
  const release = table.reserve();
  assert.equal(table.full, true, "two live and one opening fill a cap of 3");
  release();
  assert.equal(table.full, false);
  const end = table.begin("a");
  await clock.tickAsync(999);
  assert.deepEqual(expired, []);
  await clock.tickAsync(1);
  assert.deepEqual(expired, ["b"], "b idle for 1 s");
  await clock.tickAsync(5000);
  assert.deepEqual(expired, ["b"], "a has a request in flight");
  end();
  await clock.tickAsync(999);
  assert.deepEqual(expired, ["b"]);
  await clock.tickAsync(1);
  assert.deepEqual(expired, ["b", "a"], "a expires 1 s after its last request ended");
  assert.equal(table.size, 0);
  assert.throws(
    () => new SessionTable({ idleTimeoutMs: 0, maxSessions: 1, expire: () => {} }),
    /idle timeout must be a positive number of ms, got 0/,
  );
});

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  },
});

function tinyServer(): McpServer {
  return new McpServer({ name: "tiny", version: "1" }, { capabilities: { tools: {} } });
}

/** initialize, initialized, tools/list: a used session, then abandoned (no DELETE). */
async function useAndAbandon(url: string): Promise<string> {
  const init = await fetch(url, { method: "POST", headers: HEADERS, body: INITIALIZE });
  await init.body?.cancel();
  const id = init.headers.get("mcp-session-id");
  assert.ok(id, `initialize: ${init.status}`);
  const headers = { ...HEADERS, "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" };
  for (
    const body of [
      `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
      `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
    ]
  ) {
    const res = await fetch(url, { method: "POST", headers, body });
    assert.ok(res.ok, `${body}: ${res.status}`);
    await res.body?.cancel();
  }
  return id;
}

Deno.test("MCP over HTTP: 100 sessions abandoned without DELETE are gone after the idle timeout", async () => {
  const closed = new Set<string>();
  const allClosed = Promise.withResolvers<void>();
  const http = await serveMcpHttp({
    port: 0,
    host: "127.0.0.1",
    createServer: tinyServer,
    sessionIdleTimeoutMs: 200,
    maxSessions: 100,
    onSessionClosed: (id) => {
      closed.add(id);
      if (closed.size === 100) allClosed.resolve();
    },
  });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await useAndAbandon(http.url));
    await allClosed.promise; // each one's expiry, awaited as an event
    assert.deepEqual([...closed].sort(), [...ids].sort());
    assert.equal(http.sessions, 0);
    assert.equal(http.expiredSessions, 100);
    const gone = await fetch(http.url, {
      method: "POST",
      headers: { ...HEADERS, "mcp-session-id": ids[0] },
      body: `{"jsonrpc":"2.0","id":2,"method":"ping"}`,
    });
    assert.equal(gone.status, 404, "an expired session is not found: initialize a new one");
    await gone.body?.cancel();
  } finally {
    await http.close();
  }
});

Deno.test("MCP over HTTP: one initialize past RVR_MCP_MAX_SESSIONS gets 503 with the way out", async () => {
  const http = await serveMcpHttp({
    port: 0,
    host: "127.0.0.1",
    createServer: tinyServer,
    maxSessions: 2,
  });
  try {
    const a = await useAndAbandon(http.url);
    await useAndAbandon(http.url);
    const refused = await fetch(http.url, { method: "POST", headers: HEADERS, body: INITIALIZE });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "600");
    const body = await refused.json();
    assert.equal(body.error.code, -32000);
    assert.match(
      body.error.message,
      /Too many MCP sessions: 2 are open \(RVR_MCP_MAX_SESSIONS\); end one with DELETE, wait until an idle one expires \(after 600 s, RVR_MCP_SESSION_IDLE_TIMEOUT\), or raise RVR_MCP_MAX_SESSIONS\./,
    );
    const ended = await fetch(http.url, { method: "DELETE", headers: { "mcp-session-id": a } });
    await ended.body?.cancel();
    assert.equal(http.sessions, 1);
    await useAndAbandon(http.url); // room again
    assert.equal(http.sessions, 2);
  } finally {
    await http.close();
  }
});
