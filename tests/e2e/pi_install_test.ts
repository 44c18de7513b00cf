/**
 * README's Raspberry Pi commands, in the order given, in a scratch root that holds only what the
 * earlier steps put there: the computer's commands build the files, README's `scp` line copies
 * them into the Pi's home directory, and every command meant for the Pi runs there with bash:
 * `sudo` dropped, /opt, /usr/local, /etc and /var moved under the scratch root (and `ln -s`
 * links made relative, so they resolve inside it). A command that
 * needs a file no earlier step copied fails, as it would on the Pi (`cannot stat`).
 *
 * What cannot run on this machine is replaced, each for a stated reason:
 * - the Pi's Deno: the two lines that unpack npm's arm64 `deno` to /usr/local/bin install this
 *   machine's Deno there instead (tests/e2e/arm64_test.ts runs those lines and that binary);
 * - `dpkg --print-architecture`: a check for the person (this machine is not arm64);
 * - `sudoedit /etc/rvr-mcp.env`: the test writes the key into the file, as the person would;
 * - `systemctl daemon-reload && systemctl enable --now`: `systemd-analyze verify` on the scratch
 *   root, then the unit's ExecStart started the way systemd starts it (its Environment= and
 *   EnvironmentFile=, stdin /dev/null, SIGTERM to stop); `systemctl status` and `journalctl`
 *   need systemd as PID 1 and are not run.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { TOOL_NAMES } from "../../src/mcp/server.ts";
import { SIMULATED_KEY } from "../../src/tools/mod.ts";
import { buildBundle, LineReader, ROOT } from "./_process.ts";

const README = Deno.readTextFileSync(`${ROOT}README.md`);

/** The command lines of the first ```sh block after `heading`, comments and blanks dropped. */
function shBlocks(heading: string): string[][] {
  const start = README.indexOf(heading);
  assert.ok(start >= 0, `README has "${heading}"`);
  const end = README.indexOf("\n## ", start + heading.length);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1].split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) =>
      l !== "" && !l.startsWith("#")
    )
  );
}

const [bundleRoute, compiledRoute] = shBlocks("## Install on a Raspberry Pi");
const [serviceSteps] = shBlocks("## Running it as a service");

/** `scp FILES... pi@robot:` -> the files. */
function scpFiles(lines: string[]): string[] {
  const scp = lines.find((l) => l.startsWith("scp "));
  assert.ok(scp, `a scp line in ${JSON.stringify(lines)}`);
  const words = scp.split(/\s+/);
  assert.equal(words.at(-1), "pi@robot:", "scp copies into the Pi's home directory");
  return words.slice(1, -1);
}

/** The Pi's side of the bundle route: the lines after `ssh pi@robot`. */
function piLines(lines: string[]): string[] {
  const at = lines.indexOf("ssh pi@robot");
  assert.ok(at > 0, "the bundle route logs in to the Pi before its Pi commands");
  return lines.slice(at + 1);
}

/** Runs one Pi command in the scratch root; throws with its output when it fails. */
async function onPi(line: string, root: string): Promise<string> {
  const moved = line
    .replace(/^sudo /, "")
    .replaceAll("&& sudo ", "&& ")
    // A symbolic link made relative points to the same file from inside the scratch root
    // (systemd-analyze --root) and from outside it (these commands), as the README's absolute
    // link does on the Pi.
    .replace(/^ln -s(\w*) /, "ln -s$1r ")
    .replace(/(^|[\s=])\/(opt|usr\/local|etc|var)(?=\/)/g, `$1${root}/$2`);
  const r = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", moved],
    cwd: `${root}/home/pi`,
    clearEnv: true,
    env: { PATH: `${root}/usr/local/bin:/usr/bin:/bin`, HOME: `${root}/home/pi`, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`README's \`${line}\` failed (exit ${r.code}):\n${out}`);
  return out;
}

/** The unit as systemd reads it: ExecStart=, Environment=, EnvironmentFile=, StateDirectory=. */
function readUnit(text: string) {
  const one = (key: string) => {
    const values = [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]);
    assert.equal(values.length, 1, `one ${key}= in the unit`);
    return values[0];
  };
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^Environment=(\w+)=(.*)$/gm)) env[m[1]] = m[2];
  return {
    execStart: one("ExecStart"),
    environmentFile: one("EnvironmentFile"),
    stateDirectory: one("StateDirectory"),
    restartPreventExitStatus: one("RestartPreventExitStatus"),
    env,
  };
}

/** KEY=value lines of an environment file. */
function readEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^(\w+)=(.*)$/gm)) env[m[1]] = m[2];
  return env;
}

