/**
 * The gateway stops the robots it drove when its MCP client leaves, as `serve` stops its robot:
 * a real nats-server, a `fleet-sim` classroom of two (debug logs: every command each simulated
 * robot receives, with its name: the robot's side of its wire), and `rvr-mcp fleet` spoken to over
 * stdio. sim-01 is driven through the gateway; then the gateway's stdin is closed (and, in a second
 * run, it gets SIGTERM): sim-01 receives drive_stop before the gateway exits 0, and sim-02, which
 * the gateway never drove, receives none. Over MCP HTTP, a session's end (DELETE) stops the robot
 * that session drove. The robots' auto-stop is off (RVR_COMMAND_TIMEOUT=0), so the only drive_stop
 * there can be is the gateway's.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioRpc } from "../e2e/_jsonrpc.ts";
import { type LineReader, spawnMain, stopProcess } from "../e2e/_process.ts";
import { DrivenRobots, MOVES } from "../../src/fleet/mod.ts";
import { NatsServer } from "./_nats.ts";
import { until } from "./_members.ts";

/** A debug line of the simulator: robot `robot` received drive_stop. */
function driveStopOf(robot: string): (line: string) => boolean {
  return (line) =>
    line.includes('"command":"drive_stop"') && line.includes(`"robot":"${robot}"`) &&
    line.includes("Received drive_stop");
}

/**
 * Once `robot` received the drive: how many drive_stops sim-01 and sim-02 had received so far
 * (what the gateway sends afterwards is counted from there).
 */
async function stopsAfterDrive(log: LineReader, robot: string): Promise<[number, number]> {
  await log.waitFor(
    (l) => l.includes("Received drive_with_heading") && l.includes(`"robot":"${robot}"`),
    `${robot} receiving the drive`,
  );
  return [
    log.lines.filter(driveStopOf("sim-01")).length,
    log.lines.filter(driveStopOf("sim-02")).length,
  ];
}

/** The `n`th (1-based) line passing `test`, once it is there. */
function nth(reader: LineReader, test: (line: string) => boolean, n: number, what: string) {
  let seen = 0;
  return reader.waitFor((line) => test(line) && ++seen >= n, what, 15_000);
}

