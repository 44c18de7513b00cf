/**
 * RvrLink round trips. Budget: echo to node 1 through the simulated RVR over a MemoryPort,
 * median < 50 us. The minimal responder (FrameDecoder + buildResponse, nothing else) shows the
 * link's own overhead; the pty case shows what TtyPort adds on a real tty (socat pair).
 *
 * Run: deno bench --allow-all bench/link_bench.ts
 */
import type { BytePort } from "../src/core/byte_port.ts";
import { MemoryPort } from "../src/link/memory_port.ts";
import { RvrLink } from "../src/link/rvr_link.ts";
import { TtyPort } from "../src/link/tty_port.ts";
import { buildResponse, encodePacket, Flag, FrameDecoder } from "../src/protocol/mod.ts";
import { SimulatedRvr } from "../src/sim/mod.ts";
import { calibrate } from "./_calibration.ts";

calibrate("start"); // bench/gate.ts's yardstick, before the benches (and again after them)

/** Answers every request that wants a reply with the same payload: the least a robot can do. */
function startMinimalResponder(port: BytePort): void {
  const decoder = new FrameDecoder();
  port.start({
    onData(chunk) {
      for (const p of decoder.push(chunk)) {
        if (p.flags & Flag.requestsResponse) {
          // A failed write rejects loudly (unhandled) and fails the bench run: nothing to hide.
          port.write(encodePacket(buildResponse(p, 0, p.payload)));
        }
      }
    },
    onClose() {},
  });
}

const DATA = [1, 2, 3, 4, 5, 6, 7, 8];

// The simulated robot on a MemoryPort pair.
const [simHost, simDevice] = MemoryPort.pair("bench-sim");
const sim = new SimulatedRvr(simDevice, { name: "RV-BENCH" });
sim.start();
const simLink = new RvrLink(simHost);
simLink.start();

// The minimal responder on a MemoryPort pair.
const [rawHost, rawDevice] = MemoryPort.pair("bench-raw");
startMinimalResponder(rawDevice);
const rawLink = new RvrLink(rawHost);
rawLink.start();

Deno.bench({
  name: "echo node 1: RvrLink <-> SimulatedRvr over MemoryPort",
  group: "round trip (MemoryPort)",
  baseline: true,
  async fn() {
    await simLink.request("echo", { data: DATA }, { target: 1 });
  },
});

Deno.bench({
  name: "echo node 1: RvrLink <-> minimal responder over MemoryPort (link overhead)",
  group: "round trip (MemoryPort)",
  async fn() {
    await rawLink.request("echo", { data: DATA }, { target: 1 });
  },
});

Deno.bench({
  name: "get_encoder_counts: RvrLink <-> SimulatedRvr over MemoryPort",
  group: "round trip (MemoryPort)",
  async fn() {
    await simLink.request("get_encoder_counts", {});
  },
});

Deno.bench({
  name: "sendImmediate drive_stop (fire-and-forget) over MemoryPort",
  async fn() {
    await rawLink.sendImmediate("drive_stop", {});
  },
});

// A real tty: socat pty pair, TtyPort on both ends, minimal responder on one.
const hasSocat = await new Deno.Command("sh", { args: ["-c", "command -v socat"] }).output()
  .then((o) => o.success);
let ptyLink: RvrLink | undefined;

async function ptySetup(): Promise<RvrLink> {
  const dir = await Deno.makeTempDir({ prefix: "rvr-bench-" });
  // -T 10: socat exits by itself 10 s after the last byte, so it never outlives the bench run.
  const socat = new Deno.Command("socat", {
    args: ["-d", "-d", "-T", "10", `pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  socat.unref();
  const reader = socat.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/starting data transfer loop/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`socat exited early:\n${text}`);
    text += value;
  }
  reader.releaseLock();
  const device = await TtyPort.open(`${dir}/b`);
  startMinimalResponder(device);
  const link = new RvrLink(await TtyPort.open(`${dir}/a`));
  link.start();
  await Deno.remove(dir, { recursive: true }); // the open ports no longer need the symlinks
  return link;
}

Deno.bench({
  name: "echo node 1: RvrLink <-> minimal responder over a socat pty (TtyPort both ends)",
  group: "round trip (pty)",
  ignore: !hasSocat,
  async fn(b) {
    ptyLink ??= await ptySetup();
    b.start();
    await ptyLink.request("echo", { data: DATA }, { target: 1 });
    b.end();
  },
});

calibrate("end"); // bench/gate.ts's yardstick again, after the benches
