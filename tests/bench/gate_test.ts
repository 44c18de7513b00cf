import assert from "node:assert/strict";
import {
  type BenchStats,
  type Budget,
  calibrationMin,
  escapeRegex,
  evaluate,
  parseBudgets,
  rerunFilter,
  runBenchOrRetry,
  table,
} from "../../bench/gate.ts";
import { calibrationName, isCalibration } from "../../bench/_calibration.ts";

const CAL_START = calibrationName("start");
const CAL_END = calibrationName("end");

function stats(min: number): BenchStats {
  // The gate must read min only: the other figures are far off on purpose.
  return { n: 100, min, avg: min * 5, p75: min * 7, p99: min * 40 };
}

function run(entries: Record<string, number>): Map<string, BenchStats> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, stats(v)]));
}

Deno.test("calibration names are recognised, and only they", () => {
  assert.equal(isCalibration(CAL_START), true);
  assert.equal(isCalibration(CAL_END), true);
  assert.equal(isCalibration("calibration"), false);
  assert.equal(isCalibration("queue: 1000 commands"), false);
});

Deno.test("the calibration of a run is the lower of start and end", () => {
  assert.equal(calibrationMin(run({ [CAL_START]: 70_000, [CAL_END]: 50_000, x: 1 })), 50_000);
  assert.equal(calibrationMin(run({ x: 1 })), undefined);
});

Deno.test("a ratio budget holds min / calibration, whatever p75 does", () => {
  const budgets: Record<string, Budget> = { queue: { ratio: 40, headroom: 1.5 } };
  // A machine twice as fast, or twice as slow: same ratio, same verdict.
  for (const scale of [0.5, 1, 2]) {
    const rows = evaluate(
      run({ [CAL_START]: 50_000 * scale, queue: 1_900_000 * scale }),
      budgets,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].verdict, "ok");
    assert.ok(Math.abs((rows[0].value as number) - 38) < 1e-9);
  }
  // Twice as slow code on the same machine: over.
  const [slow] = evaluate(run({ [CAL_START]: 50_000, queue: 3_800_000 }), budgets);
  assert.equal(slow.verdict, "OVER");
  assert.equal(slow.value, 76);
});

Deno.test("a slow calibration in one file cannot hide a regression: the run's fastest counts", () => {
  const budgets: Record<string, Budget> = { codec: { ratio: 9 } };
  // This file's calibration ran 1.5x slow; the codec is 2x slower than budgeted (6 -> 12).
  const measured = run({ [CAL_START]: 81_000, [CAL_END]: 80_000, codec: 648_000 });
  assert.equal(evaluate(measured, budgets)[0].verdict, "ok"); // alone, it would pass
  const [row] = evaluate(measured, budgets, 54_000);
  assert.equal(row.verdict, "OVER");
  assert.equal(row.value, 12);
  // A faster calibration in this file than elsewhere in the run: its own counts.
  assert.equal(evaluate(run({ [CAL_START]: 50_000, codec: 300_000 }), budgets, 54_000)[0].value, 6);
});

Deno.test("a ratio against another bench of the file", () => {
  const budgets: Record<string, Budget> = {
    full: { ratio: 2, vs: "bare" },
    bare: { ratio: 1 },
  };
  const rows = evaluate(run({ [CAL_START]: 10, bare: 10, full: 25 }), budgets);
  const full = rows.find((r) => r.bench === "full");
  assert.equal(full?.verdict, "OVER");
  assert.equal(full?.value, 2.5);
  assert.equal(rows.find((r) => r.bench === "bare")?.verdict, "ok");
});

Deno.test("absolute budgets, and what is missing, unbudgeted or without a baseline", () => {
  const budgets: Record<string, Budget> = {
    spawn: { ns: 300e6 },
    gone: { ns: 1 },
    cpu: { ratio: 3 },
  };
  const rows = evaluate(run({ spawn: 299e6, extra: 5, cpu: 2 }), budgets);
  const verdict = (b: string) => rows.find((r) => r.bench === b)?.verdict;
  assert.equal(verdict("spawn"), "ok");
  assert.equal(verdict("extra"), "NO BUDGET");
  assert.equal(verdict("gone"), "MISSING");
  assert.equal(verdict("cpu"), "NO BASELINE"); // no calibration in that file
  assert.equal(evaluate(run({ spawn: 301e6 }), { spawn: { ns: 300e6 } })[0].verdict, "OVER");
});

