/**
 * The path of one request: validated before it is queued, then `command queue -> circuit breaker
 * -> link` (see command_policy.ts for which priority and kind each request gets), with its outcome
 * counted. Private to the robot layer: `Rvr` and its parts (stops, safety set-up) send through it.
 *
 * Metrics: rvr_commands_total{command, outcome} with outcome ok, error, timeout, rejected,
 * superseded or cancelled; rvr_command_duration_seconds{command} for commands that completed;
 * rvr_queue_rejections_total{reason} (full, estop, circuit_open, closed);
 * rvr_queue_superseded_total{key}.
 *
 * Correlation: a command's `correlationId` is set as an implicit log context (logtape
 * `withContext`) around the link call, so the link's and this module's log lines carry it.
 *
 * @module
 */
import { getLogger, withContext } from "@logtape/logtape";
import {
  type CircuitBreaker,
  CircuitOpenError,
  type Command,
  type CommandKind,
  type CommandQueue,
  isSuperseded,
  type Priority,
  QueueClosedError,
  QueueFullError,
  type Superseded,
  TimeoutError,
} from "../core/mod.ts";
import type { RobotMetrics as Metrics } from "./metrics.ts";
import { LinkClosedError, ResponseTimeoutError, type RvrLink } from "../link/mod.ts";
import {
  commandByName,
  encodeFields,
  type NodeId,
  type RequestName,
  type RequestOf,
  type ResponseOf,
} from "../protocol/mod.ts";
import {
  BatteryCriticalError,
  CancelledByEmergencyStopError,
  EmergencyStopActiveError,
  MotionStoppedError,
  NotConnectedError,
} from "./errors.ts";
import type { LinkProvider } from "./link_provider.ts";

const log = getLogger(["rvr", "robot"]);

/** Outcome label of rvr_commands_total. */
export const COMMAND_RESULT_OUTCOMES = [
  "ok",
  "error",
  "timeout",
  "rejected",
  "superseded",
  "cancelled",
] as const;
export type CommandResultOutcome = typeof COMMAND_RESULT_OUTCOMES[number];

export interface CommandOptions {
  /** Default per the command policy (command_policy.ts); "emergency" is refused (use emergencyStop). */
  priority?: Exclude<Priority, "emergency">;
  /**
   * Budget in ms. Covers waiting in the queue plus the reply; it is also the reply timeout
   * handed to the link. Default: the queue's default budget and `requestTimeoutMs` for the reply.
   */
  timeoutMs?: number;
  /** Cancels the command: removed if queued, the request aborted if in flight. */
  signal?: AbortSignal;
  /** Processor for commands that run on either (echo, streaming, ...): 1 Nordic, 2 ST. */
  target?: NodeId;
  /** Carried as an implicit log context through the link call. */
  correlationId?: string;
  /** Ask the robot to acknowledge a command without reply fields (FLAGS 0x02). */
  requestsResponse?: boolean;
}

/** How one request is queued and sent. */
export interface RunSpec {
  readonly kind: CommandKind;
  readonly priority: Exclude<Priority, "emergency">;
  readonly supersedeKey?: string;
  /** Stops run past an open circuit. */
  readonly bypassBreaker?: boolean;
  /** Called just before the request goes to the link; may throw to refuse it. */
  readonly beforeSend?: () => void;
  /** Send on this link instead of the provider's current one. */
  readonly link?: RvrLink;
}

export interface PipelineOptions {
  links: LinkProvider;
  queue: CommandQueue;
  breaker: CircuitBreaker;
  metrics: Metrics;
  /** Reply timeout of one request, ms. Default: the link's default. */
  requestTimeoutMs?: number;
}

function checkPriority(priority: unknown): void {
  if (
    priority === undefined || priority === "high" || priority === "normal" || priority === "low"
  ) {
    return;
  }
  if (priority === "emergency") {
    throw new RangeError(
      'priority "emergency" is reserved for emergencyStop(); use "high", "normal" or "low".',
    );
  }
  throw new RangeError(`priority must be "high", "normal" or "low", got ${String(priority)}.`);
}

export class Pipeline {
  readonly #links: LinkProvider;
  readonly #queue: CommandQueue;
  readonly #breaker: CircuitBreaker;
  readonly #metrics: Metrics;
  readonly #requestTimeoutMs: number | undefined;

  constructor(options: PipelineOptions) {
    this.#links = options.links;
    this.#queue = options.queue;
    this.#breaker = options.breaker;
    this.#metrics = options.metrics;
    if (
      options.requestTimeoutMs !== undefined &&
      !(Number.isFinite(options.requestTimeoutMs) && options.requestTimeoutMs > 0)
    ) {
      throw new RangeError(
        `requestTimeoutMs must be a number of ms > 0, got ${options.requestTimeoutMs}; e.g. 1000.`,
      );
    }
    this.#requestTimeoutMs = options.requestTimeoutMs;
  }

