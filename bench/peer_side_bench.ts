/**
 * The program's side of the side-by-side bench against Sphero's official Python SDK (README,
 * "Speed"): the same requests, on the same kind of robot (the simulator, `main.ts sim --port`, on
 * a socat pty), but through this program's whole path - an MCP client writes `tools/call` on the
 * server's stdin, the server (run as `deno task start` runs it) goes schema -> handler -> safety
 * -> queue -> link -> pty -> robot and back, and the client reads the answer on stdout.
 *
 * - `get_ambient_light`: one robot request (the SDK's `get_ambient_light_sensor_value()`).
 * - `get_battery_status`: three robot requests (percentage, voltage state, volts; the thresholds
 *   are read once per connection), the SDK's three calls one after another.
 *
 * At load it runs RVR_PEER_BLOCKS (default 3) blocks of N calls of each (`RVR_PEER_N`, default
 * 300), timed from Python by bench/_stdio_client.py (a lean client, as the SDK's side is timed),
 * each block with the server started anew. With `RVR_PEER_SCRIPT=<the SDK's script>` (and
 * `SPHERO_SDK_PATH` for it) each of our blocks follows a block of that script on the same pty
 * against the same simulator, so a change in the machine's load weighs on both sides; it prints
 * the median of each side's block p50s, their spread, and the ratios: one run, one machine, one
 * robot. Then a Deno client times the same calls once more, and Deno.bench times them for the
 * gate (bench/budgets.json).
 *
 * `RVR_BENCH_DENO_FLAGS` replaces the server's Deno flags (default: the program's V8 flags, as
 * `deno task start` has them), to weigh another trade, e.g. `--v8-flags=--max-opt=2`.
 *
 *   RVR_PEER_SCRIPT=... SPHERO_SDK_PATH=... deno bench -A bench/peer_side_bench.ts
 */
import { LineReader, programV8Flags, ROOT, simulatorOnPty } from "../tests/e2e/_process.ts";

const N = Number(Deno.env.get("RVR_PEER_N") ?? "300");
const BLOCKS = Number(Deno.env.get("RVR_PEER_BLOCKS") ?? "3");
if (!Number.isInteger(BLOCKS) || BLOCKS < 1) {
  throw new RangeError(
    `RVR_PEER_BLOCKS must be an integer >= 1, got ${Deno.env.get("RVR_PEER_BLOCKS")}.`,
  );
}
if (!Number.isInteger(N) || N < 20) {
  throw new RangeError(`RVR_PEER_N must be an integer >= 20, got ${Deno.env.get("RVR_PEER_N")}.`);
}

/** A lean MCP client on a child's stdio: answers matched by id, nothing kept. */
class LeanClient {
  #id = 0;
  #pending = new Map<number, (message: Record<string, unknown>) => void>();
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();
  readonly done: Promise<void>;

  constructor(stdin: WritableStream<Uint8Array>, stdout: ReadableStream<Uint8Array>) {
    this.#writer = stdin.getWriter();
    this.done = this.#read(stdout);
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    for await (const text of stdout.pipeThrough(new TextDecoderStream())) {
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        const message = JSON.parse(line);
        const resolve = this.#pending.get(message.id);
        if (resolve === undefined) continue; // a notification
        this.#pending.delete(message.id);
        resolve(message);
      }
    }
  }

  async request(method: string, params: unknown): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    const answer = new Promise<Record<string, unknown>>((resolve) => {
      this.#pending.set(id, resolve);
    });
    await this.#writer.write(
      this.#encoder.encode(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n"),
    );
    const message = await answer;
    if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
    return message.result as Record<string, unknown>;
  }

  async callTool(name: string): Promise<void> {
    const result = await this.request("tools/call", { name, arguments: {} });
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  }

  async notify(method: string): Promise<void> {
    await this.#writer.write(
      this.#encoder.encode(JSON.stringify({ jsonrpc: "2.0", method, params: {} }) + "\n"),
    );
  }

  close(): Promise<void> {
    return this.#writer.close();
  }
}

interface Summary {
  p50: number;
  p95: number;
  max: number;
}

/** The same summary as the SDK's script: median, the 95th by index, max; ms, 3 decimals. */
function summary(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const p50 = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r(p50), p95: r(s[Math.floor(0.95 * (s.length - 1))]), max: r(s[s.length - 1]) };
}

async function time(n: number, fn: () => Promise<void>): Promise<Summary> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up, as the SDK's echo round warms its side
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return summary(xs);
}

const simulator = await simulatorOnPty("rvr-peer-");
const pty = simulator.pty;

const serverFlags = (Deno.env.get("RVR_BENCH_DENO_FLAGS") ?? programV8Flags()).split(" ")
  .filter(Boolean);
