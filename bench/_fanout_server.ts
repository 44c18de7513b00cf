/**
 * The server process of the fan-out bench (bench/fanout_bench.ts): the program itself, started by
 * main.ts's `startProgram` as deploy/rvr-mcp.service runs it (MCP over Streamable HTTP instead of
 * stdio, the side port with the dashboard and telemetry WebSocket, the aggregator, the built-in
 * simulator), plus a control loop on stdin/stdout that the bench drives: one JSON command per line
 * in, one JSON answer per line out. The bench bundles this file exactly as `deno task bundle` builds
 * the program and runs it with the program's V8 flags, so the RSS it reports is the shipped
 * program's under this load.
 */
import { loadConfig } from "../src/config.ts";
import { configureLogging } from "../src/logging.ts";
import { startProgram } from "../main.ts";
import { motionBatch } from "../tests/http/_motion.ts";

/** A control command of the bench. */
export type FanoutCommand =
  | { id: number; cmd: "ping" }
  | { id: number; cmd: "run"; frames: number; rateHz: number }
  | { id: number; cmd: "publish" }
  | { id: number; cmd: "burst"; n: number }
  | { id: number; cmd: "stats" }
  | { id: number; cmd: "exit" };

/** Epoch ms with sub-ms resolution, comparable across processes. */
export const clock = (): number => performance.timeOrigin + performance.now();
/** Bytes to MB with one decimal. */
export const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024 * 10) / 10;

/** The service's configuration, with free ports and the built-in simulator. */
const ENV = {
  RVR_SERIAL_PORT: "sim",
  RVR_MCP_STDIO: "false",
  RVR_MCP_HTTP_PORT: "0",
  RVR_HTTP_PORT: "0",
  RVR_LOG_LEVEL: "warning",
};

async function serve(): Promise<void> {
  const { config, extra } = loadConfig([], ENV);
  await configureLogging({ level: config.logLevel, format: config.logFormat });
  const program = await startProgram(config, extra);
  const { runtime, sidePort } = program;
  if (!sidePort) throw new Error("the side port is off: RVR_HTTP_PORT did not reach the program");
  await runtime.rvr.ready();
  const hub = sidePort.hub;
  let batch = 0;
  let rssMax = Deno.memoryUsage().rss;
  const publish = () => {
    const at = clock();
    const frame = hub.publish(motionBatch(batch++));
    if (!frame) throw new Error("motionBatch changed nothing");
    return { seq: frame.seq, at };
  };
  const say = (o: unknown) => console.log(JSON.stringify(o));
  say({ url: sidePort.url });
  const stdin = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let partial = "";
  for await (const text of stdin) {
    partial += text;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      const c = JSON.parse(line) as FanoutCommand;
      switch (c.cmd) {
        case "ping":
          say({ id: c.id, at: clock() });
          break;
        case "publish":
          say({ id: c.id, ...publish() });
          break;
        case "burst": {
          let seq = 0;
          for (let i = 0; i < c.n; i++) seq = publish().seq;
          say({ id: c.id, seq, clients: hub.clientStats() });
          break;
        }
        case "stats": {
          const m = Deno.memoryUsage();
          rssMax = Math.max(rssMax, m.rss);
          say({
            id: c.id,
            rssMb: mb(rssMax),
            nowMb: { rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed) },
            clients: hub.clientStats(),
          });
          break;
        }
        case "run": {
          const sends: [number, number][] = [];
          const publishMs: number[] = [];
          const started = performance.now();
          const periodMs = 1000 / c.rateHz;
          // A 1 ms tick that publishes when the next frame is due: 200 Hz on average (a 5 ms
          // interval timer drifts to ~170 Hz), at most one frame per tick.
          await new Promise<void>((resolve) => {
            const timer = setInterval(() => {
              if (performance.now() < started + sends.length * periodMs) return;
              const t = performance.now();
              const s = publish();
              publishMs.push(performance.now() - t);
              sends.push([s.seq, s.at]);
              if (sends.length % 50 === 0) rssMax = Math.max(rssMax, Deno.memoryUsage().rss);
              if (sends.length === c.frames) {
                clearInterval(timer);
                resolve();
              }
            }, 1);
          });
          const rateHz = c.frames / ((performance.now() - started) / 1000);
          say({ id: c.id, sends, publishMs, rateHz, rssMb: mb(rssMax) });
          break;
        }
        case "exit":
          await program.close("sigterm");
          say({ id: c.id, bye: true });
          return;
      }
    }
  }
  await program.close("stdin_eof"); // stdin closed: the bench went away
}

if (import.meta.main) await serve();
