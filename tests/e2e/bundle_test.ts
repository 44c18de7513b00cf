/**
 * The single-file build: `deno task bundle`'s own command, writing into a temporary directory, then
 * that one file run from ANOTHER directory with an empty DENO_DIR (nothing of the project beside
 * it, no package cache): as the stdio MCP server on the built-in simulator (serving the dashboard
 * page on its side port), as `sim` on one end of a socat pty with the bundle serving on the other
 * end, and as deploy/rvr-mcp.service starts it (HTTP with an API key, stdin that systemd leaves
 * at /dev/null).
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { OPTIONS } from "../../src/config.ts";
import { dashboardHtml } from "../../src/http/dashboard.ts";
import { TOOL_NAMES } from "../../src/mcp/server.ts";
import { buildBundle, LineReader, openPtyPair, programV8Flags, ROOT } from "./_process.ts";
import { StdioRpc } from "./_jsonrpc.ts";

interface Spawned {
  child: Deno.ChildProcess;
  stdout: LineReader;
  stderr: LineReader;
}

interface Places {
  /** The bundle, alone in its directory. */
  bundle: string;
  /** The working directory of every run: empty, outside the project. */
  cwd: string;
  /** An empty DENO_DIR: the bundle must not need any cached package. */
  denoDir: string;
}

const isReady = (l: string) => l.includes("Ready:");

/** `deno run -A <bundle> ...args` from the empty directory, as someone who copied only the file. */
function runBundle(places: Places, args: string[], env: Record<string, string>): Spawned {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", programV8Flags(), places.bundle, ...args],
    cwd: places.cwd,
    env: { NO_COLOR: "1", DENO_DIR: places.denoDir, ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stdout: new LineReader(child.stdout), stderr: new LineReader(child.stderr) };
}

/** initialize, tools/list (every tool of the source tree), get_battery_status; once ready. */
async function mcpSession(rpc: StdioRpc, server: Spawned): Promise<void> {
  const init = await rpc.initialize();
  assert.equal((init.serverInfo as { name: string }).name, "rvr-mcp");
  const { tools } = await rpc.request("tools/list") as { tools: { name: string }[] };
  assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
  await server.stderr.waitFor(isReady, "the bundle to wake the robot");
  const battery = await rpc.callTool("get_battery_status");
  assert.equal(battery.isError, undefined, JSON.stringify(battery));
  assert.equal(typeof battery.structuredContent?.percentage, "number", JSON.stringify(battery));
  rpc.assertOnlyJsonRpc();
}

/** Closes stdin (the client goes away) and checks a clean exit with only JSON-RPC on stdout. */
async function endSession(rpc: StdioRpc, server: Spawned): Promise<void> {
  await rpc.close();
  const status = await server.child.status;
  await Promise.all([server.stdout.done, server.stderr.done]);
  assert.equal(status.code, 0, server.stderr.lines.join("\n"));
  rpc.assertOnlyJsonRpc();
  for (const line of server.stderr.lines) JSON.parse(line); // logs: one JSON object per line
  assert.ok(server.stderr.lines.some((l) => l.includes("Shutting down (stdin_eof)")));
}

/** Files under `dir` (recursively); 0 when it does not exist. */
async function fileCount(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      n += entry.isDirectory ? await fileCount(`${dir}/${entry.name}`) : 1;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/** deploy/rvr-mcp.service's ExecStart command and Environment= settings. */
function parseUnit(text: string): { command: string; env: Record<string, string> } {
  const exec = /^ExecStart=(\S+)$/m.exec(text);
  assert.ok(exec, "ExecStart=<command> in deploy/rvr-mcp.service");
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^Environment=(\w+)=(.*)$/gm)) env[m[1]] = m[2];
  return { command: exec[1], env };
}

