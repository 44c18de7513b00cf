/**
 * The code runs on the Pi's Deno: the bundle on the arm64 `deno` of npm's @deno/linux-arm64-glibc
 * (fetched and unpacked with README's own commands), run by `qemu-aarch64-static` with Debian's
 * `libc6:arm64`, answers MCP `initialize`, lists every tool and reads the simulated robot's
 * battery. It proves the program and its dependencies work on aarch64 Deno; it says nothing about
 * how fast a Pi is (under emulation start-up alone takes 20-40 s, hence the long timeouts).
 *
 * Run by `deno task test:arm64` (RVR_TEST_ARM64=1), a CI step of its own (.ci/run installs
 * qemu-user-static and libc6:arm64); ignored by `deno task test`, so the emulator does not compete
 * with the timing of the other tests.
 */
import assert from "node:assert/strict";
import { TOOL_NAMES } from "../../src/mcp/server.ts";
import { SIMULATED_KEY } from "../../src/tools/mod.ts";
import { buildBundle, LineReader, programV8Flags, ROOT } from "./_process.ts";
import { StdioRpc } from "./_jsonrpc.ts";

const QEMU = "qemu-aarch64-static";
/** The aarch64 dynamic loader that libc6:arm64 installs. */
const ARM64_LOADER = "/lib/ld-linux-aarch64.so.1";
/** Start-up under emulation is slow; this bounds every wait of the test. */
const EMULATED_TIMEOUT_MS = 180_000;

const README = Deno.readTextFileSync(`${ROOT}README.md`);

/** README's line (in the install block) that starts with `prefix`. */
function readmeLine(prefix: string): string {
  const line = README.split("\n").find((l) => l.startsWith(prefix));
  assert.ok(line, `README has a line starting with "${prefix}"`);
  return line.replace(/\s+#.*$/, "").trim();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs a command line with bash in `cwd`; throws with its output when it fails. */
async function sh(line: string, cwd: string): Promise<string> {
  const r = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", line],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`\`${line}\` failed (exit ${r.code}):\n${out}`);
  return out;
}

const enabled = Deno.env.get("RVR_TEST_ARM64") === "1";

Deno.test({
  name: "arm64 (deno task test:arm64 only): the bundle on the Pi's Deno under qemu-aarch64-static",
  ignore: !enabled,
  async fn(t) {
    const missing = [];
    if (!(await runs(QEMU, ["--version"]))) missing.push("qemu-user-static (apt-get)");
    if (!(await exists(ARM64_LOADER))) {
      missing.push("libc6:arm64 (dpkg --add-architecture arm64 && apt-get update first)");
    }
    assert.deepEqual(missing, [], `install ${missing.join(", ")}; .ci/run does`);

    const tmp = await Deno.makeTempDir({ prefix: "rvr-arm64-" });
    try {
      // README's commands on the computer: the bundle, and the Pi's Deno from npm.
      const bundle = `${tmp}/rvr-mcp.js`;
      await buildBundle(bundle);
      const pack = readmeLine("npm pack ");
      const version = /@deno\/linux-arm64-glibc@(\S+)/.exec(pack)?.[1];
      assert.equal(version, Deno.version.deno, "the Pi gets the Deno the tests run on");
      const tarball = `deno-linux-arm64-glibc-${version}.tgz`;
      if (!(await exists(`${ROOT}dist/${tarball}`))) {
        await Deno.mkdir(`${ROOT}dist`, { recursive: true });
        await sh(pack, ROOT);
      }

      const pi = `${tmp}/pi`;
      const deno = `${pi}/package/deno`;
      await t.step("README's tar line unpacks an aarch64 deno of the pinned version", async () => {
        await Deno.mkdir(pi);
        await Deno.copyFile(`${ROOT}dist/${tarball}`, `${pi}/${tarball}`); // what scp copies
        await sh(readmeLine("tar -xzf deno-linux-arm64-glibc-"), pi);
        const elf = (await Deno.readFile(deno)).subarray(0, 20);
        assert.deepEqual([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], "an ELF file");
        assert.equal(elf[18] | (elf[19] << 8), 183, "e_machine is EM_AARCH64");
        const v = await sh(`${QEMU} ${deno} --version`, pi);
        assert.match(
          v,
          new RegExp(`^deno ${version.replaceAll(".", "\\.")} .*aarch64-unknown-linux-gnu`),
        );
      });

      await t.step("initialize, tools/list and a robot tool, on the simulator", async () => {
        const cwd = `${tmp}/elsewhere`;
        await Deno.mkdir(cwd);
        await Deno.mkdir(`${tmp}/deno-dir`);
        const child = new Deno.Command(QEMU, {
          args: [deno, "run", "-A", programV8Flags(), bundle],
          cwd,
          env: { NO_COLOR: "1", DENO_DIR: `${tmp}/deno-dir`, RVR_SERIAL_PORT: "sim" },
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const stdout = new LineReader(child.stdout);
        const stderr = new LineReader(child.stderr);
        const rpc = new StdioRpc(child.stdin, stdout, { timeoutMs: EMULATED_TIMEOUT_MS });
        try {
          const init = await rpc.initialize();
          assert.equal((init.serverInfo as { name: string }).name, "rvr-mcp");
          const { tools } = await rpc.request("tools/list") as { tools: { name: string }[] };
          assert.deepEqual(tools.map((x) => x.name).sort(), [...TOOL_NAMES].sort());
          await stderr.waitFor((l) => l.includes("Ready:"), "the robot", EMULATED_TIMEOUT_MS);
          const battery = await rpc.callTool("get_battery_status");
          assert.equal(battery.isError, undefined, JSON.stringify(battery));
          assert.equal(typeof battery.structuredContent?.percentage, "number");
          assert.equal(battery.structuredContent?.[SIMULATED_KEY], true);
          rpc.assertOnlyJsonRpc();
        } finally {
          await rpc.close();
          const status = await child.status;
          await Promise.all([stdout.done, stderr.done]);
          assert.equal(status.code, 0, stderr.lines.join("\n"));
        }
        assert.ok(stderr.lines.some((l) => l.includes("Shutting down (stdin_eof)")));
        assert.ok(
          stderr.lines.some((l) => l.includes("drive_stop sent before shutting down")),
          "the robot heard drive_stop before the exit",
        );
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
