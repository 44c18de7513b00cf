/**
 * The performance gate: runs every bench file with `deno bench --json`, compares each benchmark
 * with its budget in bench/budgets.json, prints a table and exits non-zero when one is over.
 *
 *   deno task bench:gate                      check every bench file
 *   deno task bench:gate bench/x_bench.ts     check only these files
 *   deno task bench:gate --write [files]      (re)write budgets at 3x today's figures
 *
 * Deno's JSON gives min, avg, p75, p99 but no median, so the gate compares p75: it is at least
 * the median, so a bench whose p75 is within budget has its median within budget too. A bench
 * over budget is run once more (alone) before it counts, so one noisy run on a shared machine
 * does not fail CI; a real regression fails both runs.
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url);
const BUDGETS = new URL("budgets.json", import.meta.url);
/** How far above today's figure a budget sits. */
const HEADROOM = 3;

interface BenchResult {
  origin: string;
  name: string;
  results: { ok?: { n: number; avg: number; p75: number; p99: number } }[];
}

interface Budgets {
  note: string;
  /** bench file (relative to the project) -> bench name -> p75 budget in ns */
  files: Record<string, Record<string, number>>;
}

async function runBench(file: string, filter?: string): Promise<Map<string, number>> {
  const args = ["bench", "-A", "--json", ...(filter ? ["--filter", filter] : []), file];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `deno ${args.join(" ")} failed (exit ${out.code}):\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  // What the bench reports beside its timings (medians, percentiles, RSS, bytes saved) goes to
  // stderr; pass it on so the figures show in CI's log, not only the p75 verdicts.
  const report = new TextDecoder().decode(out.stderr).trim();
  if (report) console.error(`--- ${file}${filter ? ` (${filter})` : ""}\n${report}\n`);
  const json = JSON.parse(text) as { benches: BenchResult[] };
  const p75 = new Map<string, number>();
  for (const b of json.benches) {
    const ok = b.results[0]?.ok;
    if (!ok) throw new Error(`${file}: "${b.name}" failed to run: ${JSON.stringify(b.results[0])}`);
    p75.set(b.name, ok.p75);
  }
  return p75;
}

function format(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} us`;
  return `${ns.toFixed(0)} ns`;
}

async function benchFiles(only: string[]): Promise<string[]> {
  if (only.length > 0) return only;
  const files: string[] = [];
  for await (const e of Deno.readDir(new URL("bench/", ROOT))) {
    if (e.isFile && e.name.endsWith("_bench.ts")) files.push(`bench/${e.name}`);
  }
  return files.sort();
}

async function write(only: string[]): Promise<number> {
  const previous = await Deno.readTextFile(BUDGETS).then(
    (t) => (JSON.parse(t) as Budgets).files,
    (e) => {
      if (e instanceof Deno.errors.NotFound) return {};
      throw e;
    },
  );
  const budgets: Budgets = {
    note:
      `p75 budgets in ns, ${HEADROOM}x the p75 measured on the project's 2-core machine when written (deno task bench:gate --write).`,
    files: previous,
  };
  for (const file of await benchFiles(only)) {
    const measured = await runBench(file);
    budgets.files[file] = Object.fromEntries(
      [...measured].map(([name, p75]) => [name, Math.ceil(p75 * HEADROOM)]),
    );
    console.error(`measured ${measured.size} benches in ${file}`);
  }
  await Deno.writeTextFile(BUDGETS, JSON.stringify(budgets, null, 2) + "\n");
  console.error(`wrote ${BUDGETS.pathname}`);
  return 0;
}

async function check(only: string[]): Promise<number> {
  const budgets = JSON.parse(await Deno.readTextFile(BUDGETS)) as Budgets;
  const rows: string[][] = [];
  let failures = 0;
  const files = await benchFiles(only);
  for (const file of files) {
    const budgeted = budgets.files[file];
    if (!budgeted) {
      console.error(
        `${file} has no budgets: run deno task bench:gate --write and commit budgets.json`,
      );
      failures++;
      continue;
    }
    const measured = await runBench(file);
    for (const [name, p75] of measured) {
      const budget = budgeted[name];
      if (budget === undefined) {
        rows.push([file, name, format(p75), "none", "-", "NO BUDGET"]);
        failures++;
        continue;
      }
      let value = p75;
      let verdict = "ok";
      if (value > budget) {
        // One re-run, alone, before it counts.
        const again = (await runBench(file, name)).get(name);
        value = again === undefined ? value : Math.min(value, again);
        verdict = value > budget ? "OVER" : "ok (re-run)";
      }
      if (value > budget) failures++;
      rows.push([file, name, format(value), format(budget), (value / budget).toFixed(2), verdict]);
    }
    for (const name of Object.keys(budgeted)) {
      if (!measured.has(name)) {
        rows.push([file, name, "-", format(budgeted[name]), "-", "MISSING"]);
        failures++;
      }
    }
  }
  const header = ["file", "bench", "p75 (>= median)", "budget", "ratio", "verdict"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    failures === 0
      ? `bench gate: ${rows.length} benches within budget`
      : `bench gate: ${failures} over budget, missing or unbudgeted`,
  );
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { write: { type: "boolean" } },
    allowPositionals: true,
  });
  Deno.exit(values.write ? await write(positionals) : await check(positionals));
}