Deno.test("budgets.json: a malformed budget is refused with the bench, the value and the fix", () => {
  const bad = (files: unknown, pattern: RegExp) =>
    assert.throws(() => parseBudgets(JSON.stringify({ note: "", files })), pattern);
  bad({ "bench/a.ts": { x: { ratio: 1, ns: 2 } } }, /"x" .*exactly one of "ratio".* or "ns"/);
  bad({ "bench/a.ts": { x: {} } }, /exactly one of/);
  bad({ "bench/a.ts": { x: { ratio: -1 } } }, /"x" has ratio .*number > 0/);
  bad({ "bench/a.ts": { x: { ns: 0 } } }, /ns > 0/);
  bad({ "bench/a.ts": { x: { ratio: 1, headroom: 0.5 } } }, /headroom 0.5; use a number >= 1/);
  bad({ "bench/a.ts": { x: { ratio: 1, vs: "y" } } }, /against "y".*fix "vs"/);
  bad({ "bench/a.ts": { x: { ns: 1, capNs: -5 } } }, /capNs -5/);
  assert.throws(() => parseBudgets("{}"), /expected \{ "note"/);
  const ok = parseBudgets(
    JSON.stringify({ note: "n", files: { "bench/a.ts": { x: { ratio: 1.5 }, y: { ns: 7 } } } }),
  );
  assert.deepEqual(ok.files["bench/a.ts"].y, { ns: 7 });
});

Deno.test("the committed budgets.json parses, and every ratio's file has the calibration", async () => {
  const text = await Deno.readTextFile(new URL("../../bench/budgets.json", import.meta.url));
  const budgets = parseBudgets(text);
  for (const [file, benches] of Object.entries(budgets.files)) {
    const source = await Deno.readTextFile(new URL(`../../${file}`, import.meta.url));
    const ratios = Object.values(benches).some((b) => "ratio" in b && b.vs === undefined);
    assert.equal(
      ratios,
      source.includes('calibrate("start")') && source.includes('calibrate("end")'),
      `${file}: ratios against the calibration iff it registers both calibrations`,
    );
  }
});

Deno.test("the re-run filter matches exactly the benches over budget, their baselines and the calibrations", () => {
  const names = [
    "bus: publish 10 000 samples -> aggregator -> flush",
    "tools/call get_battery_status (in-memory)",
    "rvr.command echo (queue + breaker + metrics + link + simulator)",
    "FrameDecoder.push 64 KiB mixed frames (MB/s = 65536 / time in us)",
    "a [b] {c} ^$ | ? * . \\ # & ~",
  ];
  const budgets: Record<string, Budget> = Object.fromEntries(
    names.map((n) => [n, { ratio: 1 }] as const),
  );
  budgets[names[2]] = { ratio: 2, vs: names[3] };
  const over = [names[0], names[2], names[4]].map((bench) => ({ bench, verdict: "OVER" as const }));
  const filter = rerunFilter(over, budgets, [CAL_START, CAL_END]);
  assert.ok(filter.startsWith("/") && filter.endsWith("/"));
  const re = new RegExp(filter.slice(1, -1));
  for (const n of [names[0], names[2], names[3], names[4], CAL_START, CAL_END]) {
    assert.ok(re.test(n), `${n} is re-run`);
  }
  assert.equal(re.test(names[1]), false);
  assert.equal(re.test(`${names[0]} and more`), false);
  assert.equal(escapeRegex("a.b"), "a\\.b");
});

Deno.test("the table shows verdict, bench, min, ratio, budget and its use", () => {
  const lines = table(
    evaluate(run({ [CAL_START]: 50_000, q: 1_900_000, s: 124e6 }), {
      q: { ratio: 57 },
      s: { ns: 300e6 },
    }),
  );
  assert.match(lines[0], /verdict .*bench .*min .*ratio .*budget .*use/);
  assert.match(lines[2], /\| ok +\| q +\| 1\.90 ms +\| 38\.0 +\| 57\.0 +\| 67 % +\|/);
  assert.match(lines[3], /\| ok +\| s +\| 124\.00 ms +\| - +\| 300\.00 ms +\| 41 % +\|/);
});

Deno.test("a bench file that fails its own check is run once more; failing twice fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rvr-gate-" });
  try {
    // Fails its check on the first run only (a figure over its limit by noise), then passes.
    const flaky = `${dir}/flaky_bench.ts`;
    await Deno.writeTextFile(
      flaky,
      `const marker = ${JSON.stringify(`${dir}/ran`)};
try { Deno.statSync(marker); } catch {
  Deno.writeTextFileSync(marker, "1");
  throw new Error("peak RSS over its limit (first run)");
}
Deno.bench("after a retry", () => {});
`,
    );
    const measured = await runBenchOrRetry(flaky);
    assert.deepEqual([...measured.keys()], ["after a retry"]);
    // Always over: the second run decides, and it fails.
    const broken = `${dir}/broken_bench.ts`;
    await Deno.writeTextFile(
      broken,
      `throw new Error("peak RSS over its limit");\nDeno.bench("never", () => {});\n`,
    );
    await assert.rejects(() => runBenchOrRetry(broken), /peak RSS over its limit/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
