/**
 * Waiting in tests without sleeping: let what is queued run ({@link settle}), or drive fake time
 * until a promise settles ({@link settleWith}) or a condition holds ({@link tickUntil}).
 */
import type { FakeClock } from "./clock.ts";

/** The real setTimeout, taken before any test can install a fake clock. */
const realSetTimeout = globalThis.setTimeout;

/**
 * Lets everything already queued run: every pending promise callback and MemoryPort delivery
 * (microtasks), including those they queue in turn. One real macrotask turn, so fake time does
 * not move and no fake timer fires.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, 0));
}

/**
 * Ticks fake time in 10 ms steps until `p` settles (at most `maxMs` of it, by default a minute:
 * the slowest move a test makes); resolves to its value, rethrows its rejection.
 */
export async function settleWith<T>(clock: FakeClock, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let outcome: { ok: true; v: T } | { ok: false; e: unknown } | undefined;
  p.then((v) => outcome = { ok: true, v }, (e) => outcome = { ok: false, e });
  for (let t = 0; t < maxMs && outcome === undefined; t += 10) await clock.tickAsync(10);
  if (outcome === undefined) {
    throw new Error(`Still pending after ${maxMs} ms of fake time; raise maxMs or find the hang.`);
  }
  if (!outcome.ok) throw outcome.e;
  return outcome.v;
}

/** Like {@link settleWith}, for a promise that must reject; returns the error. */
export async function settleErrorWith(
  clock: FakeClock,
  p: Promise<unknown>,
  maxMs = 60_000,
): Promise<unknown> {
  let value: unknown;
  try {
    value = await settleWith(clock, p, maxMs);
  } catch (e) {
    return e;
  }
  throw new Error(`Expected a rejection, got the value ${JSON.stringify(value)}.`);
}

/** Ticks fake time in 10 ms steps until `cond()` holds (at most `maxMs` of it). */
export async function tickUntil(
  clock: FakeClock,
  cond: () => boolean,
  what: string,
  maxMs = 30_000,
): Promise<void> {
  for (let t = 0; t < maxMs; t += 10) {
    if (cond()) return;
    await clock.tickAsync(10);
  }
  if (cond()) return;
  throw new Error(`${what}: not reached within ${maxMs} ms of fake time`);
}

/** A promise's value or its error (non-errors wrapped), so it can be awaited and inspected later. */
export function outcomeOf<T>(p: Promise<T>): Promise<T | Error> {
  return p.then((v) => v, (e: unknown) => (e instanceof Error ? e : new Error(String(e))));
}
