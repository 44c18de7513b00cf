/**
 * The simulated RVR's streaming engine (docs/protocol.md sec. 10): slot configurations per node,
 * one timer per streaming node, and the streaming_service_data_notify it sends each period.
 *
 * - Starting with no configured slot on that node does nothing (no timer); a slot configured
 *   while its node streams joins at the next period.
 * - Refusals answer `failed` 0x06, the code Nordic firmware 8.3.432 answered a configuration it
 *   refused (protocol/stream_slots.ts): the known refused layouts (KNOWN_REFUSED_STREAM_SLOTS), a
 *   token with more than 5 services (more than 15 configuration bytes, see _session.ts) and a
 *   start_streaming_service period below 33 ms. For the last two the firmware's answer is not
 *   known; 0x06 is assumed [?]. A layout no official SDK sends (sdkSendingSlot) is accepted and
 *   streams, with a warning that it was never seen on real firmware.
 * - Token not 1-4, or a slot configuration parseSlotConfiguration refuses (incl. a service of the
 *   other node) -> RangeError (bad_data_value).
 */
import { getLogger } from "@logtape/logtape";
import {
  encodeSlotData,
  ErrorCode,
  knownStreamRefusal,
  MAX_TOKENS,
  MIN_STREAM_PERIOD_MS,
  type NodeId,
  parseSlotConfiguration,
  sdkSendingSlot,
  type SlotEntry,
} from "../protocol/mod.ts";
import { CommandError, type Guard, type NotifyHost, type TimerId } from "./context.ts";

const log = getLogger(["rvr", "sim"]);

/** Live values of one stream service, keyed by attribute name (sec. 10.2). */
export type StreamValues = (serviceKey: string) => Record<string, number>;

interface NodeStreaming {
  /** token -> services, in configuration order. */
  slots: Map<number, SlotEntry[]>;
  timer: TimerId | undefined;
}

export class StreamingEngine {
  readonly #nodes: Record<NodeId, NodeStreaming> = {
    1: { slots: new Map(), timer: undefined },
    2: { slots: new Map(), timer: undefined },
  };

  constructor(
    readonly values: StreamValues,
    readonly notify: NotifyHost,
    readonly guard: Guard,
  ) {}

  /** Slot configurations of `node` (token -> services), as the host configured them. */
  slots(node: NodeId): ReadonlyMap<number, readonly SlotEntry[]> {
    return new Map(this.#nodes[node].slots);
  }

  /** True while node's streaming timer runs. */
  isStreaming(node: NodeId): boolean {
    return this.#nodes[node].timer !== undefined;
  }

  /** configure_streaming_service: validates and stores one token's services. */
  configure(node: NodeId, token: number, configuration: readonly number[]): void {
    if (token < 1 || token > MAX_TOKENS) {
      throw new RangeError(`Streaming token ${token} is not 1-${MAX_TOKENS}.`);
    }
    const entries = parseSlotConfiguration(configuration, node);
    if (typeof entries === "string") throw new RangeError(`Slot configuration: ${entries}.`);
    const refusal = knownStreamRefusal(node, token, entries);
    if (refusal) throw new CommandError(refusal.code, refusal.reason);
    if (sdkSendingSlot(node, token, entries) === undefined) {
      log.warn(
        "Streaming slot {token} of node {node} ({services}): no official SDK sends this " +
          "layout; never seen on real firmware",
        {
          node,
          token,
          services: entries.map((e) => `${e.service.name}/${e.bytes * 8}-bit`),
        },
      );
    }
    this.#nodes[node].slots.set(token, entries);
  }

  /** start_streaming_service: (re)starts node's timer; `failed` below MIN_STREAM_PERIOD_MS. */
  start(node: NodeId, periodMs: number): void {
    if (periodMs < MIN_STREAM_PERIOD_MS) {
      throw new CommandError(
        ErrorCode.failed,
        `streaming period ${periodMs} ms is below ${MIN_STREAM_PERIOD_MS} ms; use a longer period`,
      );
    }
    this.stop(node);
    const s = this.#nodes[node];
    if (s.slots.size === 0) {
      log.debug("Node {node} has no configured slot: nothing to stream", { node });
      return;
    }
    s.timer = setInterval(() => this.guard("streaming", () => this.#tick(node)), periodMs);
  }

  /** Stops node's timer; its slot configurations stay. */
  stop(node: NodeId): void {
    const s = this.#nodes[node];
    clearInterval(s.timer);
    s.timer = undefined;
  }

  /** Stops node's timer and forgets its slot configurations. */
  clear(node: NodeId): void {
    this.stop(node);
    this.#nodes[node].slots.clear();
  }

  #tick(node: NodeId): void {
    const s = this.#nodes[node];
    const tokens = [...s.slots.keys()].sort((a, b) => a - b);
    const values: Record<string, Record<string, number>> = {};
    for (const token of tokens) {
      const entries = s.slots.get(token) as SlotEntry[];
      for (const e of entries) values[e.service.key] ??= this.values(e.service.key);
      const data = encodeSlotData(entries, values);
      this.notify(
        "streaming_service_data_notify",
        { token, sensor_data: Array.from(data) },
        node,
      );
    }
  }
}