  /** Validates a request before it is queued, so bad input fails at once. */
  precheck(name: RequestName, params: unknown, options: CommandOptions): void {
    checkPriority(options.priority);
    const def = commandByName(name);
    if (def.kind !== "command") {
      throw new TypeError(`"${name}" is a notification the robot sends; it cannot be requested.`);
    }
    if (def.node === "any" && options.target === undefined) {
      throw new TypeError(
        `"${name}" runs on either processor; pass { target: 1 } (Nordic) or { target: 2 } (ST).`,
      );
    }
    if (typeof params !== "object" || params === null) {
      throw new TypeError(`Parameters of ${name} must be an object, got ${String(params)}.`);
    }
    encodeFields(name, def.request, params as Record<string, unknown>);
  }

  /** Runs `fn` and counts its outcome and duration. */
  async track<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome: CommandResultOutcome = "ok";
    try {
      const value = await fn();
      if (
        isSuperseded(value) ||
        (typeof value === "object" && value !== null &&
          (value as { superseded?: unknown }).superseded === true)
      ) {
        outcome = "superseded";
      }
      return value;
    } catch (error) {
      outcome = this.classify(error);
      throw error;
    } finally {
      this.#metrics.commandsTotal.inc({ command: name, outcome });
      if (outcome === "ok") {
        this.#metrics.commandSeconds.observe(
          { command: name },
          (performance.now() - started) / 1000,
        );
      }
    }
  }

  /** The outcome label of a failure (counting queue rejections by reason). */
  classify(error: unknown): CommandResultOutcome {
    if (error instanceof TimeoutError || error instanceof ResponseTimeoutError) return "timeout";
    if (error instanceof CancelledByEmergencyStopError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "estop" });
      return "cancelled";
    }
    if (error instanceof QueueFullError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "full" });
      return "rejected";
    }
    if (error instanceof CircuitOpenError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "circuit_open" });
      return "rejected";
    }
    if (error instanceof QueueClosedError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "closed" });
      return "rejected";
    }
    if (
      error instanceof EmergencyStopActiveError || error instanceof BatteryCriticalError ||
      error instanceof NotConnectedError || error instanceof TypeError ||
      error instanceof RangeError
    ) {
      return "rejected";
    }
    if (
      error instanceof MotionStoppedError ||
      (error instanceof DOMException && error.name === "AbortError")
    ) {
      return "cancelled";
    }
    return "error";
  }

  /** Queue -> breaker -> link for one request. */
  async run<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    spec: RunSpec,
    options: CommandOptions,
  ): Promise<ResponseOf<N> | Superseded> {
    const command: Command = spec.supersedeKey === undefined
      ? { name, kind: spec.kind }
      : { name, kind: spec.kind, supersedeKey: spec.supersedeKey };
    // One deadline per request: the queue times the wait (only if there is one), the link the
    // rest of the same budget.
    const deadline = performance.now() + (options.timeoutMs ?? this.#queue.defaultTimeoutMs);
    const result = await this.#queue.enqueue(
      command,
      (_command, signal) => this.#execute(name, params, spec, options, signal, deadline),
      {
        priority: spec.priority,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        // Read-only queries are matched to their replies by sequence number: they may be in
        // flight together. Movement and configuration run alone, in order.
        shared: spec.kind === "query",
        selfTimed: true,
      },
    );
    if (isSuperseded(result)) {
      this.#metrics.queueSupersededTotal.inc({ key: result.supersedeKey });
      log.debug("{command} superseded by {by} before it was sent", {
        command: name,
        by: result.byCommandName,
      });
    }
    return result;
  }

  #execute<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    spec: RunSpec,
    options: CommandOptions,
    signal: AbortSignal,
    deadline: number,
  ): Promise<ResponseOf<N>> {
    spec.beforeSend?.();
    // A link the program closed meanwhile (a reconnect): refused here, before the breaker, which
    // must not count it against the robot.
    if (spec.link !== undefined && !spec.link.isOpen) {
      return Promise.reject(new LinkClosedError(spec.link.port.path));
    }
    const link = spec.link ?? this.#links.current();
    const call = () => {
      log.debug("Sending {command}", { command: name });
      // The reply timeout, cut to what is left of the command's budget after its wait.
      const reply = options.timeoutMs ?? this.#requestTimeoutMs ?? link.defaultTimeoutMs;
      return link.request(name, params, {
        signal,
        timeoutMs: Math.max(1, Math.min(reply, deadline - performance.now())),
        target: options.target,
        requestsResponse: options.requestsResponse,
      });
    };
    const guarded = spec.bypassBreaker
      ? () => this.#breaker.bypass(call)
      : () => this.#breaker.execute(call);
    const id = options.correlationId;
    return id === undefined ? guarded() : withContext({ correlationId: id }, guarded);
  }
}