Deno.test("fleet gateway: its client leaving (stdin EOF, SIGTERM, an HTTP session ending) stops the robots it drove", async (t) => {
  await using nats = await NatsServer.start();
  const classroom = spawnMain(["fleet-sim", "--robots", "2"], {
    RVR_FLEET_URL: nats.url,
    RVR_LOG_LEVEL: "debug",
    RVR_COMMAND_TIMEOUT: "0",
  });
  try {
    for (const id of ["sim-01", "sim-02"]) {
      await classroom.stderr.waitFor((l) => l.includes(`${id} joined fleet default`), id, 20_000);
    }
    const ways: [string, (gateway: ReturnType<typeof spawnMain>, rpc: StdioRpc) => unknown][] = [
      ["stdin_eof", (_gateway, rpc) => rpc.close()],
      ["sigterm", (gateway) => gateway.child.kill("SIGTERM")],
    ];
    for (const [reason, leave] of ways) {
      await t.step(
        `${reason}: drive_stop on the driven robot's wire, none on the other's`,
        async () => {
          const gateway = spawnMain(["fleet"], { RVR_FLEET_URL: nats.url });
          const rpc = new StdioRpc(gateway.child.stdin, gateway.stdout);
          try {
            await rpc.initialize();
            // Polled over MCP: the gateway's registry is in another process.
            await until(
              async () => {
                const r = await rpc.callTool("list_robots");
                const robots = (r.structuredContent?.robots ?? []) as { status: string }[];
                return robots.filter((x) => x.status === "online").length === 2;
              },
              "two robots online",
              15_000,
              200,
            );
            const drive = await rpc.callTool("drive_with_heading", {
              robot: "sim-01",
              speed: 10,
              heading: 90,
            });
            assert.ok(!drive.isError, JSON.stringify(drive));
            const [before1, before2] = await stopsAfterDrive(classroom.stderr, "sim-01");

            await leave(gateway, rpc);
            await nth(classroom.stderr, driveStopOf("sim-01"), before1 + 1, "sim-01's drive_stop");
            assert.equal((await gateway.child.status).code, 0);
            await gateway.stderr.done;
            assert.ok(
              gateway.stderr.lines.some((l) => l.includes(`Fleet gateway stopping (${reason})`)),
              gateway.stderr.lines.join("\n"),
            );
            assert.ok(
              gateway.stderr.lines.some((l) => l.includes("Stopped sim-01; not confirmed: none")),
              gateway.stderr.lines.join("\n"),
            );
            assert.equal(
              classroom.stderr.lines.filter(driveStopOf("sim-02")).length,
              before2,
              "the robot the gateway never drove is left alone",
            );
          } finally {
            await stopProcess(gateway);
          }
        },
      );
    }

    await t.step(
      "an MCP HTTP session ending (DELETE): drive_stop on the robot it drove, none on the other's",
      async () => {
        const gateway = spawnMain(["fleet"], {
          RVR_FLEET_URL: nats.url,
          RVR_MCP_HTTP_PORT: "0",
          RVR_MCP_STDIO: "false",
          RVR_LOG_LEVEL: "info",
        });
        try {
          const line = await gateway.stderr.waitFor(
            (l) => l.includes("MCP over Streamable HTTP at"),
            "the gateway's HTTP endpoint",
          );
          const transport = new StreamableHTTPClientTransport(new URL(JSON.parse(line).url));
          const client = new Client({ name: "gateway-leave", version: "1" });
          await client.connect(transport);
          await until(
            async () => {
              const r = await client.callTool({ name: "list_robots" });
              const robots = (r.structuredContent as { robots?: { status: string }[] })
                ?.robots ?? [];
              return robots.filter((x) => x.status === "online").length === 2;
            },
            "two robots online",
            15_000,
            200,
          );
          const drive = await client.callTool({
            name: "drive_with_heading",
            arguments: { robot: "sim-02", speed: 10, heading: 90 },
          });
          assert.ok(!drive.isError, JSON.stringify(drive));
          const [before1, before2] = await stopsAfterDrive(classroom.stderr, "sim-02");

          await transport.terminateSession(); // DELETE: the client is done with its session
          await client.close();
          await nth(classroom.stderr, driveStopOf("sim-02"), before2 + 1, "sim-02's drive_stop");
          await gateway.stderr.waitFor(
            (l) => l.includes("Stopped sim-02; not confirmed: none"),
            "the gateway's account of the stop",
          );
          assert.equal(
            classroom.stderr.lines.filter(driveStopOf("sim-01")).length,
            before1,
            "the robot the session never drove is left alone",
          );
        } finally {
          await stopProcess(gateway);
        }
      },
    );
  } finally {
    await stopProcess(classroom);
  }
});

Deno.test("fleet gateway: what counts as driving a robot", () => {
  for (const t of ["drive_with_heading", "drive_tank", "drive_rc", "drive_raw_motors"]) {
    assert.ok(MOVES.has(t), t);
  }
  for (const t of ["drive_to_position", "pivot", "start_ir_following", "start_ir_evading"]) {
    assert.ok(MOVES.has(t), t);
  }
  for (const t of ["stop", "emergency_stop", "clear_emergency_stop", "reset_yaw", "set_all_leds"]) {
    assert.ok(!MOVES.has(t), t);
  }
});

Deno.test("fleet gateway: an ending session stops what it drove, also a robot another session drove since", async () => {
  const driven = new DrivenRobots();
  driven.note("r1", "drive_with_heading", "A");
  driven.note("r2", "drive_tank", "B");
  driven.note("r3", "drive_rc", "A");
  driven.note("r3", "pivot", "B");
  driven.note("r4", "get_battery_status", "A"); // not a movement
  driven.note("r5", "drive_rc"); // no session (stdio)
  assert.deepEqual(driven.drivenBy("A"), ["r1", "r3"]);
  const stopped: string[] = [];
  const stop = (id: string) => {
    stopped.push(id);
    return Promise.resolve();
  };
  const a = await driven.stopAll("A", stop);
  assert.deepEqual(a.map((s) => [s.robot, s.stopped]), [["r1", true], ["r3", true]]);
  assert.deepEqual(stopped, ["r1", "r3"]);
  assert.deepEqual(driven.ids, ["r2", "r5"], "stopped robots are no longer driven");
  await driven.stopAll(undefined, stop); // the gateway's own client leaving: every one
  assert.deepEqual(stopped, ["r1", "r3", "r2", "r5"]);
  assert.deepEqual(driven.ids, []);
});
