/**
 * The emergency-stop latch and who holds it. The latch itself is kept in the StateStore (so the
 * telemetry sees it); this remembers who latched it: a person (the dashboard's button, POST
 * /estop, a fleet-wide stop, the MCP App's button), the model (the emergency_stop tool) or code
 * (reasons.ts). A person pressing the stop while the model's or code's latch holds makes it the
 * person's; a second press keeps the first reason.
 *
 * **Who pressed the stop releases it.** The model clearing a stop a person latched needs that
 * person's accept (the catalog asks them, then passes the answer as `approval`), unless
 * RVR_APPROVAL is `none` (approval.ts). A person (the side port's clear) and code clear any stop.
 * Without the accept {@link EstopLatch.clear} throws {@link ApprovalRefusedError} and the latch holds.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RobotMetrics as Metrics } from "../metrics.ts";
import type { StateStore } from "../state.ts";
import { ApprovalRefusedError } from "../errors.ts";
import type { SafetyEventType } from "../events.ts";
import type { ApprovalDecision, ApprovalPolicy } from "./approval.ts";
import {
  ESTOP_ACTOR_OF,
  ESTOP_ACTORS,
  ESTOP_SOURCES,
  type EstopActor,
  type EstopSource,
} from "./reasons.ts";

const log = getLogger(["rvr", "safety"]);

/** How a person's e-stop can still be released when the model cannot ask them. */
export const PERSON_ESTOP_WAY_OUT =
  "The person who pressed it can release it at the dashboard's side port (RVR_HTTP_PORT): " +
  "POST /estop/clear, with the API key if one is set; or the server can be started with " +
  "RVR_APPROVAL=none to let the model clear a person's emergency stop without asking.";

/** Who asks to clear the e-stop, and the person's answer when the model clears a person's stop. */
export interface ClearEstopOptions {
  /**
   * Who clears: "code" (default: the program itself, e.g. a script), "person" (the side port's
   * clear), or "model" (the clear_emergency_stop tool: a person's stop needs `approval`).
   */
  by?: EstopActor;
  /** The person's answer, asked before clearing a person's stop on the model's behalf. */
  approval?: ApprovalDecision;
}

/** The latch as the safety status shows it. */
export interface EstopStatus {
  readonly latched: boolean;
  readonly reason: string | null;
  /** Epoch ms, or null when not latched. */
  readonly latchedAt: number | null;
  /** Who holds it, or null when not latched. */
  readonly latchedBy: EstopActor | null;
  /** How the stop that holds it came in, or null when not latched. */
  readonly source: EstopSource | null;
  /** True while the model may clear it only with a person's accept. */
  readonly clearNeedsApproval: boolean;
}

export interface EstopLatchOptions {
  state: StateStore;
  metrics: Metrics;
  approval: ApprovalPolicy;
  /** Called on every latch, after counting it and before latching (Safety: disarm the watchdog). */
  beforeLatch(): void;
  /** Publishes a safety event (Safety.report). */
  report(type: SafetyEventType, detail: string, data: Record<string, unknown>): void;
}

export class EstopLatch {
  readonly #state: StateStore;
  readonly #metrics: Metrics;
  readonly #approval: ApprovalPolicy;
  readonly #report: EstopLatchOptions["report"];
  readonly #beforeLatch: () => void;
  /** Who holds the latch; meaningful only while the state store says it is latched. */
  #holder: { actor: EstopActor; source: EstopSource } | null = null;

  constructor(options: EstopLatchOptions) {
    this.#state = options.state;
    this.#metrics = options.metrics;
    this.#approval = options.approval;
    this.#report = options.report;
    this.#beforeLatch = options.beforeLatch;
    this.#metrics.estopLatched.set(this.#state.safety.estopLatched ? 1 : 0);
  }

  get latched(): boolean {
    return this.#state.safety.estopLatched;
  }