Deno.test("the bundle: one file, run from another directory, serves MCP and simulates the robot", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "rvr-bundle-e2e-" });
  const places: Places = {
    bundle: `${tmp}/dist/rvr-mcp.js`,
    cwd: `${tmp}/elsewhere`,
    denoDir: `${tmp}/deno-dir`,
  };
  try {
    await Deno.mkdir(`${tmp}/dist`);
    await Deno.mkdir(places.cwd);
    await Deno.mkdir(places.denoDir);

    await t.step("deno task bundle's command writes one self-contained file", async () => {
      await buildBundle(places.bundle);
      const entries = [];
      for await (const e of Deno.readDir(`${tmp}/dist`)) entries.push(e.name);
      assert.deepEqual(entries, ["rvr-mcp.js"]);
      const text = await Deno.readTextFile(places.bundle);
      assert.ok(!text.includes(ROOT), "the bundle refers to no file of the project tree");
      // The only imports left are Deno's built-in node: modules (npm packages are inlined).
      // Static imports, minified or not: import"x"; import{a as b}from"x"; import * as c from "x".
      const imports = [...text.matchAll(/\bimport\s*(?:[\w*{][^;"'()]*?\bfrom\s*)?"([^"]+)"/g)]
        .map((m) => m[1]);
      assert.ok(imports.length > 0, "the bundle imports node: built-ins at top level");
      for (const specifier of imports) {
        assert.match(specifier, /^node:/, `import of ${specifier} left in the bundle`);
      }
      assert.ok(!/\bimport\(\s*"(?:npm|jsr|https?):/.test(text), "no dynamic import of a package");
    });

    await t.step(
      "stdio MCP server on the built-in simulator, dashboard on the side port",
      async () => {
        const server = runBundle(places, [], { RVR_SERIAL_PORT: "sim", RVR_HTTP_PORT: "0" });
        const rpc = new StdioRpc(server.child.stdin, server.stdout);
        try {
          await mcpSession(rpc, server);
          // The page's files were embedded at build time: the bundle serves the page the sources make.
          const side = await server.stderr.waitFor((l) => l.includes("Side port at"), "side port");
          const page = await fetch(`${JSON.parse(side).url}/`);
          assert.equal(page.status, 200);
          assert.equal(await page.text(), dashboardHtml());
        } finally {
          await endSession(rpc, server);
        }
      },
    );

    await t.step("`sim --port` on one pty end, the stdio server on the other", async () => {
      const pty = await openPtyPair(tmp);
      const sim = runBundle(places, ["sim", "--port", pty.b], { RVR_LOG_LEVEL: "debug" });
      try {
        await sim.stderr.waitFor((l) => l.includes("Simulated RVR listening"), "the simulator");
        const server = runBundle(places, [], { RVR_SERIAL_PORT: pty.a });
        const rpc = new StdioRpc(server.child.stdin, server.stdout);
        try {
          await mcpSession(rpc, server);
          assert.ok(
            server.stderr.lines.some((l) => isReady(l) && l.includes(pty.a)),
            "ready on the pty",
          );
          assert.ok(sim.stderr.lines.some((l) => l.includes("Received get_battery_percentage")));
        } finally {
          await endSession(rpc, server);
        }
        // The client went away: the robot heard drive_stop before the server exited.
        await sim.stderr.waitFor(
          (l) => l.includes("Received drive_stop"),
          "drive_stop at the robot",
        );
      } finally {
        sim.child.kill("SIGTERM");
        const status = await sim.child.status;
        await sim.child.stdin.close();
        await Promise.all([sim.stdout.done, sim.stderr.done]);
        await pty.close();
        assert.equal(status.code, 0, sim.stderr.lines.join("\n"));
        assert.deepEqual(sim.stdout.lines, [], "the simulator writes nothing on stdout");
      }
    });

    await t.step(
      "deploy/rvr-mcp.service's command: HTTP with an API key until SIGTERM",
      async () => {
        // The unit runs /usr/local/bin/rvr-mcp, deploy/rvr-mcp installed beside the bundle.
        const wrapper = `${tmp}/dist/rvr-mcp`;
        await Deno.copyFile(`${ROOT}deploy/rvr-mcp`, wrapper);
        await Deno.chmod(wrapper, 0o755);
        const unit = parseUnit(await Deno.readTextFile(`${ROOT}deploy/rvr-mcp.service`));
        // Deno's own: its cache (filled at install, read-only to the service), no update check.
        const denoEnv = ["DENO_DIR", "DENO_NO_UPDATE_CHECK"];
        for (const name of Object.keys(unit.env)) {
          assert.ok(
            Object.values(OPTIONS).some((o) => o.env === name) || denoEnv.includes(name),
            `${name} in the unit is a setting of the program or of Deno`,
          );
        }
        assert.deepEqual(
          [unit.env.DENO_DIR, unit.env.DENO_NO_UPDATE_CHECK],
          ["/var/cache/rvr-mcp", "1"],
        );
        // The GPIO UART of whichever Pi it runs on (a Pi 5's is not /dev/serial0).
        assert.equal(unit.env.RVR_SERIAL_PORT, "auto");
        assert.equal(unit.command, "/usr/local/bin/rvr-mcp");
        assert.equal(unit.env.RVR_MCP_STDIO, "false", "HTTP only: systemd's stdin is /dev/null");
        const key = "bundle-e2e-key-0123456789";
        const service = new Deno.Command(wrapper, {
          cwd: places.cwd,
          env: {
            ...unit.env,
            // This machine has no UART, port 3000 may be taken; the key comes from /etc/rvr-mcp.env.
            RVR_SERIAL_PORT: "sim",
            RVR_MCP_HTTP_PORT: "0",
            RVR_API_KEY: key,
            NO_COLOR: "1",
            DENO_DIR: places.denoDir,
            PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${
              Deno.env.get("PATH") ?? "/usr/bin:/bin"
            }`,
          },
          stdin: "null", // what systemd gives a service
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const stdout = new LineReader(service.stdout);
        const stderr = new LineReader(service.stderr);
        try {
          const line = await stderr.waitFor(
            (l) => l.includes("MCP over Streamable HTTP at"),
            "the HTTP endpoint",
          );
          const url = new URL(JSON.parse(line).url);
          assert.equal(url.hostname, "0.0.0.0", "the unit listens on every interface");
          url.hostname = "127.0.0.1";
          await stderr.waitFor(isReady, "the service to wake the robot");
          const client = new Client({ name: "bundle-e2e", version: "1" });
          await client.connect(
            new StreamableHTTPClientTransport(url, {
              requestInit: { headers: { authorization: `Bearer ${key}` } },
            }),
          );
          const { tools } = await client.listTools();
          assert.equal(tools.length, TOOL_NAMES.length);
          const battery = await client.callTool({ name: "get_battery_status" });
          assert.equal(battery.isError, undefined, JSON.stringify(battery));
          await client.close();
        } finally {
          service.kill("SIGTERM"); // systemctl stop
          const status = await service.status;
          await Promise.all([stdout.done, stderr.done]);
          assert.equal(status.code, 0, stderr.lines.join("\n"));
        }
        assert.deepEqual(stdout.lines, [], "no stdio client, nothing on stdout");
        // stdin (/dev/null) ended at once and did not matter: only the signal stopped it.
        assert.ok(
          stderr.lines.some((l) => l.includes("Shutting down (sigterm)")),
          stderr.lines.join("\n"),
        );
        assert.ok(!stderr.lines.some((l) => l.includes("stdin_eof")));
      },
    );

    await t.step(
      "deploy/claude_desktop_config.json: every server is a command with arguments",
      async () => {
        const config = JSON.parse(
          await Deno.readTextFile(`${ROOT}deploy/claude_desktop_config.json`),
        );
        const servers = Object.entries(config.mcpServers) as [
          string,
          { command: unknown; args: unknown },
        ][];
        assert.ok(servers.length >= 2);
        for (const [name, s] of servers) {
          assert.equal(typeof s.command, "string", name);
          assert.ok(Array.isArray(s.args) && s.args.every((a) => typeof a === "string"), name);
        }
        const ssh = servers.find(([, s]) => s.command === "ssh");
        assert.ok(
          ssh && (ssh[1].args as string[]).at(-1) === "rvr-mcp",
          "ssh runs rvr-mcp on the Pi",
        );
      },
    );

    await t.step("nothing was fetched or cached: the bundle needs no package", async () => {
      assert.equal(await fileCount(`${places.denoDir}/npm`), 0);
      assert.equal(await fileCount(`${places.denoDir}/remote`), 0);
      const leftovers = [];
      for await (const e of Deno.readDir(places.cwd)) leftovers.push(e.name);
      assert.deepEqual(leftovers, [], "the bundle writes nothing into its working directory");
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