async function hasSystemdAnalyze(): Promise<boolean> {
  try {
    return (await new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null" })
      .output()).success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Starts the unit's ExecStart as systemd would; the program's output lines. */
function startService(
  root: string,
  unit: ReturnType<typeof readUnit>,
  env: Record<string, string>,
) {
  const child = new Deno.Command(`${root}${unit.execStart}`, {
    cwd: "/",
    clearEnv: true,
    env: { PATH: `${root}/usr/local/bin:/usr/bin:/bin`, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stdout: new LineReader(child.stdout), stderr: new LineReader(child.stderr) };
}

Deno.test("README's Raspberry Pi commands, in order, on a Pi that has only what scp copied", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "rvr-pi-install-" });
  const computer = `${tmp}/computer`;
  const root = `${tmp}/pi-root`;
  const home = `${root}/home/pi`;
  try {
    await Deno.mkdir(`${computer}/dist`, { recursive: true });
    // The directories every Debian system has, and the Pi's home; nothing in them.
    for (
      const dir of ["home/pi", "etc/systemd/system", "usr/local/bin", "opt", "var/cache", "var/lib"]
    ) {
      await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    }
    const tarball = scpFiles(bundleRoute).find((f) => f.endsWith(".tgz"))?.split("/").at(-1);
    assert.ok(tarball, "scp copies the Pi's Deno");

    await t.step("on the computer: the bundle; scp copies it and deploy/'s files", async () => {
      assert.deepEqual(bundleRoute.slice(0, 2), [
        "deno task bundle",
        `npm pack --pack-destination dist @deno/linux-arm64-glibc@${Deno.version.deno}`,
      ]);
      await buildBundle(`${computer}/dist/rvr-mcp.js`);
      for (const file of scpFiles(bundleRoute)) {
        if (file.endsWith(`/${tarball}`)) continue; // the Pi's Deno: see the module doc
        const from = file.startsWith("dist/") ? `${computer}/${file}` : `${ROOT}${file}`;
        await Deno.copyFile(from, `${home}/${file.split("/").at(-1)}`);
      }
    });

    await t.step("on the Pi: Deno, the program, its cache and --help", async () => {
      const lines = piLines(bundleRoute);
      assert.equal(lines[0], "dpkg --print-architecture", "the architecture is checked first");
      assert.match(README, /dpkg --print-architecture\s+# must say arm64/);
      const denoLines = [
        `tar -xzf ${tarball} package/deno`,
        "sudo install -m 755 package/deno /usr/local/bin/deno",
      ];
      assert.deepEqual(lines.slice(1, 3), denoLines);
      await Deno.symlink(Deno.execPath(), `${root}/usr/local/bin/deno`);
      let help = "";
      for (const line of lines.slice(3)) help = await onPi(line, root);
      assert.equal(lines.at(-1), "rvr-mcp --help");
      assert.match(help, /RVR_SERIAL_PORT/, "rvr-mcp --help ran the program");
      assert.ok((await Deno.lstat(`${home}/.cache/deno`)).isDirectory, "deno cache filled it");
    });

    const service = await Deno.readTextFile(`${ROOT}deploy/rvr-mcp.service`);
    const unit = readUnit(service);
    const installed = serviceSteps.slice(0, serviceSteps.indexOf("sudoedit /etc/rvr-mcp.env"));

    await t.step(
      "the service: unit and env file installed, as shipped it stops with exit 2",
      async () => {
        assert.deepEqual(installed, [
          "sudo install -m 644 rvr-mcp.service /etc/systemd/system/rvr-mcp.service",
          "sudo install -m 600 rvr-mcp.env.example /etc/rvr-mcp.env",
        ]);
        for (const line of installed) await onPi(line, root);
        const envFile = await Deno.readTextFile(`${root}${unit.environmentFile}`);
        assert.equal(readEnvFile(envFile).RVR_API_KEY, "", "the example ships without a key");
        // systemd would start it now if the person skipped sudoedit: exit 2, which it does not
        // restart (RestartPreventExitStatus=2), with the reason on stderr (the journal).
        assert.equal(unit.restartPreventExitStatus, "2");
        const run = startService(root, unit, { ...unit.env, ...readEnvFile(envFile) });
        const status = await run.child.status;
        await Promise.all([run.stdout.done, run.stderr.done]);
        assert.equal(status.code, 2, run.stderr.lines.join("\n"));
        assert.match(run.stderr.lines.join("\n"), /Refusing to serve MCP over HTTP on 0\.0\.0\.0/);
      },
    );

    const key = "pi-install-test-key-0123456789";
    await t.step("the key, the service's Deno cache", async () => {
      const rest = serviceSteps.slice(installed.length);
      assert.equal(rest[0], "sudoedit /etc/rvr-mcp.env");
      const file = `${root}${unit.environmentFile}`;
      const text = await Deno.readTextFile(file);
      await Deno.writeTextFile(file, text.replace(/^RVR_API_KEY=$/m, `RVR_API_KEY=${key}`));
      assert.equal(
        rest[1],
        "sudo env DENO_DIR=/var/cache/rvr-mcp deno cache /opt/rvr-mcp/rvr-mcp.js",
      );
      assert.equal(unit.env.DENO_DIR, "/var/cache/rvr-mcp", "the cache the service reads");
      await onPi(rest[1], root);
      const entries = [];
      for await (const e of Deno.readDir(`${root}/var/cache/rvr-mcp`)) entries.push(e.name);
      assert.ok(entries.length > 0, "deno cache filled the service's cache");
      assert.deepEqual(rest.slice(2), [
        "sudo systemctl daemon-reload && sudo systemctl enable --now rvr-mcp",
        "systemctl status rvr-mcp",
        "journalctl -u rvr-mcp -f",
      ]);
    });

    await t.step({
      name: "systemd-analyze verify: the unit, on the scratch root (skipped without systemd)",
      ignore: !(await hasSystemdAnalyze()),
      fn: async () => {
        // The scratch root needs systemd's own units (sysinit.target, ...) beside ours.
        await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
        const copy = await new Deno.Command("cp", {
          args: ["-r", "/usr/lib/systemd/system", `${root}/usr/lib/systemd/`],
        }).output();
        assert.ok(copy.success, "copied systemd's units");
        const verify = await new Deno.Command("systemd-analyze", {
          args: ["verify", `--root=${root}`, "rvr-mcp.service"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const said = new TextDecoder().decode(verify.stdout) +
          new TextDecoder().decode(verify.stderr);
        assert.ok(verify.success, said);
        assert.equal(said.trim(), "", "systemd-analyze verify is clean");
        const security = await new Deno.Command("systemd-analyze", {
          args: ["security", "--offline=true", `${root}/etc/systemd/system/rvr-mcp.service`],
          stdout: "piped",
        }).output();
        const exposure = /Overall exposure level for rvr-mcp\.service: (\d+\.\d+)/.exec(
          new TextDecoder().decode(security.stdout),
        );
        assert.ok(exposure, "systemd-analyze security rates the unit");
        assert.ok(Number(exposure[1]) <= 2, `exposure ${exposure[1]} (README says 1.6)`);
      },
    });

    await t.step(
      "systemctl start: the unit's command serves MCP over HTTP until SIGTERM",
      async () => {
        await Deno.mkdir(`${root}/var/lib/${unit.stateDirectory}`, { recursive: true });
        const envFile = readEnvFile(await Deno.readTextFile(`${root}${unit.environmentFile}`));
        const env: Record<string, string> = { ...unit.env, ...envFile };
        env.DENO_DIR = `${root}${env.DENO_DIR}`;
        env.RVR_MCP_HTTP_PORT = "0"; // port 3000 may be taken on this machine
        const run = startService(root, unit, env);
        try {
          const line = await run.stderr.waitFor(
            (l) => l.includes("MCP over Streamable HTTP at"),
            "the HTTP endpoint",
          );
          const url = new URL(JSON.parse(line).url);
          assert.equal(url.hostname, "0.0.0.0");
          url.hostname = "127.0.0.1";
          // RVR_SERIAL_PORT=auto: this machine is no Pi and has no UART, so the simulator answers.
          await run.stderr.waitFor((l) => l.includes("Ready:"), "the robot");
          const client = new Client({ name: "pi-install-test", version: "1" });
          await client.connect(
            new StreamableHTTPClientTransport(url, {
              requestInit: { headers: { authorization: `Bearer ${key}` } },
            }),
          );
          const { tools } = await client.listTools();
          assert.deepEqual(tools.map((x) => x.name).sort(), [...TOOL_NAMES].sort());
          const battery = await client.callTool({ name: "get_battery_status" });
          assert.equal(battery.isError, undefined, JSON.stringify(battery));
          const structured = battery.structuredContent as Record<string, unknown>;
          assert.equal(typeof structured.percentage, "number");
          assert.equal(structured[SIMULATED_KEY], true, "it says the robot is simulated");
          await client.close();
        } finally {
          run.child.kill("SIGTERM"); // systemctl stop
          const status = await run.child.status;
          await Promise.all([run.stdout.done, run.stderr.done]);
          assert.equal(status.code, 0, run.stderr.lines.join("\n"));
        }
        assert.ok(run.stderr.lines.some((l) => l.includes("Shutting down (sigterm)")));
      },
    );

    await t.step("the compiled binary's scp copies what the service steps install", () => {
      const copied = scpFiles(compiledRoute).map((f) => f.split("/").at(-1));
      for (const line of installed) {
        const source = line.split(/\s+/).at(-2);
        assert.ok(copied.includes(source), `${source} reaches the Pi: ${copied.join(" ")}`);
      }
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