  /** Who holds the latch, or null when it is not latched (latched behind our back: code). */
  get latchedBy(): EstopActor | null {
    return this.latched ? (this.#holder?.actor ?? "code") : null;
  }

  /**
   * True when `by` may clear the latch only with a person's accept: the model clearing a stop a
   * person latched, unless RVR_APPROVAL is `none`. False when it is not latched.
   */
  clearNeedsApproval(by: EstopActor): boolean {
    return by === "model" && this.latchedBy === "person" && this.#approval.clearPersonEstop;
  }

  /**
   * Latches; returns false if it already was (the first reason is kept; a person's press takes
   * the latch over from the model or code). Counted by source. RangeError for an unknown source.
   */
  latch(source: EstopSource, reason: string): boolean {
    if (!(ESTOP_SOURCES as readonly string[]).includes(source)) {
      throw new RangeError(
        `Emergency stop source must be one of ${ESTOP_SOURCES.join(", ")}, got ${String(source)}.`,
      );
    }
    this.#metrics.emergencyStopsTotal.inc({ source });
    this.#beforeLatch();
    const wasLatched = this.latched;
    const latched = this.#state.latchEstop(reason);
    this.#metrics.estopLatched.set(1);
    const actor = ESTOP_ACTOR_OF[source];
    if (latched || !wasLatched || this.#holder === null) {
      this.#holder = { actor, source };
    } else if (actor === "person" && this.#holder.actor !== "person") {
      log.warn(
        "A person pressed the emergency stop ({source}) while the {by}'s latch held: it is " +
          "theirs now, and the model needs their accept to clear it",
        { source, by: this.#holder.actor },
      );
      this.#holder = { actor, source };
    }
    if (latched) {
      this.#report(
        "estop",
        `Emergency stop latched by ${actor === "person" ? "a person" : `the ${actor}`} ` +
          `(${reason}): drive_stop went out on the emergency path and movement is refused ` +
          `until clear_emergency_stop.`,
        { source, reason, latched_by: actor },
      );
    }
    return latched;
  }

  /**
   * Releases the latch; returns false if it was not latched. Resumes nothing. The model clearing
   * a person's stop without `approval: "accept"` throws {@link ApprovalRefusedError} (counted as
   * rvr_safety_rejected_commands_total{reason="approval"}) and the latch holds. RangeError for an
   * unknown `by`.
   */
  clear(reason: string, options: ClearEstopOptions = {}): boolean {
    const by = options.by ?? "code";
    if (!(ESTOP_ACTORS as readonly string[]).includes(by)) {
      throw new RangeError(
        `Who clears the emergency stop must be one of ${ESTOP_ACTORS.join(", ")}, got ` +
          `${String(by)}.`,
      );
    }
    if (this.clearNeedsApproval(by) && options.approval !== "accept") {
      const refusal = options.approval ?? "unavailable";
      const source = this.#holder?.source ?? "unknown";
      this.#metrics.safetyRejectionsTotal.inc({ reason: "approval" });
      log.warn("Refused to clear a person's emergency stop ({source}) for the model: {refusal}", {
        source,
        refusal,
      });
      throw new ApprovalRefusedError(
        "clear_person_estop",
        refusal,
        `Clearing the emergency stop a person latched (${source})`,
        PERSON_ESTOP_WAY_OUT,
      );
    }
    const latchedBy = this.latchedBy;
    const released = this.#state.releaseEstop(reason);
    this.#metrics.estopLatched.set(0);
    this.#holder = null;
    if (released) {
      const approved = by === "model" && latchedBy === "person";
      this.#report(
        "estop_cleared",
        `Emergency stop cleared (${reason})${approved ? " with the person's accept" : ""}; ` +
          `nothing was resumed, movement commands are accepted again.`,
        { reason, cleared_by: by, latched_by: latchedBy, ...(approved ? { approved } : {}) },
      );
    }
    return released;
  }

  status(): EstopStatus {
    const s = this.#state.safety;
    return {
      latched: s.estopLatched,
      reason: s.estopReason,
      latchedAt: s.estopLatchedAt,
      latchedBy: this.latchedBy,
      source: s.estopLatched ? (this.#holder?.source ?? null) : null,
      clearNeedsApproval: this.clearNeedsApproval("model"),
    };
  }
}
