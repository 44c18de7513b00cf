/**
 * The performance gate: runs every bench file with `deno bench --json`, holds each benchmark to
 * its budget in bench/budgets.json, prints a table per file and exits non-zero when one is over.
 *
 *   deno task bench:gate                      check every bench file
 *   deno task bench:gate bench/x_bench.ts     check only these files
 *   deno task bench:gate --write [files]      (re)write the budgets from today's figures
 *
 * What it compares, and why (a shared 2-core machine, other processes busy, pauses of tens of ms):
 * - **The minimum**, never p75 or the mean. Noise (preemption, GC, a neighbour's load) only ever
 *   adds time, so the fastest of many iterations is what the code costs, and it barely moves
 *   under load, while a p75 can triple. `deno bench --json` gives min, max, avg, p75 and p99 per
 *   bench but no samples, so a low percentile is not available; its min is that of single calls
 *   (or, under 10 us per call, of batches of 10 000 calls).
 * - **A ratio, where the machine's speed matters**: CPU-bound benches are divided by the
 *   calibration bench (bench/_calibration.ts: fixed pure-JS work) run at the start and end of
 *   each file, the fastest of the whole gate run (noise only slows it, so a slow one must not
 *   lower the ratios it divides); or by another bench of the same file (`vs`). A machine half as
 *   fast halves both; a 2x slowdown of the code does not.
 * - **An absolute time** for what the operating system decides (process start, pipes, ptys,
 *   timers), as a generous safety net against pathology, capped at the target where there is one.
 *
 * budgets.json, per file and bench: `{ "ratio": r, "headroom": h }` (min / calibration <= r;
 * `"vs": "<bench>"` for another baseline) or `{ "ns": t, "headroom": h, "capNs": c }` (min <= t
 * ns). `--write` measures each file WRITE_RUNS times and sets r or t to the median times h (at
 * most c). h is chosen per bench from how much its figure moves between runs: small (1.5-1.75) where
 * it is steady, so a 2x regression fails; larger where the figure is noisy and the bench only
 * guards against pathology. A bench over budget is run once more (with its baseline and the
 * calibration) before it counts, and the better of the two runs stands; a bench file that fails
 * (its own checks at load: a peak RSS over a limit, ...) is run once more too.
 */
import { parseArgs } from "node:util";
import { isCalibration } from "./_calibration.ts";

const ROOT = new URL("../", import.meta.url);
const BUDGETS = new URL("budgets.json", import.meta.url);
/** How many times --write measures each file; the budget is taken from the median. */
const WRITE_RUNS = 3;
/** Headroom of a new budget: a ratio must stay tight enough for a 2x regression to fail it. */
const DEFAULT_HEADROOM = { ratio: 1.5, ns: 3 } as const;

/** What `deno bench --json` reports per bench, in ns. */
export interface BenchStats {
  n: number;
  min: number;
  avg: number;
  p75: number;
  p99: number;
}

/** min / baseline min <= ratio; the baseline is the calibration unless `vs` names a bench. */
export interface RatioBudget {
  ratio: number;
  vs?: string;
  headroom?: number;
}

/** min <= ns. */
export interface AbsoluteBudget {
  ns: number;
  headroom?: number;
  /** --write never sets `ns` above this (a target). */
  capNs?: number;
}

export type Budget = RatioBudget | AbsoluteBudget;

export interface Budgets {
  note: string;
  /** bench file (relative to the project) -> bench name -> budget */
  files: Record<string, Record<string, Budget>>;
}

export const VERDICTS = [
  "ok",
  "ok (re-run)",
  "OVER",
  "NO BUDGET",
  "MISSING",
  "NO BASELINE",
] as const;
export type Verdict = typeof VERDICTS[number];

export interface Row {
  bench: string;
  verdict: Verdict;
  /** The bench's min in ns, if it ran. */
  min?: number;
  /** The measured figure held to the budget: a ratio, or ns. */
  value?: number;
  budget?: Budget;
  /** What the ratio is against, for the table. */
  baseline?: string;
}

function isRatio(b: Budget): b is RatioBudget {
  return "ratio" in b;
}

