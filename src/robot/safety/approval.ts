/**
 * Which actions a person must approve before the model may take them (RVR_APPROVAL), and the
 * answers a person can give. The policy is written as `none` or a comma-separated list of:
 *
 * | item | what needs the person's accept |
 * |---|---|
 * | `clear_person_estop` | the model clearing an emergency stop a person latched (always on unless `none`) |
 * | `speed_limit_above:<percent>` | raising the speed limit above `<percent>` (0-100) |
 * | `disable_watchdog` | switching the auto-stop watchdog off (set_command_timeout 0) |
 * | `raw_motors` | open-loop motor drives (drive_raw_motors; turning both motors off never asks) |
 *
 * `clear_person_estop` cannot be left out by accident: a list that tightens other actions keeps
 * it; only the explicit word `none` (alone) lets the model clear a person's stop without asking.
 * Unset means `clear_person_estop`.
 *
 * @module
 */

/** The actions RVR_APPROVAL can gate, as written in it. */
export const APPROVAL_ACTIONS = [
  "clear_person_estop",
  "speed_limit_above",
  "disable_watchdog",
  "raw_motors",
] as const;
export type ApprovalAction = typeof APPROVAL_ACTIONS[number];

/** A person's answer: accept, decline, or cancel (dismissed without choosing). */
export const APPROVAL_DECISIONS = ["accept", "decline", "cancel"] as const;
export type ApprovalDecision = typeof APPROVAL_DECISIONS[number];

/** The RVR_APPROVAL value that lets the model do everything without asking. */
export const APPROVAL_NONE = "none";
/** RVR_APPROVAL when unset. */
export const DEFAULT_APPROVAL = "clear_person_estop";

/** What RVR_APPROVAL allows, for error messages and --help. */
export const APPROVAL_ALLOWED =
  `"${APPROVAL_NONE}", or a comma-separated list of clear_person_estop, ` +
  "speed_limit_above:<percent 0-100>, disable_watchdog, raw_motors";

/** What needs a person's approval; built by {@link parseApprovalPolicy}. */
export class ApprovalPolicy {
  /** The model clearing an e-stop a person latched. */
  readonly clearPersonEstop: boolean;
  /** Raising the speed limit above this percent; null when it never asks. */
  readonly speedLimitAbovePercent: number | null;
  /** Switching the watchdog off. */
  readonly disableWatchdog: boolean;
  /** Raw motor drives that turn a motor. */
  readonly rawMotors: boolean;

  constructor(options: {
    clearPersonEstop: boolean;
    speedLimitAbovePercent?: number | null;
    disableWatchdog?: boolean;
    rawMotors?: boolean;
  }) {
    const above = options.speedLimitAbovePercent ?? null;
    if (above !== null && !(Number.isFinite(above) && above >= 0 && above <= 100)) {
      throw new RangeError(`speedLimitAbovePercent must be a number 0-100 or null, got ${above}.`);
    }
    this.clearPersonEstop = options.clearPersonEstop;
    this.speedLimitAbovePercent = above;
    this.disableWatchdog = options.disableWatchdog ?? false;
    this.rawMotors = options.rawMotors ?? false;
    Object.freeze(this);
  }

  /** True when nothing needs approval. */
  get none(): boolean {
    return !this.clearPersonEstop && this.speedLimitAbovePercent === null &&
      !this.disableWatchdog && !this.rawMotors;
  }

  /** Whether raising the limit from `current` to `percent` needs approval. */
  speedLimitNeedsApproval(percent: number, current: number): boolean {
    const above = this.speedLimitAbovePercent;
    return above !== null && percent > above && percent > current;
  }

  /** The items in effect, as RVR_APPROVAL writes them. */
  items(): string[] {
    const out: string[] = [];
    if (this.clearPersonEstop) out.push("clear_person_estop");
    if (this.speedLimitAbovePercent !== null) {
      out.push(`speed_limit_above:${this.speedLimitAbovePercent}`);
    }
    if (this.disableWatchdog) out.push("disable_watchdog");
    if (this.rawMotors) out.push("raw_motors");
    return out;
  }

  /** The policy as an RVR_APPROVAL value (parses back to an equal policy). */
  toString(): string {
    return this.none ? APPROVAL_NONE : this.items().join(",");
  }
}

/** The policy when RVR_APPROVAL is unset: only a person's e-stop needs their accept. */
export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = new ApprovalPolicy({
  clearPersonEstop: true,
});

/**
 * Parses an RVR_APPROVAL value (see the module doc); empty means the default. Throws RangeError
 * naming the bad item and what is allowed.
 */
export function parseApprovalPolicy(text: string): ApprovalPolicy {
  const items = text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (items.length === 0) return DEFAULT_APPROVAL_POLICY;
  if (items.includes(APPROVAL_NONE)) {
    if (items.length > 1) {
      throw new RangeError(
        `"${APPROVAL_NONE}" cannot be combined with other items (got ${JSON.stringify(text)}): ` +
          `write "${APPROVAL_NONE}" alone, or list only what needs approval.`,
      );
    }
    return new ApprovalPolicy({ clearPersonEstop: false });
  }
  let speedLimitAbovePercent: number | null = null;
  let disableWatchdog = false;
  let rawMotors = false;
  for (const item of items) {
    const [name, arg, ...rest] = item.split(":");
    if (name === "speed_limit_above") {
      const percent = arg === undefined || arg.trim() === "" ? NaN : Number(arg);
      if (rest.length > 0 || !(Number.isFinite(percent) && percent >= 0 && percent <= 100)) {
        throw new RangeError(
          `"${item}" needs a percent 0-100 after the colon, e.g. speed_limit_above:60.`,
        );
      }
      speedLimitAbovePercent = Math.min(speedLimitAbovePercent ?? 100, percent);
      continue;
    }
    if (arg !== undefined) {
      throw new RangeError(`"${item}": only speed_limit_above takes a value after a colon.`);
    }
    if (name === "clear_person_estop") continue; // always on unless "none"
    else if (name === "disable_watchdog") disableWatchdog = true;
    else if (name === "raw_motors") rawMotors = true;
    else throw new RangeError(`"${item}" is not an approval item; allowed is ${APPROVAL_ALLOWED}.`);
  }
  return new ApprovalPolicy({
    clearPersonEstop: true,
    speedLimitAbovePercent,
    disableWatchdog,
    rawMotors,
  });
}
