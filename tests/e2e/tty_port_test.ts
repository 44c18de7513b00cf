/**
 * TtyPort on real pseudo-terminals: a socat pty pair stands in for the UART, TtyPort opens one end
 * and the test (or a second TtyPort) the other.
 */
import assert from "node:assert/strict";
import { PortClosedError } from "../../src/core/byte_port.ts";
import { LinkClosedError } from "../../src/link/errors.ts";
import { RvrLink } from "../../src/link/rvr_link.ts";
import { SerialPortError, SYNC_WRITE_BYTES, TtyPort } from "../../src/link/tty_port.ts";
import { SimulatedRvr } from "../../src/sim/mod.ts";
import { ScriptedDevice } from "../link/_device.ts";

const ROOT = new URL("../../", import.meta.url);
const SRC_TTY_PORT = new URL("src/link/tty_port.ts", ROOT).href;

/** A socat pty pair: `a` and `b` are symlinks to the two slave ends. */
class PtyPair {
  readonly a: string;
  readonly b: string;
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  readonly log: string[] = [];

  private constructor(dir: string, child: Deno.ChildProcess, drained: Promise<void>) {
    this.a = `${dir}/a`;
    this.b = `${dir}/b`;
    this.#child = child;
    this.#drained = drained;
  }

  /** Starts socat and resolves once it reported both ptys and entered its transfer loop. */
  static async start(dir: string): Promise<PtyPair> {
    const child = new Deno.Command("socat", {
      args: ["-d", "-d", `pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const log: string[] = [];
    let text = "";
    let ptys = 0;
    while (!(ptys >= 2 && /starting data transfer loop/.test(text))) {
      const { value, done } = await lines.read();
      if (done) {
        await child.status;
        throw new Error(`socat exited before creating the ptys:\n${text}`);
      }
      text += value;
      ptys = (text.match(/PTY is /g) ?? []).length;
    }
    log.push(text);
    // Keep reading stderr until socat exits so it never blocks on a full pipe.
    const drained = (async () => {
      for (;;) {
        const { value, done } = await lines.read();
        if (done) return;
        log.push(value);
      }
    })();
    const pair = new PtyPair(dir, child, drained);
    pair.log.push(...log);
    return pair;
  }

  /** Kills socat (both ptys hang up) and waits for it to exit. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch (error) {
      // Already exited: that is the state we want; anything else is a real failure.
      if (!(error instanceof TypeError)) throw error;
    }
    await this.#child.status;
    await this.#drained;
  }
}

/** Collects what a port delivers; `waitFor(n)` resolves once n bytes arrived. */
class Sink {
  bytes: number[] = [];
  closes: (Error | undefined)[] = [];
  #want = 0;
  #wake: (() => void) | undefined;
  #closed: Promise<Error | undefined>;
  #onClosed!: (e: Error | undefined) => void;

  constructor() {
    this.#closed = new Promise((resolve) => (this.#onClosed = resolve));
  }

  handlers = {
    onData: (chunk: Uint8Array) => {
      this.bytes.push(...chunk);
      if (this.#wake && this.bytes.length >= this.#want) this.#wake();
    },
    onClose: (error?: Error) => {
      this.closes.push(error);
      this.#onClosed(error);
    },
  };

  /** Resolves once `n` bytes arrived; fails (instead of hanging) if they never do. */
  waitFor(n: number): Promise<void> {
    if (this.bytes.length >= n) return Promise.resolve();
    this.#want = n;
    return withDeadline(
      new Promise((resolve) => (this.#wake = resolve)),
      `${n} bytes (got ${this.bytes.length}: [${this.bytes}])`,
    );
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }
}

/** A failure guard, not a timing assertion: a test that would hang fails after 10 s instead. */
async function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what}`)), 10_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function readExactly(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(out.subarray(got));
    if (r === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += r;
  }
  return out;
}

async function sttyReport(path: string): Promise<string> {
  const out = await new Deno.Command("stty", { args: ["-F", path, "-a"], env: { LC_ALL: "C" } })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => assert.fail("expected a rejection"), (e) => e);
}

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

Deno.test("TtyPort on a pty pair", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-tty-" });
  const pty = await PtyPair.start(dir);
  try {
    await t.step("bytes flow both ways unchanged (all 256 values)", async () => {
      const port = await TtyPort.open(pty.a);
      const raw = await Deno.open(pty.b, { read: true, write: true });
      try {
        assert.equal(port.path, pty.a);
        assert.equal(port.baudRate, 115200);
        const sink = new Sink();
        port.start(sink.handlers);
        await raw.write(ALL_BYTES);
        await sink.waitFor(256);
        assert.deepEqual(sink.bytes, [...ALL_BYTES]);
        await port.write(ALL_BYTES.slice().reverse());
        assert.deepEqual([...await readExactly(raw, 256)], [...ALL_BYTES].reverse());
      } finally {
        raw.close();
        await port.close();
      }
    });

    await t.step("stty put the line in raw 8N1, no echo, no flow control", async () => {
      const port = await TtyPort.open(pty.a);
      try {
        const report = await sttyReport(pty.a);
        for (
          const flag of [
            "speed 115200 baud",
            "min = 0; time = 1",
            "-icanon",
            "-echo",
            "-isig",
            "-opost",
            "cs8",
            "-cstopb",
            "-parenb",
            "-crtscts",
            "-ixon",
            "-ixoff",
            "-icrnl",
            "clocal",
          ]
        ) {
          assert.match(
            report,
            new RegExp(`(^|[\\s;])${flag.replace(/[-;=]/g, "\\$&")}([\\s;]|$)`),
            flag,
          );
        }
      } finally {
        await port.close();
      }
      const slow = await TtyPort.open(pty.a, { baudRate: 57600 });
      try {
        assert.match(await sttyReport(pty.a), /speed 57600 baud/);
      } finally {
        await slow.close();
      }
    });

    await t.step("a baud rate stty does not know is a RangeError naming it", async () => {
      await assert.rejects(
        TtyPort.open(pty.a, { baudRate: 12345 }),
        (e) => e instanceof RangeError && /Baud rate 12345 .*115200/.test(e.message),
      );
    });

    await t.step("close() ends a pending read: no lost bytes after reopening", async () => {
      const first = await TtyPort.open(pty.a);
      const sink1 = new Sink();
      first.start(sink1.handlers);
      await first.close();
      await first.close(); // idempotent
      assert.deepEqual(sink1.closes, [undefined]);
      assert.equal(first.isOpen, false);
      await assert.rejects(first.write(new Uint8Array([1])), PortClosedError);
      assert.throws(() => first.start(new Sink().handlers), PortClosedError);
      // A read orphaned by close() would swallow these bytes; the new port must get all of them.
      const second = await TtyPort.open(pty.a);
      const raw = await Deno.open(pty.b, { read: true, write: true });
      try {
        const sink2 = new Sink();
        second.start(sink2.handlers);
        await raw.write(new TextEncoder().encode("hello"));
        await sink2.waitFor(5);
        assert.equal(new TextDecoder().decode(Uint8Array.from(sink2.bytes)), "hello");
      } finally {
        raw.close();
        await second.close();
      }
    });

    await t.step("writes queued before close() still go out", async () => {
      const port = await TtyPort.open(pty.a);
      const raw = await Deno.open(pty.b, { read: true, write: true });
      try {
        port.start(new Sink().handlers);
        const writes = [port.write(new Uint8Array([1, 2])), port.write(new Uint8Array([3]))];
        await port.close();
        await Promise.all(writes);
        assert.deepEqual([...await readExactly(raw, 3)], [1, 2, 3]);
      } finally {
        raw.close();
      }
    });

    await t.step(
      "small packets go out at once while the other end answers; a silent line goes async",
      async () => {
        const port = await TtyPort.open(pty.a);
        const raw = await Deno.open(pty.b, { read: true, write: true });
        /** Whether `write` settled within the current task (the main-thread write). */
        const settledAtOnce = async (bytes: Uint8Array) => {
          let settled = false;
          const done = port.write(bytes).then(() => settled = true);
          for (let i = 0; i < 5; i++) await Promise.resolve();
          const atOnce = settled;
          await withDeadline(done, "a write");
          return atOnce;
        };
        try {
          const sink = new Sink();
          port.start(sink.handlers);
          const packet = new Uint8Array(64).fill(0x8d);
          assert.equal(await settledAtOnce(packet), true, "a packet on a draining line");
          // 1024 bytes with no byte back: the next packet could meet a full line, so it goes
          // through the thread pool, and the program keeps running meanwhile.
          for (let sent = 64; sent + 64 <= SYNC_WRITE_BYTES; sent += 64) {
            assert.equal(await settledAtOnce(packet), true, `packet after ${sent} bytes`);
          }
          assert.equal(await settledAtOnce(packet), false, "a packet past SYNC_WRITE_BYTES");
          // The other end speaks: the line is draining again.
          await raw.write(new Uint8Array([0x8d]));
          await sink.waitFor(1);
          assert.equal(await settledAtOnce(packet), true, "a packet after the other end spoke");
          const total = SYNC_WRITE_BYTES + 2 * 64;
          const got = await withDeadline(readExactly(raw, total), "every packet");
          assert.deepEqual(got, new Uint8Array(total).fill(0x8d));
        } finally {
          raw.close();
          await port.close();
        }
      },
    );

    await t.step(
      "a tty nobody reads: writes wait without stopping the program, then arrive in order",
      async () => {
        const port = await TtyPort.open(pty.a);
        try {
          port.start(new Sink().handlers);
          // Far more than the line buffers, as packets: past SYNC_WRITE_BYTES they queue for the
          // thread pool instead of blocking the event loop in write(2).
          const packets = Array.from(
            { length: 4096 },
            (_, i) => Uint8Array.from({ length: 64 }, (_, j) => (i + j) & 0xff),
          );
          const writes = packets.map((p) => port.write(p));
          // Still running: a timer fires while the writes wait for a reader.
          await new Promise((resolve) => setTimeout(resolve, 0));
          const raw = await Deno.open(pty.b, { read: true, write: true });
          try {
            const got = await withDeadline(readExactly(raw, 4096 * 64), "256 KiB of packets");
            await withDeadline(Promise.all(writes), "the writes to finish");
            for (let i = 0; i < packets.length; i++) {
              assert.deepEqual(got.subarray(i * 64, i * 64 + 64), packets[i], `packet ${i}`);
            }
          } finally {
            raw.close();
          }
        } finally {
          await port.close();
        }
      },
    );

    await t.step(
      "large writes and reads: whole, in order, later writes behind earlier ones",
      async () => {
        const port = await TtyPort.open(pty.a);
        const raw = await Deno.open(pty.b, { read: true, write: true });
        try {
          port.start(new Sink().handlers);
          // Far more than a pty buffers: the write waits for the other end to read.
          const big = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7) & 0xff);
          const writes = [port.write(big), port.write(new Uint8Array([1, 2, 3]))];
          const got = await withDeadline(readExactly(raw, big.length + 3), "256 KiB + 3 bytes");
          await withDeadline(Promise.all(writes), "the writes to finish");
          assert.deepEqual(got.subarray(0, big.length), big);
          assert.deepEqual([...got.subarray(big.length)], [1, 2, 3]);
        } finally {
          raw.close();
          await port.close();
        }
        // The other way: a burst far larger than one read arrives whole and in order.
        const sender = await TtyPort.open(pty.a);
        const receiver = await TtyPort.open(pty.b);
        const sink = new Sink();
        receiver.start(sink.handlers);
        sender.start(new Sink().handlers);
        try {
          const big = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 13) & 0xff);
          await withDeadline(sender.write(big), "the burst to be written");
          await sink.waitFor(big.length);
          assert.deepEqual(Uint8Array.from(sink.bytes), big);
        } finally {
          await receiver.close();
          await sender.close();
        }
      },
    );

    await t.step("RvrLink over two TtyPorts: requests, replies and notifications", async () => {
      const hostPort = await TtyPort.open(pty.a);
      const devicePort = await TtyPort.open(pty.b);
      const device = new ScriptedDevice(devicePort);
      const link = new RvrLink(hostPort);
      link.start();
      try {
        const echo = link.request("echo", { data: [0x8d, 0xd8, 0xab, 1] }, { target: 2 });
        const req = await device.nextRequest();
        await device.reply(req, 0, req.payload);
        assert.deepEqual(await echo, { data: [0x8d, 0xd8, 0xab, 1] });
        const stalls: number[] = [];
        const got = new Promise<void>((resolve) =>
          link.on("motor_stall_notify", (v, m) => {
            stalls.push(v.motor_index, m.node);
            resolve();
          })
        );
        await device.send(
          Uint8Array.from([0x8d, 0x38, 0x21, 0x02, 0x16, 0x26, 0xff, 0x01, 0x01, 0x67, 0xd8]),
        );
        await got;
        assert.deepEqual(stalls, [1, 2]);
      } finally {
        await link.close();
        await devicePort.close();
      }
    });

    await t.step("RvrLink over a pty to the simulated RVR on the other end", async () => {
      const simPort = await TtyPort.open(pty.b);
      const sim = new SimulatedRvr(simPort, { name: "RV-PTY" });
      sim.start();
      const hostPort = await TtyPort.open(pty.a);
      const link = new RvrLink(hostPort);
      link.start();
      try {
        const data = [0x8d, 0xd8, 0xab, 0x00, 0xff];
        assert.deepEqual(await link.request("echo", { data }, { target: 1 }), { data });
        assert.deepEqual(await link.request("echo", { data }, { target: 2 }), { data });
        const { percentage } = await link.request("get_battery_percentage", {});
        assert.equal(percentage, sim.battery.percentage);
        const { up_time } = await link.request("get_core_up_time_in_milliseconds", {});
        assert.equal(typeof up_time, "bigint");
        const v = await link.request("get_main_application_version", {}, { target: 2 });
        assert.ok(v.major > 0);
        assert.equal(link.stats.replies, 5);
        assert.equal(link.stats.timeouts, 0);
      } finally {
        await link.close();
        await sim.stop();
        await simPort.close();
      }
    });

    await t.step("hangup: killing socat ends the port with code hangup", async () => {
      const port = await TtyPort.open(pty.a);
      const link = new RvrLink(port);
      const sink: unknown[] = [];
      link.onClose((e) => sink.push(e));
      link.start();
      const pending = rejection(
        link.request("get_battery_percentage", {}, { timeoutMs: 60_000 }),
      );
      const closed = new Promise<void>((resolve) => link.onClose(() => resolve()));
      await pty.stop();
      await closed;
      const error = await pending;
      assert.ok(error instanceof LinkClosedError, String(error));
      const cause = error.cause;
      assert.ok(cause instanceof SerialPortError, String(cause));
      assert.equal(cause.code, "hangup");
      assert.match(cause.message, new RegExp(`Serial port ${pty.a} hung up`));
      assert.equal(sink.length, 1);
      assert.equal(port.isOpen, false);
      await link.close();
    });
  } finally {
    await pty.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TtyPort: a tty that hung up before start() reports hangup (end of file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-tty-eof-" });
  const pty = await PtyPair.start(dir);
  try {
    const port = await TtyPort.open(pty.a);
    await pty.stop();
    // Every read now returns 0 bytes at once (not after the 100 ms VTIME): a real end of file.
    const sink = new Sink();
    port.start(sink.handlers);
    const error = await withDeadline(sink.closed(), "onClose");
    assert.ok(error instanceof SerialPortError, String(error));
    assert.equal(error.code, "hangup");
    assert.match(error.message, /hung up \(end of file\)/);
    assert.equal(port.isOpen, false);
    await assert.rejects(port.write(new Uint8Array([1])), PortClosedError);
    await port.close();
    assert.equal(sink.closes.length, 1);
  } finally {
    await pty.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TtyPort.open errors", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-tty-err-" });
  try {
    await t.step("a missing path: not_found, with the raspi-config hint", async () => {
      const path = `${dir}/serial0`;
      const e = await rejection(TtyPort.open(path));
      assert.ok(e instanceof SerialPortError);
      assert.equal(e.code, "not_found");
      assert.equal(e.path, path);
      assert.ok(e.message.includes(`Serial port ${path} does not exist`), e.message);
      assert.ok(e.message.includes("sudo raspi-config"), e.message);
      assert.ok(e.message.includes("/dev/serial0"), e.message);
    });

    await t.step("a dangling symlink says so", async () => {
      const path = `${dir}/dangling`;
      await Deno.symlink(`${dir}/nothing-here`, path);
      const e = await rejection(TtyPort.open(path));
      assert.ok(e instanceof SerialPortError);
      assert.equal(e.code, "not_found");
      assert.match(e.message, /symlink to a missing device/);
    });

    await t.step("a regular file: not_a_tty", async () => {
      const path = `${dir}/file`;
      await Deno.writeTextFile(path, "not a tty");
      const e = await rejection(TtyPort.open(path));
      assert.ok(e instanceof SerialPortError);
      assert.equal(e.code, "not_a_tty");
      assert.match(e.message, /is not a tty \(it is a regular file\)/);
    });

    await t.step("a character device that is not a terminal: not_a_tty", async () => {
      const e = await rejection(TtyPort.open("/dev/null"));
      assert.ok(e instanceof SerialPortError);
      assert.equal(e.code, "not_a_tty");
      assert.match(e.message, /\/dev\/null is not a tty/);
    });

    const root = Deno.uid() === 0;
    const nobodyGid = root ? await commandOutput("id", ["-g", "nobody"]) : null;
    const hasSetpriv = root
      ? (await commandOutput("sh", ["-c", "command -v setpriv"])) !== null
      : false;
    await t.step({
      name: "a tty the user may not open: permission_denied with the dialout fix" +
        (!root
          ? ""
          : nobodyGid !== null && hasSetpriv
          ? " (as nobody, via setpriv)"
          : " (skipped: running as root, and setpriv or the nobody user is missing)"),
      // Root bypasses file permissions; without setpriv and a nobody user there is no one to try as.
      ignore: root && (nobodyGid === null || !hasSetpriv),
      fn: async () => {
        const pty = await PtyPair.start(dir);
        try {
          const device = await Deno.realPath(pty.a);
          let outcome: { code: string | null; message: string };
          let node: string;
          if (root) {
            // A copy of the pty's device node with mode 000.
            const rdev = (await Deno.stat(device)).rdev ?? 0;
            node = `${dir}/ttycopy`;
            const made = await commandOutput("mknod", [
              node,
              "c",
              String(Math.floor(rdev / 256) & 0xfff),
              String((rdev & 0xff) | ((rdev >> 12) & ~0xff)),
            ]);
            assert.ok(made !== null, "mknod failed");
            await Deno.chmod(node, 0o000);
            outcome = await openAsNobody(dir, node, nobodyGid as string);
          } else {
            // Our own pty: take our permissions away.
            node = device;
            await Deno.chmod(device, 0o000);
            const e = await rejection(TtyPort.open(node));
            assert.ok(e instanceof SerialPortError, String(e));
            outcome = { code: e.code, message: e.message };
          }
          assert.equal(outcome.code, "permission_denied", JSON.stringify(outcome));
          assert.ok(outcome.message.includes(node), outcome.message);
          assert.ok(outcome.message.includes("sudo usermod -aG dialout $USER"), outcome.message);
        } finally {
          await pty.stop();
        }
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Runs TtyPort.open(path) as the `nobody` user: the child is a bundle of a tiny script (so it
 * needs nothing from root's Deno cache) started through `setpriv`. Prints {code, message}.
 */
async function openAsNobody(
  dir: string,
  path: string,
  gid: string,
): Promise<{ code: string | null; message: string }> {
  const script = `${dir}/open_child.ts`;
  const bundle = `${dir}/open_child.js`;
  await Deno.writeTextFile(
    script,
    `import { SerialPortError, TtyPort } from "${SRC_TTY_PORT}";
try {
  const port = await TtyPort.open(Deno.args[0]);
  await port.close();
  console.log(JSON.stringify({ code: "opened", message: "" }));
} catch (e) {
  console.log(JSON.stringify({
    code: e instanceof SerialPortError ? e.code : null,
    message: e instanceof Error ? e.message : String(e),
  }));
}
`,
  );
  const bundled = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "-o", bundle, script],
    cwd: new URL(".", ROOT).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(bundled.success, new TextDecoder().decode(bundled.stderr));
  const denoDir = `${dir}/deno-dir`;
  await Deno.mkdir(denoDir);
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(denoDir, 0o777);
  const run = await new Deno.Command("setpriv", {
    args: [
      "--reuid=nobody",
      `--regid=${gid}`,
      "--clear-groups",
      Deno.execPath(),
      "run",
      "--no-config",
      "--no-lock",
      "--allow-all",
      bundle,
      path,
    ],
    env: { DENO_DIR: denoDir, HOME: dir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  return JSON.parse(new TextDecoder().decode(run.stdout));
}

/** Trimmed stdout of a command, or null when it failed or does not exist. */
async function commandOutput(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
