/**
 * Fault knobs of the simulated RVR: defaults, validation, and a live-editable settings object whose
 * setters validate every change (a typo or a bad value throws a RangeError naming the knob).
 */
import { COMMANDS, ERROR_CODES } from "../protocol/mod.ts";

export interface FaultSettings {
  /** Stop answering (and streaming) once this many packets were received; null = never. */
  silentAfterPackets: number | null;
  /** Delay every reply by this many ms (notifications are not delayed). */
  replyDelayMs: number;
  /** Break the checksum of every Nth outgoing packet (1 = every packet); null = never. */
  corruptEvery: number | null;
  /** Command name -> ERR code the robot answers with instead of running the command. */
  errorReplies: Record<string, number>;
  /** After `wake`, drive commands answer target_unavailable (0x0A) for this long; the wake reply waits for it. */
  wakeLatencyMs: number;
}

export const FAULT_KNOBS = [
  "silentAfterPackets",
  "replyDelayMs",
  "corruptEvery",
  "errorReplies",
  "wakeLatencyMs",
] as const;
export type FaultKnob = (typeof FAULT_KNOBS)[number];

/** No faults: a healthy robot that answers at once. */
export const DEFAULT_FAULTS: Readonly<Omit<FaultSettings, "errorReplies">> = Object.freeze({
  silentAfterPackets: null,
  replyDelayMs: 0,
  corruptEvery: null,
  wakeLatencyMs: 0,
});

function fail(knob: string, value: unknown, rule: string): never {
  throw new RangeError(
    `Fault knob ${knob} ${rule}, got ${
      typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)
    }.`,
  );
}

function checkNonNegativeMs(knob: FaultKnob, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    fail(knob, value, "must be a finite number of milliseconds >= 0 (0 = off)");
  }
  return value;
}

function checkCount(knob: FaultKnob, value: unknown, min: number): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    fail(knob, value, `must be null (off) or an integer >= ${min}`);
  }
  return value;
}

/** Checks one errorReplies entry: a host command name of sec. 8 and a non-zero ERR code 1-255. */
function checkErrorReply(name: string, code: unknown): number {
  if (!COMMANDS.some((c) => c.name === name && c.kind === "command")) {
    fail(
      `errorReplies["${name}"]`,
      name,
      'must name a command the host sends (rvr-protocol.md sec. 8, e.g. "get_battery_percentage")',
    );
  }
  if (typeof code !== "number" || !Number.isInteger(code) || code < 1 || code > 0xff) {
    fail(
      `errorReplies["${name}"]`,
      code,
      `must be an ERR code 1-255 (e.g. ${
        ERROR_CODES.slice(1).map((e) => `${e.code} ${e.name}`).join(", ")
      }); delete the entry for success`,
    );
  }
  return code;
}

/** A record whose writes are validated, so `faults.errorReplies.echo = 6` is checked too. */
function errorRepliesRecord(initial: unknown): Record<string, number> {
  if (typeof initial !== "object" || initial === null || Array.isArray(initial)) {
    fail("errorReplies", initial, "must be an object { commandName: errCode }");
  }
  const target: Record<string, number> = {};
  for (const [name, code] of Object.entries(initial)) target[name] = checkErrorReply(name, code);
  return new Proxy(target, {
    set(t, key, value) {
      if (typeof key !== "string") return false;
      t[key] = checkErrorReply(key, value);
      return true;
    },
    defineProperty(t, key, descriptor) {
      if (typeof key !== "string") return false;
      t[key] = checkErrorReply(key, descriptor.value);
      return true;
    },
  });
}

class LiveFaults implements FaultSettings {
  #silentAfterPackets: number | null = DEFAULT_FAULTS.silentAfterPackets;
  #replyDelayMs = DEFAULT_FAULTS.replyDelayMs;
  #corruptEvery: number | null = DEFAULT_FAULTS.corruptEvery;
  #errorReplies: Record<string, number> = errorRepliesRecord({});
  #wakeLatencyMs = DEFAULT_FAULTS.wakeLatencyMs;

  get silentAfterPackets(): number | null {
    return this.#silentAfterPackets;
  }
  set silentAfterPackets(v: number | null) {
    this.#silentAfterPackets = checkCount("silentAfterPackets", v, 0);
  }
  get replyDelayMs(): number {
    return this.#replyDelayMs;
  }
  set replyDelayMs(v: number) {
    this.#replyDelayMs = checkNonNegativeMs("replyDelayMs", v);
  }
  get corruptEvery(): number | null {
    return this.#corruptEvery;
  }
  set corruptEvery(v: number | null) {
    this.#corruptEvery = checkCount("corruptEvery", v, 1);
  }
  get errorReplies(): Record<string, number> {
    return this.#errorReplies;
  }
  set errorReplies(v: Record<string, number>) {
    this.#errorReplies = errorRepliesRecord(v);
  }
  get wakeLatencyMs(): number {
    return this.#wakeLatencyMs;
  }
  set wakeLatencyMs(v: number) {
    this.#wakeLatencyMs = checkNonNegativeMs("wakeLatencyMs", v);
  }

  toJSON(): FaultSettings {
    return {
      silentAfterPackets: this.#silentAfterPackets,
      replyDelayMs: this.#replyDelayMs,
      corruptEvery: this.#corruptEvery,
      errorReplies: { ...this.#errorReplies },
      wakeLatencyMs: this.#wakeLatencyMs,
    };
  }
}

/**
 * Live fault settings from plain options (missing knobs take DEFAULT_FAULTS). Every knob is
 * validated now and on every later assignment; an unknown knob name is a RangeError too.
 */
export function createFaultSettings(options: Partial<FaultSettings> = {}): FaultSettings {
  if (typeof options !== "object" || options === null) {
    fail("options", options, `must be an object with some of ${FAULT_KNOBS.join(", ")}`);
  }
  const faults = new LiveFaults();
  for (const [knob, value] of Object.entries(options)) {
    if (!(FAULT_KNOBS as readonly string[]).includes(knob)) {
      fail(knob, value, `is not a fault knob; use one of ${FAULT_KNOBS.join(", ")}`);
    }
    if (value === undefined) continue;
    (faults as unknown as Record<string, unknown>)[knob] = value;
  }
  return faults;
}
