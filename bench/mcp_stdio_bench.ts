/**
 * tools/call round trips through the real program over stdio, as an MCP client sees them:
 * `deno run -A <the program's V8 flags> main.ts` (as `deno task start`) on the built-in simulator, and on `main.ts sim` across a socat pty.
 * Targets (issue 4): median < 2 ms, p99 < 5 ms. Deno prints avg, p75 and p99; the median is at
 * most p75.
 */
import { LineReader, programV8Flags, ROOT, simulatorOnPty } from "../tests/e2e/_process.ts";
import { StdioRpc } from "../tests/e2e/_jsonrpc.ts";

interface Served {
  rpc: StdioRpc;
  close(): Promise<void>;
}

async function serve(env: Record<string, string>): Promise<Served> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", programV8Flags(), `${ROOT}main.ts`],
    cwd: ROOT,
    env: { NO_COLOR: "1", RVR_LOG_LEVEL: "info", RVR_COMMAND_TIMEOUT: "0", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new LineReader(child.stdout);
  const stderr = new LineReader(child.stderr);
  const rpc = new StdioRpc(child.stdin, stdout);
  await rpc.initialize();
  await stderr.waitFor((l) => l.includes("Ready:"), "the robot to answer");
  return {
    rpc,
    close: async () => {
      await rpc.close();
      await child.status;
      await Promise.all([stdout.done, stderr.done]);
    },
  };
}

const local = await serve({ RVR_SERIAL_PORT: "sim" });

const simulator = await simulatorOnPty("rvr-bench-");
const overPty = await serve({ RVR_SERIAL_PORT: simulator.pty.a });

let heading = 0;
for (const [label, served] of [["in-process simulator", local], ["pty + sim", overPty]] as const) {
  Deno.bench({
    name: `stdio tools/call get_battery_status (${label})`,
    group: `get_battery_status`,
    async fn() {
      await served.rpc.callTool("get_battery_status");
    },
  });
  Deno.bench({
    name: `stdio tools/call drive_with_heading (${label})`,
    group: `drive_with_heading`,
    async fn() {
      heading = (heading + 7) % 360;
      await served.rpc.callTool("drive_with_heading", { speed: 40, heading });
    },
  });
}

globalThis.addEventListener("unload", () => {
  // Benches are done: the clients go away (stdin EOF stops each robot) and the processes end.
  void (async () => {
    await local.close();
    await overPty.close();
    await simulator.close();
  })();
});