/** Checks budgets.json's shape; throws naming the file, the bench, the value and the fix. */
export function parseBudgets(text: string, where = "bench/budgets.json"): Budgets {
  const raw = JSON.parse(text) as unknown;
  const fail = (what: string): never => {
    throw new TypeError(`${where}: ${what}`);
  };
  if (typeof raw !== "object" || raw === null || typeof (raw as Budgets).files !== "object") {
    fail(`expected { "note": "...", "files": { "<file>": { "<bench>": budget } } }`);
  }
  const budgets = raw as Budgets;
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  for (const [file, benches] of Object.entries(budgets.files)) {
    for (const [name, b] of Object.entries(benches)) {
      const at = `${file} "${name}"`;
      const got = JSON.stringify(b);
      if (typeof b !== "object" || b === null) fail(`${at} has budget ${got}; use an object.`);
      const hasRatio = "ratio" in b;
      const hasNs = "ns" in b;
      if (hasRatio === hasNs) {
        fail(`${at} has budget ${got}; give exactly one of "ratio" (against a baseline) or "ns".`);
      }
      if (hasRatio && !positive((b as RatioBudget).ratio)) {
        fail(`${at} has ratio ${got}; use a number > 0.`);
      }
      if (hasNs && !positive((b as AbsoluteBudget).ns)) fail(`${at} has ns ${got}; use ns > 0.`);
      const h = b.headroom;
      if (h !== undefined && !(positive(h) && h >= 1)) {
        fail(`${at} has headroom ${h}; use a number >= 1 (or leave it out for the default).`);
      }
      const vs = (b as RatioBudget).vs;
      if (vs !== undefined && (typeof vs !== "string" || !(vs in benches) || vs === name)) {
        fail(`${at} is against "${vs}", which is no other budgeted bench of ${file}; fix "vs".`);
      }
      const cap = (b as AbsoluteBudget).capNs;
      if (cap !== undefined && !positive(cap)) fail(`${at} has capNs ${cap}; use ns > 0.`);
    }
  }
  return budgets;
}

/** The calibration's min in a run: the lower of its measurements (start and end of the file). */
export function calibrationMin(measured: Map<string, BenchStats>): number | undefined {
  let min: number | undefined;
  for (const [name, s] of measured) {
    if (isCalibration(name) && (min === undefined || s.min < min)) min = s.min;
  }
  return min;
}

/**
 * Holds every bench of one run of a file to its budget. Benches without a budget, budgets without
 * a bench, and ratios whose baseline did not run all count as failures.
 */
export function evaluate(
  measured: Map<string, BenchStats>,
  budgets: Record<string, Budget>,
  /** The fastest calibration of the whole gate run, if known; the lower of it and this run's counts. */
  fastestCalibration?: number,
): Row[] {
  const rows: Row[] = [];
  const own = calibrationMin(measured);
  const calibration = own === undefined ? undefined : Math.min(own, fastestCalibration ?? own);
  for (const [bench, stats] of measured) {
    if (isCalibration(bench)) continue;
    const budget = budgets[bench];
    if (budget === undefined) {
      rows.push({ bench, verdict: "NO BUDGET", min: stats.min });
      continue;
    }
    if (!isRatio(budget)) {
      const verdict = stats.min <= budget.ns ? "ok" : "OVER";
      rows.push({ bench, verdict, min: stats.min, value: stats.min, budget });
      continue;
    }
    const baseline = budget.vs ?? "calibration";
    const base = budget.vs === undefined ? calibration : measured.get(budget.vs)?.min;
    if (base === undefined || base <= 0) {
      rows.push({ bench, verdict: "NO BASELINE", min: stats.min, budget, baseline });
      continue;
    }
    const value = stats.min / base;
    rows.push({
      bench,
      verdict: value <= budget.ratio ? "ok" : "OVER",
      min: stats.min,
      value,
      budget,
      baseline,
    });
  }
  for (const [bench, budget] of Object.entries(budgets)) {
    if (!measured.has(bench)) rows.push({ bench, verdict: "MISSING", budget });
  }
  return rows;
}

/** Escapes `s` for a `deno bench --filter "/.../"` pattern (Rust regex syntax). */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$#&\-~]/g, "\\$&");
}

/** A --filter matching exactly the `over` benches, their `vs` baselines and the calibrations. */
export function rerunFilter(
  over: readonly Row[],
  budgets: Record<string, Budget>,
  calibrationNames: readonly string[],
): string {
  const names = new Set<string>(calibrationNames);
  for (const r of over) {
    names.add(r.bench);
    const b = budgets[r.bench];
    if (b !== undefined && isRatio(b) && b.vs !== undefined) names.add(b.vs);
  }
  return `/^(${[...names].map(escapeRegex).join("|")})$/`;
}

