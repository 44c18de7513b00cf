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
 * At load it times N calls of each (`RVR_PEER_N`, default 300) and prints p50/p95/max in ms on
 * stderr, as the SDK's script does. With `RVR_PEER_SCRIPT=<the SDK's script>` (and
 * `SPHERO_SDK_PATH` for it) it first runs that script on the same pty against the same simulator,
 * then prints both sides and the ratios: one run, one machine, one robot. Deno.bench then times
 * the same two calls for the gate (bench/budgets.json).
 *
 * `RVR_BENCH_DENO_FLAGS` replaces the server's Deno flags (default: the program's V8 flags, as
 * `deno task start` has them), to weigh another trade, e.g. `--v8-flags=--max-opt=2`.
 *
 *   RVR_PEER_SCRIPT=... SPHERO_SDK_PATH=... deno bench -A bench/peer_side_bench.ts
 */
import { LineReader, openPtyPair, programV8Flags, ROOT } from "../tests/e2e/_process.ts";

const N = Number(Deno.env.get("RVR_PEER_N") ?? "300");
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

const dir = await Deno.makeTempDir({ prefix: "rvr-peer-" });
const pty = await openPtyPair(dir);
const sim = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `${ROOT}main.ts`, "sim", "--port", pty.b, "--inactivity-timeout-ms", "0"],
  cwd: ROOT,
  env: { NO_COLOR: "1" },
  stdin: "null",
  stdout: "null",
  stderr: "piped",
}).spawn();
const simLog = new LineReader(sim.stderr);
await simLog.waitFor((l) => l.includes("Simulated RVR listening"), "the simulator");

let peer: Record<string, Summary> | undefined;
const peerScript = Deno.env.get("RVR_PEER_SCRIPT");
if (peerScript) {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [peerScript, pty.a, "--n", String(N)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `The SDK's script ${peerScript} failed (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  peer = JSON.parse(text.split("\n").at(-1) ?? "");
}

const serverFlags = (Deno.env.get("RVR_BENCH_DENO_FLAGS") ?? programV8Flags()).split(" ")
  .filter(Boolean);
const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", ...serverFlags, `${ROOT}main.ts`],
  cwd: ROOT,
  env: { NO_COLOR: "1", RVR_LOG_LEVEL: "info", RVR_COMMAND_TIMEOUT: "0", RVR_SERIAL_PORT: pty.a },
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
const rows: string[] = [`peer side (n=${N}): this program, tools/call over stdio, p50/p95/max ms`];
for (
  const [key, label] of [["ambient_ms", "ambient light (1 request)"], [
    "battery_status_3_ms",
    "battery status (3 requests)",
  ]] as const
) {
  const o = ours[key];
  let line = `  ${label}: ours ${o.p50}/${o.p95}/${o.max}`;
  const p = peer?.[key];
  if (p) line += `  SDK ${p.p50}/${p.p95}/${p.max}  ratio p50 ${(o.p50 / p.p50).toFixed(2)}x`;
  rows.push(line);
}
if (peer) rows.push(`  SDK echo ${JSON.stringify(peer.echo_ms)}`);
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
    sim.kill("SIGTERM");
    await sim.status;
    await simLog.done;
    await pty.close();
    await Deno.remove(dir, { recursive: true });
  })();
});
