/**
 * The one fake clock of the tests: @sinonjs/fake-timers installed on the globals, uninstalled by
 * `using` (or `uninstall()`).
 *
 * ```ts
 * using clock = fakeClock();
 * const done = delay(100);
 * await clock.tickAsync(100);
 * ```
 */
import FakeTimers from "@sinonjs/fake-timers";

/** What a test may fake; microtasks are never faked (MemoryPort delivers on them). */
export const FAKEABLE = [
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "Date",
  "performance",
] as const;
export type Fakeable = (typeof FAKEABLE)[number];

/** The part of @sinonjs/fake-timers' installed clock the tests use. */
export interface FakeClock extends Disposable {
  /** Fake milliseconds since the epoch (what `Date.now()` returns). */
  readonly now: number;
  /** Advances `ms`, firing due timers and letting native promises run between them. */
  tickAsync(ms: number): Promise<number>;
  /** Advances `ms` synchronously (no promise callbacks run between timers). */
  tick(ms: number): number;
  /** Jumps `ms` ahead firing each due timer at most once: a blocked event loop. */
  jump(ms: number): number;
  /** Timers scheduled and not yet fired or cleared. */
  countTimers(): number;
  uninstall(): void;
}

export interface FakeClockOptions {
  /** Start time in ms since the epoch (default 0). */
  now?: number;
  /** What to fake (default all of {@link FAKEABLE}). */
  toFake?: readonly Fakeable[];
}

/**
 * Installs fake timers and time (not microtasks: `clock.tickAsync` lets native promises and
 * MemoryPort deliveries run between timers). Install before building what schedules timers.
 */
export function fakeClock(options: FakeClockOptions = {}): FakeClock {
  const toFake = [...(options.toFake ?? FAKEABLE)];
  for (const name of toFake) {
    if (!(FAKEABLE as readonly string[]).includes(name)) {
      throw new RangeError(`Cannot fake "${name}"; choose from ${FAKEABLE.join(", ")}.`);
    }
  }
  const installed = FakeTimers.install({ now: options.now ?? 0, toFake });
  let uninstalled = false;
  const uninstall = () => {
    if (uninstalled) return;
    uninstalled = true;
    installed.uninstall();
  };
  return {
    get now() {
      return installed.now;
    },
    tickAsync: (ms) => installed.tickAsync(ms),
    tick: (ms) => installed.tick(ms),
    jump: (ms) => installed.jump(ms),
    countTimers: () => installed.countTimers(),
    uninstall,
    [Symbol.dispose]: uninstall,
  };
}

/** Runs `fn` with a {@link fakeClock} installed, uninstalling it however `fn` ends. */
export async function withClock<T>(
  fn: (clock: FakeClock) => Promise<T> | T,
  options: FakeClockOptions = {},
): Promise<T> {
  using clock = fakeClock(options);
  return await fn(clock);
}
