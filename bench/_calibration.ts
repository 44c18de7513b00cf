/**
 * The yardstick for the bench gate: a fixed piece of pure-JS work, none of it the project's code,
 * shaped like what the project's hot paths do (byte loops over typed arrays, small objects in
 * arrays and maps, a chain of awaited promises, JSON). Its time says how fast this machine is
 * right now, so bench/gate.ts can hold a bench to a ratio against it, measured in the same
 * process and run, instead of to an absolute time that only holds on one machine.
 *
 * A bench file opts in with `calibrate("start")` before its own benches and `calibrate("end")`
 * after them (registration order is run order): the gate takes the lower of the two, so a burst
 * of load on the machine while one of them runs does not skew every ratio of the file. Changing
 * the work changes every ratio: rewrite the budgets (`deno task bench:gate --write`) in the same
 * commit.
 *
 * One iteration takes about 50 us on the project's 2-core machine, well above the 10 us under
 * which `deno bench` times batches of 10 000 calls instead of single calls, so its minimum is
 * always that of single iterations.
 */

/** Where in its file a calibration bench runs. */
export const CALIBRATION_POINTS = ["start", "end"] as const;
export type CalibrationPoint = typeof CALIBRATION_POINTS[number];

/** Every calibration bench's name starts with this. */
export const CALIBRATION_PREFIX = "calibration";

/** The name of the calibration bench registered at `point`. */
export function calibrationName(point: CalibrationPoint): string {
  return `${CALIBRATION_PREFIX} (${point}): fixed pure-JS work, this machine's speed for ratios`;
}

const BYTES = new Uint8Array(8192).map((_, i) => (i * 131 + 7) & 0xff);
const OBJECTS = 256;
const AWAITS = 256;

/** One unit of work; returns a number that depends on all of it, so none can be optimised away. */
async function work(): Promise<number> {
  // Byte loop with branches, like framing and escaping.
  let sum = 0;
  let special = 0;
  for (let i = 0; i < BYTES.length; i++) {
    const b = BYTES[i];
    sum = (sum + b) & 0xffff;
    if (b === 0x8d || b === 0xd8 || b === 0xab) special++;
  }
  // Small objects in an array and a map, like queue entries and bus events.
  const items: { id: number; key: string; value: number }[] = [];
  const byKey = new Map<string, number>();
  for (let i = 0; i < OBJECTS; i++) {
    const item = { id: i, key: `k${(i * 7) % OBJECTS}`, value: (i * 2654435761) % 1000 };
    items.push(item);
    byKey.set(item.key, item.value);
  }
  items.sort((a, b) => a.value - b.value);
  // A chain of awaited promises, like request/response round trips.
  let chain = 0;
  for (let i = 0; i < AWAITS; i++) chain += await Promise.resolve(i);
  // JSON, like JSON-RPC messages and telemetry frames.
  const text = JSON.stringify({ sum, items: items.slice(0, 8) });
  const parsed = JSON.parse(text) as { sum: number; items: unknown[] };
  return parsed.sum + special + items[0].value + byKey.size + chain + parsed.items.length;
}

let expected: number | undefined;

/** Registers the calibration bench of `point` in the calling bench file. */
export function calibrate(point: CalibrationPoint): void {
  if (!(CALIBRATION_POINTS as readonly string[]).includes(point)) {
    throw new RangeError(
      `calibrate(${String(point)}): use "start" (before the file's benches) or "end" (after them).`,
    );
  }
  Deno.bench({
    name: calibrationName(point),
    group: "calibration",
    async fn() {
      const result = await work();
      expected ??= result;
      if (result !== expected) throw new Error(`calibration drifted: ${result} != ${expected}`);
    },
  });
}

/** True for the name of a calibration bench (not a bench of the project). */
export function isCalibration(name: string): boolean {
  return CALIBRATION_POINTS.some((p) => name === calibrationName(p));
}
