/** MCP over Streamable HTTP: a real SDK client against a real McpServer per session, with and without a key. */
import assert from "node:assert/strict";
import { McpServer } from "@modelcontextprotocol/server";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "@modelcontextprotocol/client";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";
import { ConfigError } from "../../src/config.ts";
import { authorized, bindHost } from "../../src/http/auth.ts";
import { serveMcpHttp } from "../../src/mcp/http.ts";

function tinyServer(): McpServer {
  const server = new McpServer({ name: "tiny", version: "1" });
  server.registerTool("double", {
    title: "Double",
    inputSchema: { n: z.number() },
    outputSchema: { doubled: z.number() },
  }, ({ n }) => ({
    content: [{ type: "text", text: String(2 * n) }],
    structuredContent: { doubled: 2 * n },
  }));
  return server;
}

async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: "test", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: key ? { headers: { authorization: `Bearer ${key}` } } : {},
  });
  await client.connect(transport);
  return client;
}

Deno.test("MCP over HTTP on loopback: two sessions, tool calls, session end reported", async () => {
  const closed: string[] = [];
  const http = await serveMcpHttp({
    port: 0,
    host: "127.0.0.1",
    createServer: tinyServer,
    onSessionClosed: (id) => {
      closed.push(id);
    },
  });
  try {
    assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const a = await connect(http.url);
    const b = await connect(http.url);
    assert.equal(http.sessions, 2);
    const result = await a.callTool({ name: "double", arguments: { n: 21 } });
    assert.deepEqual(result.structuredContent, { doubled: 42 });
    assert.deepEqual((await b.listTools()).tools.map((t) => t.name), ["double"]);
    await (a.transport as StreamableHTTPClientTransport).terminateSession();
    await a.close();
    assert.equal(closed.length, 1);
    await b.close();
    const stray = await fetch(http.url.replace("/mcp", "/other"));
    assert.equal(stray.status, 404);
    await stray.body?.cancel();
    const noSession = await fetch(http.url, { method: "GET" });
    assert.equal(noSession.status, 400);
    await noSession.body?.cancel();
  } finally {
    await http.close();
  }
});

Deno.test("MCP over HTTP with an API key: 401 without the bearer token, served with it", async () => {
  const key = "k".repeat(24);
  const http = await serveMcpHttp({
    port: 0,
    host: "127.0.0.1",
    apiKey: key,
    createServer: tinyServer,
  });
  try {
    const denied = await fetch(http.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    await assert.rejects(connect(http.url, "wrong".repeat(4)));
    const client = await connect(http.url, key);
    const result = await client.callTool({ name: "double", arguments: { n: 2 } });
    assert.deepEqual(result.structuredContent, { doubled: 4 });
    await client.close();
  } finally {
    await http.close();
  }
});

Deno.test("MCP over HTTP with an API key, 2026-07-28 era: the same 401 without it, served with it", async () => {
  const key = "m".repeat(24);
  const http = await serveMcpHttp({
    port: 0,
    host: "127.0.0.1",
    apiKey: key,
    createServer: tinyServer,
  });
  const connect = async (bearer: string) => {
    const client = new ModernClient({ name: "test-2026", version: "1" }, {
      versionNegotiation: { mode: { pin: "2026-07-28" } },
    });
    await client.connect(
      new ModernHttpTransport(new URL(http.url), {
        requestInit: { headers: { authorization: `Bearer ${bearer}` } },
      }),
    );
    return client;
  };
  try {
    await assert.rejects(connect("wrong".repeat(5)), /401/);
    const client = await connect(key);
    assert.equal(client.getProtocolEra(), "modern");
    const result = await client.callTool({ name: "double", arguments: { n: 5 } });
    assert.deepEqual(result.structuredContent, { doubled: 10 });
    assert.equal(http.sessions, 0, "no session in the 2026 era");
    await client.close();
  } finally {
    await http.close();
  }
});

Deno.test("binding: loopback without a key, refused elsewhere without one", async () => {
  assert.equal(bindHost("localhost", undefined), "127.0.0.1");
  assert.equal(bindHost("0.0.0.0", "k".repeat(16)), "0.0.0.0");
  assert.throws(
    () => bindHost("0.0.0.0", undefined),
    /Refusing to serve MCP over HTTP on 0\.0\.0\.0 without RVR_API_KEY/,
  );
  assert.throws(() => bindHost("0.0.0.0", undefined), ConfigError, "the program exits 2");
  const req = (auth?: string) =>
    new Request("http://x/mcp", { headers: auth ? { authorization: auth } : {} });
  assert.equal(await authorized(req(`Bearer ${"a".repeat(20)}`), "a".repeat(20)), true);
  assert.equal(await authorized(req(`Bearer ${"a".repeat(19)}`), "a".repeat(20)), false);
  assert.equal(await authorized(req("Basic abc"), "abc"), false);
  assert.equal(await authorized(req(), "abc"), false);
});
