/**
 * The MCP server as a user runs it: `deno task start`, spoken to over stdio (in-process
 * simulator, and over a real pty against `deno task sim`), and over Streamable HTTP.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type LineReader, openPtyPair, spawnTask } from "./_process.ts";
import { StdioRpc } from "./_jsonrpc.ts";

async function driveSession(rpc: StdioRpc, stderr: LineReader): Promise<void> {
  const init = await rpc.initialize();
  assert.equal((init.serverInfo as { name: string }).name, "rvr-mcp");
  const { tools } = await rpc.request("tools/list") as { tools: { name: string }[] };
  assert.ok(tools.length >= 42, `${tools.length} tools`);
  // The robot connects beside MCP: its log says when it answers.
  await stderr.waitFor((l) => l.includes("Ready:"), "the robot to answer");
  const status = await rpc.callTool("get_connection_status");
  assert.equal(status.structuredContent?.status, "connected", JSON.stringify(status));
  const battery = await rpc.callTool("get_battery_status");
  assert.equal(battery.isError, undefined);
  assert.equal(typeof battery.structuredContent?.percentage, "number");
  const drive = await rpc.callTool("drive_with_heading", { speed: 200, heading: 90 });
  assert.equal(drive.isError, undefined, JSON.stringify(drive));
  const estop = await rpc.callTool("emergency_stop");
  assert.equal(estop.isError, undefined, JSON.stringify(estop));
  const refused = await rpc.callTool("drive_with_heading", { speed: 50, heading: 0 });
  assert.equal(refused.isError, true);
  assert.match(
    refused.content[0].text,
    /emergency stop is active: call clear_emergency_stop first/,
  );
  const read = await rpc.request("resources/read", { uri: "rvr://status" }) as {
    contents: { text: string }[];
  };
  assert.ok(JSON.parse(read.contents[0].text));
  rpc.assertOnlyJsonRpc();
}

Deno.test("stdio: deno task start on the simulator serves MCP; stdout carries only JSON-RPC", async () => {
  const server = spawnTask("start", [], { RVR_SERIAL_PORT: "sim" });
  const rpc = new StdioRpc(server.child.stdin, server.stdout);
  try {
    await driveSession(rpc, server.stderr);
  } finally {
    await rpc.close();
  }
  const status = await server.child.status;
  await Promise.all([server.stdout.done, server.stderr.done]);
  assert.equal(status.code, 0, server.stderr.lines.join("\n"));
  rpc.assertOnlyJsonRpc();
  assert.ok(server.stderr.lines.some((l) => l.includes("Shutting down (stdin_eof)")));
  for (const line of server.stderr.lines) JSON.parse(line); // logs: one JSON object per line
});

Deno.test("stdio over a real pty: deno task start against deno task sim", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-mcp-e2e-" });
  const pty = await openPtyPair(dir);
  const sim = spawnTask("sim", ["--port", pty.b]);
  try {
    await sim.stderr.waitFor((l) => l.includes("Simulated RVR listening"), "the simulator");
    const server = spawnTask("start", [], { RVR_SERIAL_PORT: pty.a });
    const rpc = new StdioRpc(server.child.stdin, server.stdout);
    try {
      await driveSession(rpc, server.stderr);
    } finally {
      await rpc.close();
    }
    const status = await server.child.status;
    await Promise.all([server.stdout.done, server.stderr.done]);
    assert.equal(status.code, 0, server.stderr.lines.join("\n"));
  } finally {
    sim.child.kill("SIGTERM");
    await sim.child.status;
    await sim.child.stdin.close();
    await Promise.all([sim.stdout.done, sim.stderr.done]);
    await pty.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a wrong serial port: MCP keeps serving and tells the client exactly what is wrong", async () => {
  const server = spawnTask("start", [], { RVR_SERIAL_PORT: "/dev/does-not-exist-rvr" });
  const rpc = new StdioRpc(server.child.stdin, server.stdout);
  try {
    await rpc.initialize();
    await server.stderr.waitFor((l) => l.includes("raspi-config"), "the port error in the log");
    const status = await rpc.callTool("get_connection_status");
    assert.match(JSON.stringify(status), /\/dev\/does-not-exist-rvr does not exist/);
    const connect = await rpc.callTool("connect");
    assert.equal(connect.isError, true);
    assert.match(connect.content[0].text, /does not exist.*raspi-config/s);
    rpc.assertOnlyJsonRpc();
  } finally {
    await rpc.close();
  }
  const status = await server.child.status;
  await Promise.all([server.stdout.done, server.stderr.done]);
  assert.equal(status.code, 0);
});

Deno.test("Streamable HTTP beside stdio, with an API key", async () => {
  const key = "e2e-key-0123456789abcdef";
  const server = spawnTask("start", [], {
    RVR_SERIAL_PORT: "sim",
    RVR_MCP_HTTP_PORT: "0",
    RVR_API_KEY: key,
  });
  try {
    const line = await server.stderr.waitFor(
      (l) => l.includes("MCP over Streamable HTTP at"),
      "HTTP",
    );
    const url = JSON.parse(line).url as string;
    const denied = await fetch(url, { method: "POST", body: "{}" });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const client = new Client({ name: "e2e-http", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === "get_battery_status"));
    await client.close();
  } finally {
    await server.child.stdin.close();
    const status = await server.child.status;
    await Promise.all([server.stdout.done, server.stderr.done]);
    assert.equal(status.code, 0, server.stderr.lines.join("\n"));
  }
});

Deno.test("the side port and the telemetry recording from deno task start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-sideport-e2e-" });
  const file = `${dir}/telemetry.jsonl`;
  const server = spawnTask("start", [], {
    RVR_SERIAL_PORT: "sim",
    RVR_HTTP_PORT: "0",
    RVR_TELEMETRY_FILE: file,
  });
  const rpc = new StdioRpc(server.child.stdin, server.stdout);
  try {
    await rpc.initialize();
    const line = await server.stderr.waitFor((l) => l.includes("Side port at"), "the side port");
    const base = JSON.parse(line).url as string;
    await server.stderr.waitFor((l) => l.includes("Ready:"), "the robot");
    const health = await fetch(new URL("/healthz", base));
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
    const ready = await fetch(new URL("/readyz", base));
    assert.equal(ready.status, 200, await ready.clone().text());
    await ready.body?.cancel();
    const metrics = await (await fetch(new URL("/metrics", base))).text();
    assert.match(metrics, /^rvr_connection_state\{state="connected"\} 1$/m);
    const page = await fetch(new URL("/", base));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>[^<]*RVR/);
    await rpc.callTool("drive_with_heading", { speed: 60, heading: 0 });
    await rpc.callTool("stop");
  } finally {
    await rpc.close();
  }
  const status = await server.child.status;
  await Promise.all([server.stdout.done, server.stderr.done]);
  assert.equal(status.code, 0, server.stderr.lines.join("\n"));
  // One JSON line per batch; the drive's safety and state events are in it.
  const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.length >= 1, `${lines.length} batches recorded`);
  const events = lines.flatMap((b) => b.events) as {
    topic: string;
    payload: {
      aspect?: string;
      next?: { status?: string };
      sensor?: string;
      values?: { percent?: number; volts?: number };
    };
  }[];
  // The battery read at connect is in the recording, volts included (the dashboard shows it).
  const battery = events.find((e) => e.topic === "robot.sample" && e.payload.sensor === "battery");
  assert.ok(battery, "a battery sample in the recording");
  assert.equal(typeof battery.payload.values?.percent, "number");
  assert.ok((battery.payload.values?.volts ?? 0) > 6, JSON.stringify(battery.payload));
  // The last window was flushed at shutdown: the final state change is in the file.
  assert.ok(
    events.some((e) =>
      e.topic === "robot.state" && e.payload.aspect === "connection" &&
      e.payload.next?.status === "disconnected"
    ),
    events.map((e) => e.topic).join(", "),
  );
  await Deno.remove(dir, { recursive: true });
});
