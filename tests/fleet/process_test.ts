/**
 * The fleet as separate programs, the way a classroom runs it: robots are `rvr-mcp` processes
 * (RVR_FLEET_URL set, the built-in simulator as the robot), the gateway is `rvr-mcp fleet` spoken
 * to over MCP stdio. A robot killed with SIGKILL goes offline; started again with the same id it
 * rejoins (the dead one's subscriptions died with it) and answers again.
 */
import assert from "node:assert/strict";
import { StdioRpc } from "../e2e/_jsonrpc.ts";
import { spawnMain, stopProcess } from "../e2e/_process.ts";
import { NatsServer } from "./_nats.ts";
import { until } from "./_members.ts";

function robotProcess(id: string, url: string) {
  return spawnMain([], {
    RVR_SERIAL_PORT: "sim",
    RVR_FLEET_URL: url,
    RVR_ROBOT_ID: id,
    RVR_LOG_LEVEL: "info",
  });
}

/** The status line of a GET with the Host header given (fetch sets its own Host). */
async function rawGet(port: number, path: string, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
      if (text.includes("\r\n")) break;
    }
    return text.split("\r\n")[0];
  } finally {
    conn.close();
  }
}

Deno.test("fleet processes: the gateway over MCP stdio (both eras); a robot SIGKILLed and restarted", async () => {
  await using nats = await NatsServer.start();
  let robot = robotProcess("p-a", nats.url);
  const other = robotProcess("p-b", nats.url);
  const gateway = spawnMain(["fleet"], { RVR_FLEET_URL: nats.url });
  const rpc = new StdioRpc(gateway.child.stdin, gateway.stdout);
  const robots = async () => {
    const r = await rpc.callTool("list_robots");
    assert.ok(!r.isError, JSON.stringify(r));
    return (r.structuredContent?.robots ?? []) as { id: string; status: string }[];
  };
  try {
    await rpc.initialize();
    for (const p of [robot, other]) {
      await p.stderr.waitFor((l) => l.includes("joined fleet default"), "the robot joining");
    }
    await until(async () => (await robots()).length === 2, "two robots listed", 15_000, 200);

    // The gateway serves both protocol eras on stdio, like `serve`: a 2026-07-28 client too.
    // With a side port too: its classroom page answers on its own Host, not on another site's.
    const modern = spawnMain(["fleet"], {
      RVR_FLEET_URL: nats.url,
      RVR_HTTP_PORT: "0",
      RVR_LOG_LEVEL: "info",
    });
    try {
      const rpc26 = new StdioRpc(modern.child.stdin, modern.stdout);
      await rpc26.discover();
      const listening = await modern.stderr.waitFor(
        (l) => l.includes("Fleet side port on"),
        "the gateway's side port",
      );
      const port = JSON.parse(listening).port as number;
      assert.equal((await rawGet(port, "/healthz", `127.0.0.1:${port}`)).split(" ")[1], "200");
      assert.equal((await rawGet(port, "/healthz", `evil.example:${port}`)).split(" ")[1], "403");
      await until(
        async () => {
          const r = await rpc26.callTool("list_robots");
          assert.ok(!r.isError, JSON.stringify(r));
          return ((r.structuredContent?.robots ?? []) as unknown[]).length === 2;
        },
        "two robots listed by the 2026-era gateway",
        15_000,
        200,
      );
      const b = await rpc26.callTool("get_battery_status", { robot: "p-b" });
      assert.ok(!b.isError, JSON.stringify(b));
      assert.equal(typeof b.structuredContent?.percentage, "number");
    } finally {
      await stopProcess(modern);
    }

    const battery = await rpc.callTool("get_battery_status", { robot: "p-a" });
    assert.ok(!battery.isError, JSON.stringify(battery));
    assert.equal(battery.structuredContent?.simulated_robot, true);
    assert.equal(typeof battery.structuredContent?.percentage, "number");
    const unknown = await rpc.callTool("get_battery_status", { robot: "p-zz" });
    assert.equal(unknown.isError, true);
    assert.match(unknown.content[0].text, /the robots are p-a, p-b/);

    robot.child.kill("SIGKILL");
    await robot.child.status;
    await until(
      async () => (await robots()).find((r) => r.id === "p-a")?.status === "offline",
      "p-a offline",
      15_000,
      200,
    );
    const offline = await rpc.callTool("get_battery_status", { robot: "p-a" });
    assert.equal(offline.isError, true);
    assert.match(offline.content[0].text, /offline: last seen/);

    robot = robotProcess("p-a", nats.url);
    await robot.stderr.waitFor((l) => l.includes("joined fleet default"), "p-a rejoining");
    await until(
      async () => (await robots()).find((r) => r.id === "p-a")?.status === "online",
      "p-a online again",
      15_000,
      200,
    );
    const again = await rpc.callTool("get_battery_status", { robot: "p-a" });
    assert.ok(!again.isError, JSON.stringify(again));

    const estop = await rpc.callTool("emergency_stop");
    assert.ok(!estop.isError, JSON.stringify(estop));
    const lines = estop.structuredContent?.robots as { robot: string; confirmed: boolean }[];
    assert.deepEqual(lines.map((l) => [l.robot, l.confirmed]), [["p-a", true], ["p-b", true]]);
    for (const p of [robot, other]) {
      await p.stderr.waitFor((l) => l.includes("Emergency stop latched: fleet e-stop"), "latched");
    }
  } finally {
    for (const p of [robot, other, gateway]) await stopProcess(p);
  }
});
