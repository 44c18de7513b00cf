/**
 * Issue 13's timings and memory, on the real program (`deno run -A <the program's V8 flags>
 * main.ts` on the simulator, MCP on stdio and over HTTP):
 *
 * - a 5 MB stdio line refused (a JSON-RPC error at the 1 MiB limit; the rest skipped to its
 *   newline) and the next request answered;
 * - a 20 MB HTTP body without Content-Length refused with 413 while streaming;
 * - before the benches, the program's RSS (VmRSS) idle and after each of 3 rounds of 100 2025-era
 *   HTTP sessions (initialize, tools/list, a tool call, abandoned without DELETE), each round
 *   measured once the idle timeout (1 s here) has ended all of its sessions: printed with the
 *   ratio to idle. Above issue 13's target of 1.5x idle after the third round the file throws, so
 *   `deno bench` and the gate (bench/gate.ts) fail: the garbage of ended sessions must be
 *   collected and its pages given back (one tools/list per session converts no schema anew:
 *   src/mcp/_listed_schema.ts; V8's --optimize-for-size, among the program's V8 flags, keeps the
 *   heap within 1.3x of what is live). Measured 1.16-1.36x after the third round; 1.8-1.9x, and
 *   growing each round, before.
 */
import { LineReader, programV8Flags, ROOT } from "../tests/e2e/_process.ts";
import { StdioRpc } from "../tests/e2e/_jsonrpc.ts";

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", programV8Flags(), `${ROOT}main.ts`],
  cwd: ROOT,
  env: {
    NO_COLOR: "1",
    RVR_SERIAL_PORT: "sim",
    RVR_MCP_HTTP_PORT: "0",
    RVR_MCP_SESSION_IDLE_TIMEOUT: "1",
    RVR_MCP_MAX_SESSIONS: "100",
    RVR_COMMAND_TIMEOUT: "0",
  },
  stdin: "piped",
  stdout: "piped",
  stderr: "piped",
}).spawn();
const stdout = new LineReader(child.stdout);
const stderr = new LineReader(child.stderr);
const rpc = new StdioRpc(child.stdin, stdout);
await rpc.initialize();
await stderr.waitFor((l) => l.includes("Ready:"), "the robot to answer");
const url = String(
  JSON.parse(await stderr.waitFor((l) => l.includes("MCP over Streamable HTTP at"), "MCP HTTP"))
    .url,
);

function rssMb(): number {
  const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

async function post(body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, { method: "POST", headers: { ...HEADERS, ...headers }, body });
  await res.body?.cancel();
  return res;
}

async function session(): Promise<void> {
  const init = await post(JSON.stringify({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "b", version: "1" },
    },
  }));
  const id = init.headers.get("mcp-session-id");
  if (!id) throw new Error(`initialize answered ${init.status}`);
  const h = { "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" };
  await post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, h);
  await post(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h);
  await post(
    `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_safety_status","arguments":{}}}`,
    h,
  );
}

const ended = () => stderr.lines.filter((l) => l.includes("ended (idle for")).length;
/** Issue 13's target: RSS after the third round of 100 sessions at most this many times idle. */
const TARGET_RATIO = 1.5;
const ROUNDS = 3;
const idle = rssMb();
const rounds: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let i = 0; i < 10; i++) await session();
  }));
  const target = round * 100;
  await stderr.waitFor(() => ended() >= target, `${target} sessions to expire`, 60_000);
  rounds.push(rssMb());
}
const ratio = rounds[ROUNDS - 1] / idle;
console.error(
  `RSS idle ${idle.toFixed(1)} MB; after each round of 100 sessions, all expired: ${
    rounds.map((r) => `${r.toFixed(1)} MB (${(r / idle).toFixed(2)}x)`).join(", ")
  }; target <= ${TARGET_RATIO}x after round ${ROUNDS}`,
);
if (ratio > TARGET_RATIO) {
  child.kill("SIGTERM");
  await child.status;
  throw new Error(
    `RSS after ${ROUNDS} rounds of 100 abandoned MCP HTTP sessions is ${ratio.toFixed(2)}x idle ` +
      `(${rounds[ROUNDS - 1].toFixed(1)} MB against ${idle.toFixed(1)} MB), above issue 13's ` +
      `${TARGET_RATIO}x: what ended sessions leave is not collected or its pages not given back. ` +
      "Compare heap snapshots of the program before and after the rounds (--inspect).",
  );
}

const line = new Uint8Array(5 * 1024 * 1024).fill(0x61);
line.set(new TextEncoder().encode(`{"jsonrpc":"2.0","id":"huge","method":"ping","params":{"p":"`));
line[line.length - 1] = 0x0a;

Deno.bench("stdio: a 5 MB line refused, then the next request answered", async () => {
  await rpc.writeRaw(line);
  await rpc.request("ping");
});

const body = new Uint8Array(20 * 1024 * 1024).fill(0x20);
Deno.bench("HTTP: a 20 MB body without Content-Length refused with 413", async () => {
  const res = await fetch(url, {
    method: "POST",
    headers: HEADERS,
    body: new Blob([body]).stream(),
  });
  await res.body?.cancel();
  if (res.status !== 413) throw new Error(`answered ${res.status}`);
});

globalThis.addEventListener("unload", () => {
  rpc.close().catch((e) => {
    console.error(`mcp_limits_bench: closing the server's stdin failed: ${e}`);
  });
});