/** Of two evaluations of the same bench, the one further within its budget. */
function better(first: Row, again: Row | undefined): Row {
  if (again?.value === undefined || first.value === undefined) return first;
  if (again.value >= first.value) return first;
  return { ...again, verdict: again.verdict === "ok" ? "ok (re-run)" : again.verdict };
}

/**
 * {@link runBench}, once more if the file failed: a bench file also fails on its own checks at
 * load (a peak RSS over its limit, a telemetry batch unaccounted for), and on this shared machine
 * a figure near its limit can cross it by noise, as a timing can. As with a bench over budget,
 * the second run decides; a file that fails twice fails the gate.
 */
export async function runBenchOrRetry(file: string): Promise<Map<string, BenchStats>> {
  try {
    return await runBench(file);
  } catch (error) {
    console.error(`--- ${file} failed once (${errorText(error).split("\n")[0]}); once more`);
  }
  try {
    return await runBench(file);
  } catch (error) {
    // `deno bench --json` prints only "Bench failed" for an error at load: run the file once more
    // without benches or JSON so the reason is in the log.
    throw new Error(`${errorText(error)}\nThe reason:\n${await failureReason(file)}`);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a bench file that fails at load prints without --json (its benches filtered out). */
async function failureReason(file: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--filter", "^(?!)$", file],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  return text.split("\n").filter((line) => /error|Error/.test(line)).slice(0, 5).join("\n") ||
    text.trim().slice(-2000);
}

async function runBench(file: string, filter?: string): Promise<Map<string, BenchStats>> {
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
  // stderr; pass it on so the figures show in CI's log, not only the verdicts.
  const report = new TextDecoder().decode(out.stderr).trim();
  if (report) console.error(`--- ${file}${filter ? ` (re-run)` : ""}\n${report}\n`);
  const json = JSON.parse(text) as {
    benches: { name: string; results: { ok?: BenchStats }[] }[];
  };
  const measured = new Map<string, BenchStats>();
  for (const b of json.benches) {
    const ok = b.results[0]?.ok;
    if (!ok) throw new Error(`${file}: "${b.name}" failed to run: ${JSON.stringify(b.results[0])}`);
    measured.set(b.name, ok);
  }
  return measured;
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} us`;
  return `${ns.toFixed(0)} ns`;
}

/** Three significant digits: 0.00912, 6.38, 45.2, 131. */
function formatRatio(r: number): string {
  return r >= 100 ? r.toFixed(0) : r.toPrecision(3);
}

/** One file's rows as a table: verdict, bench, min, the figure held to the budget, the budget. */
export function table(rows: readonly Row[]): string[] {
  const header = ["verdict", "bench", "min", "ratio", "budget", "use"];
  const cells = rows.map((r) => {
    const b = r.budget;
    const ratio = r.value !== undefined && b !== undefined && isRatio(b)
      ? `${formatRatio(r.value)}${b.vs === undefined ? "" : ` vs "${b.vs}"`}`
      : "-";
    const budget = b === undefined ? "-" : isRatio(b) ? formatRatio(b.ratio) : formatNs(b.ns);
    const use = r.value === undefined || b === undefined
      ? "-"
      : `${Math.round((100 * r.value) / (isRatio(b) ? b.ratio : b.ns))} %`;
    return [r.verdict, r.bench, r.min === undefined ? "-" : formatNs(r.min), ratio, budget, use];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)];
}

async function benchFiles(only: string[]): Promise<string[]> {
  if (only.length > 0) return only;
  const files: string[] = [];
  for await (const e of Deno.readDir(new URL("bench/", ROOT))) {
    if (e.isFile && e.name.endsWith("_bench.ts")) files.push(`bench/${e.name}`);
  }
  return files.sort();
}

async function readBudgets(): Promise<Budgets> {
  return parseBudgets(await Deno.readTextFile(BUDGETS));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rounds up to three significant digits. */
function up3(x: number): number {
  const scale = 10 ** (Math.floor(Math.log10(x)) - 2);
  return Math.ceil(x / scale) * scale;
}

async function write(only: string[]): Promise<number> {
  const previous = await readBudgets().catch((e) => {
    if (e instanceof Deno.errors.NotFound) return { note: "", files: {} } as Budgets;
    throw e;
  });
  const budgets: Budgets = { note: previous.note, files: { ...previous.files } };
  for (const file of await benchFiles(only)) {
    const runs: Map<string, BenchStats>[] = [];
    for (let i = 0; i < WRITE_RUNS; i++) runs.push(await runBench(file));
    const calibrations = runs.map(calibrationMin).filter((c) => c !== undefined);
    const hasCalibration = calibrations.length === runs.length;
    const fastest = hasCalibration ? Math.min(...calibrations) : undefined;
    const old = previous.files[file] ?? {};
    const next: Record<string, Budget> = {};
    for (const name of runs[0].keys()) {
      if (isCalibration(name)) continue;
      const kept = old[name] ?? (hasCalibration ? { ratio: 1 } : { ns: 1 });
      const headroom = kept.headroom ?? DEFAULT_HEADROOM[isRatio(kept) ? "ratio" : "ns"];
      const values = runs.map((measured) => {
        const stats = measured.get(name);
        if (stats === undefined) throw new Error(`${file}: "${name}" did not run every time`);
        if (!isRatio(kept)) return stats.min;
        const base = kept.vs === undefined ? fastest : measured.get(kept.vs)?.min;
        if (base === undefined) throw new Error(`${file}: no baseline for "${name}"`);
        return stats.min / base;
      });
      const m = median(values) * headroom;
      next[name] = isRatio(kept)
        ? { ...kept, ratio: up3(m) }
        : { ...kept, ns: Math.min(Math.ceil(m), kept.capNs ?? Infinity) };
      const spread = Math.max(...values) / Math.min(...values);
      console.error(
        `${file} "${name}": ${values.map(formatRatio).join(", ")} (x${spread.toFixed(2)})`,
      );
    }
    budgets.files[file] = next;
  }
  parseBudgets(JSON.stringify(budgets));
  await Deno.writeTextFile(BUDGETS, JSON.stringify(budgets, null, 2) + "\n");
  console.error(`wrote ${BUDGETS.pathname}`);
  return 0;
}

async function check(only: string[]): Promise<number> {
  const budgets = await readBudgets();
  let failures = 0;
  let total = 0;
  // Every file first: the machine's speed is the fastest calibration of the whole run, so one
  // process whose calibration ran slow (seen: 1.5x, start and end alike) cannot hide a regression
  // of that file's benches; a process slow throughout can only fail, and then it is re-run.
  const runs: {
    file: string;
    budgeted: Record<string, Budget>;
    measured: Map<string, BenchStats>;
  }[] = [];
  for (const file of await benchFiles(only)) {
    const budgeted = budgets.files[file];
    if (!budgeted) {
      console.log(
        `${file} has no budgets: run deno task bench:gate --write ${file}, commit budgets.json`,
      );
      failures++;
      continue;
    }
    runs.push({ file, budgeted, measured: await runBenchOrRetry(file) });
  }
  const calibrations = runs.map((r) => calibrationMin(r.measured)).filter((c) => c !== undefined);
  const fastest = calibrations.length > 0 ? Math.min(...calibrations) : undefined;
  for (const { file, budgeted, measured } of runs) {
    let rows = evaluate(measured, budgeted, fastest);
    const over = rows.filter((r) => r.verdict === "OVER");
    if (over.length > 0) {
      // One re-run of what is over (with its baselines), before it counts.
      const names = [...measured.keys()].filter(isCalibration);
      const again = await runBench(file, rerunFilter(over, budgeted, names));
      const subset = Object.fromEntries(over.map((r) => [r.bench, budgeted[r.bench]]));
      const second = new Map(evaluate(again, subset, fastest).map((r) => [r.bench, r]));
      rows = rows.map((r) => r.verdict === "OVER" ? better(r, second.get(r.bench)) : r);
    }
    const own = calibrationMin(measured);
    console.log(
      `\n${file}${
        own === undefined
          ? ""
          : ` (calibration ${formatNs(own)} here, fastest ${
            formatNs(Math.min(own, fastest ?? own))
          })`
      }`,
    );
    for (const l of table(rows)) console.log(l);
    total += rows.length;
    failures += rows.filter((r) => !r.verdict.startsWith("ok")).length;
  }
  console.log(
    failures === 0
      ? `\nbench gate: ${total} benches within budget (min; ratios against the fastest calibration)`
      : `\nbench gate: ${failures} over budget, missing or unbudgeted (of ${total})`,
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