const serverEnv = {
  NO_COLOR: "1",
  RVR_LOG_LEVEL: "info",
  RVR_COMMAND_TIMEOUT: "0",
  RVR_SERIAL_PORT: pty.a,
};

/** Runs a Python script to its end; its last stdout line, parsed as JSON. */
async function pythonJson(what: string, python: string, args: string[]) {
  const out = await new Deno.Command(python, {
    args,
    cwd: ROOT,
    env: serverEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${what} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "");
}

/** The median of the blocks' p50s, and the spread of them. */
function pooled(blocks: Summary[]): { p50: number; low: number; high: number } {
  const p50s = blocks.map((b) => b.p50).sort((a, b) => a - b);
  return { p50: p50s[p50s.length >> 1], low: p50s[0], high: p50s[p50s.length - 1] };
}

// Both sides in alternating blocks, each run anew on the same pty and simulator: SDK, ours, SDK,
// ours, ... so a change in the machine's load during the run weighs on both. This program's side
// is timed as the SDK's side is, from Python (bench/_stdio_client.py: a lean client, blocking
// reads, one write per request, that spawns the server as `deno task start` runs it).
const peerScript = Deno.env.get("RVR_PEER_SCRIPT");
const peerBlocks: Record<string, Summary>[] = [];
const ourBlocks: Record<string, Summary>[] = [];
for (let block = 0; block < BLOCKS; block++) {
  if (peerScript) {
    peerBlocks.push(
      await pythonJson(`The SDK's script ${peerScript}`, "/usr/bin/python3", [
        peerScript,
        pty.a,
        "--n",
        String(N),
      ]),
    );
  }
  ourBlocks.push(
    await pythonJson("bench/_stdio_client.py", "python3", [
      `${ROOT}bench/_stdio_client.py`,
      "--n",
      String(N),
      "--",
      Deno.execPath(),
      "run",
      "-A",
      ...serverFlags,
      `${ROOT}main.ts`,
    ]),
  );
}

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", ...serverFlags, `${ROOT}main.ts`],
  cwd: ROOT,
  env: serverEnv,
  stdin: "piped",
  stdout: "piped",
  stderr: "piped",
}).spawn();
const serverLog = new LineReader(server.stderr);
const client = new LeanClient(server.stdin, server.stdout);
await client.request("initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "peer-side-bench", version: "1" },
});
await client.notify("notifications/initialized");
await serverLog.waitFor((l) => l.includes("Ready:"), "the robot to answer");

const ours = {
  ambient_ms: await time(N, () => client.callTool("get_ambient_light")),
  battery_status_3_ms: await time(N, () => client.callTool("get_battery_status")),
};
const rows: string[] = [
  `peer side: tools/call over stdio, p50 in ms, ${BLOCKS} alternating blocks of n=${N}; the ` +
  `median of the blocks' p50s [lowest-highest]. Ours with a Python client (as the SDK's side) ` +
  `and, after the blocks, with a Deno client`,
];
const f = (x: number) => x.toFixed(3);
for (
  const [key, label] of [["ambient_ms", "ambient light (1 request)"], [
    "battery_status_3_ms",
    "battery status (3 requests)",
  ]] as const
) {
  const py = pooled(ourBlocks.map((b) => b[key]));
  const o = ours[key];
  let line = `  ${label}: ours ${f(py.p50)} [${f(py.low)}-${f(py.high)}] (Deno client ${o.p50})`;
  if (peerBlocks.length > 0) {
    const p = pooled(peerBlocks.map((b) => b[key]));
    const perBlock = peerBlocks.map((b, i) => (ourBlocks[i][key].p50 / b[key].p50).toFixed(2));
    line += `  SDK ${f(p.p50)} [${f(p.low)}-${f(p.high)}]  ratio ${(py.p50 / p.p50).toFixed(2)}x ` +
      `(blocks ${perBlock.join(", ")}; Deno client ${(o.p50 / p.p50).toFixed(2)}x)`;
  }
  rows.push(line);
}
if (peerBlocks.length > 0) {
  rows.push(`  SDK echo p50 per block: ${peerBlocks.map((b) => b.echo_ms.p50).join(", ")}`);
}
console.error(rows.join("\n"));

Deno.bench({
  name: "peer side: stdio tools/call get_ambient_light (pty + sim)",
  async fn() {
    await client.callTool("get_ambient_light");
  },
});
Deno.bench({
  name: "peer side: stdio tools/call get_battery_status (pty + sim)",
  async fn() {
    await client.callTool("get_battery_status");
  },
});

globalThis.addEventListener("unload", () => {
  // Benches are done: the client goes away (stdin EOF stops the robot) and the processes end.
  void (async () => {
    await client.close();
    await server.status;
    await client.done;
    await serverLog.done;
    await simulator.close();
  })();
});
