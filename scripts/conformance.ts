/**
 * The official MCP conformance suite against this server, both protocol eras: starts the server
 * as a service would run it (`main.ts`, built-in simulator, MCP over Streamable HTTP only, on a
 * port of the system's choosing), runs the suite's server scenarios of each revision's
 * requirement set (`--requirements 2025-11-25`, then `2026-07-28`) against it with
 * tests/conformance/expected-failures.yaml as the baseline, prints a table of scenario -> checks
 * passed/failed, and stops the server (SIGTERM, exit 0 expected).
 *
 * Exit 0 when every check passes but the baselined ones (each with its reason in that file); 1
 * on any other failure, or on a baselined check that now passes (a stale baseline).
 *
 *   deno task conformance [--keep DIR]    (DIR: keep the suite's checks.json files there)
 *
 * The suite runs under Deno from a scratch directory (no deno.json or package.json above it, so
 * this project's import map and lock file stay out of it); this machine's Node lacks what it
 * needs. Its version is pinned here.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The suite: 0.2.0 pre-releases carry the 2026-07-28 scenarios and requirement sets. */
export const SUITE = "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12";
/** The requirement sets run, one per protocol era. */
export const REVISIONS = ["2025-11-25", "2026-07-28"] as const;
/** Per-scenario timeout given to the suite, ms. */
const SCENARIO_TIMEOUT_MS = 30_000;
/** The whole run of one revision at most, ms (the suite's own timeouts come first). */
const RUN_TIMEOUT_MS = 240_000;

const ROOT = new URL("../", import.meta.url).pathname;
const BASELINE = `${ROOT}tests/conformance/expected-failures.yaml`;

/** One scenario's line of the suite's summary: "\u2713 name: 3 passed, 0 failed". */
export interface ScenarioCount {
  scenario: string;
  passed: number;
  failed: number;
}

/** The scenario lines of the suite's output (colour codes removed). */
export function scenarioCounts(output: string): ScenarioCount[] {
  const plain = output.replace(new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*m`, "g"), "");
  const counts: ScenarioCount[] = [];
  for (const m of plain.matchAll(/^[\u2713\u2717] ([\w./:-]+): (\d+) passed, (\d+) failed$/gmu)) {
    counts.push({ scenario: m[1], passed: Number(m[2]), failed: Number(m[3]) });
  }
  return counts;
}

/** Starts the server on the simulator, HTTP only; resolves with its MCP URL once listening. */
async function startServer(): Promise<{ url: string; child: Deno.ChildProcess; log: string[] }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: {
      RVR_SERIAL_PORT: "sim",
      RVR_MCP_STDIO: "false",
      RVR_MCP_HTTP_PORT: "0",
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const url = Promise.withResolvers<string>();
  (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream());
    let rest = "";
    for await (const chunk of lines) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        log.push(line);
        try {
          const record = JSON.parse(line);
          if (typeof record.url === "string" && /Streamable HTTP/.test(record.message)) {
            url.resolve(record.url);
          }
        } catch {
          url.reject(new Error(`The server wrote a log line that is not JSON: ${line}`));
        }
      }
    }
    url.reject(new Error(`The server ended before it listened:\n${log.join("\n")}`));
  })();
  const timer = setTimeout(
    () => url.reject(new Error(`The server did not listen within 30 s:\n${log.join("\n")}`)),
    30_000,
  );
  try {
    return { url: await url.promise, child, log };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the suite for `revision`; its output goes to this process's stdout as it comes. */
async function runSuite(
  revision: string,
  url: string,
  outDir: string,
): Promise<{ code: number; counts: ScenarioCount[]; ms: number }> {
  const scratch = await Deno.makeTempDir({ prefix: "rvr-conformance-" });
  const started = performance.now();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        SUITE,
        "server",
        "--url",
        url,
        "--requirements",
        revision,
        "--expected-failures",
        BASELINE,
        "--timeout",
        String(SCENARIO_TIMEOUT_MS),
        "-o",
        `${outDir}/${revision}`,
      ],
      cwd: scratch,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const timer = setTimeout(() => {
      console.error(`conformance ${revision}: over ${RUN_TIMEOUT_MS / 1000} s, stopping it`);
      child.kill("SIGTERM");
    }, RUN_TIMEOUT_MS);
    let output = "";
    const encoder = new TextEncoder();
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      await Deno.stdout.write(encoder.encode(chunk));
    }
    const status = await child.status;
    clearTimeout(timer);
    return { code: status.code, counts: scenarioCounts(output), ms: performance.now() - started };
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { keep: { type: "string" } } });
  const outDir = values.keep ?? await Deno.makeTempDir({ prefix: "rvr-conformance-out-" });
  const server = await startServer();
  console.log(`conformance: ${SUITE} against ${server.url} (built-in simulator)`);
  const results: { revision: string; code: number; counts: ScenarioCount[]; ms: number }[] = [];
  try {
    for (const revision of REVISIONS) {
      console.log(`\nconformance: server scenarios required by ${revision}`);
      results.push({ revision, ...await runSuite(revision, server.url, outDir) });
    }
  } finally {
    server.child.kill("SIGTERM");
    const status = await server.child.status;
    if (status.code !== 0) {
      console.error(`the server exited ${status.code}:\n${server.log.slice(-20).join("\n")}`);
      Deno.exitCode = 1;
    }
    if (values.keep === undefined) await Deno.remove(outDir, { recursive: true });
  }
  console.log("\nconformance summary (checks passed / failed per scenario):");
  for (const r of results) {
    const passed = r.counts.reduce((n, c) => n + c.passed, 0);
    const failed = r.counts.reduce((n, c) => n + c.failed, 0);
    console.log(
      `\n${r.revision}: ${passed} passed, ${failed} failed in ${r.counts.length} ` +
        `scenarios (${(r.ms / 1000).toFixed(0)} s); against the baseline: ` +
        (r.code === 0 ? "ok" : `FAILED (exit ${r.code})`),
    );
    for (const c of r.counts) {
      console.log(`  ${c.scenario.padEnd(48)} ${String(c.passed).padStart(3)} ${c.failed}`);
    }
  }
  if (results.some((r) => r.code !== 0)) Deno.exitCode = 1;
  console.log(`conformance: ${Deno.exitCode ? "FAILED" : "ok"}`);
}
