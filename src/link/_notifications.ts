/**
 * Notifications (robot-initiated packets) to the handlers registered for them, by (DID, CID,
 * node). A handler that throws is logged and counted; the others still run. Private to the link.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import {
  commandById,
  commandByName,
  decodeResponse,
  type NodeId,
  nodeOfId,
  type NotificationName,
  type Packet,
} from "../protocol/mod.ts";
import type { NotificationHandler, NotificationMeta, NotificationOptions } from "./link_types.ts";

const log = getLogger(["rvr", "link"]);

interface HandlerEntry {
  readonly handler: (values: unknown, meta: NotificationMeta) => void;
  readonly node: NodeId | undefined;
  readonly name: string;
}

export function checkNode(what: string, node: unknown): NodeId | undefined {
  if (node === undefined) return undefined;
  if (node !== 1 && node !== 2) {
    throw new RangeError(`${what} must be 1 (Nordic) or 2 (ST), got ${String(node)}.`);
  }
  return node;
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

export interface RouterHooks {
  /** A packet not delivered: counted and logged by the link. */
  drop(reason: "unknown_notification" | "undecodable", detail: object): void;
  /** A handler threw (already logged here): counted by the link. */
  handlerThrew(): void;
}

export class NotificationRouter {
  readonly #handlers = new Map<number, Set<HandlerEntry>>();
  readonly #hooks: RouterHooks;
  /** Notifications decoded (delivered to zero or more handlers). */
  delivered = 0;

  constructor(hooks: RouterHooks) {
    this.#hooks = hooks;
  }

  /**
   * Calls `handler` for every notification `name` (optionally only from `options.node`).
   * Returns a function that unregisters it. A handler that throws is logged and counted
   * (`dropped.handler_error`); other handlers still run.
   */
  on<N extends NotificationName>(
    name: N,
    handler: NotificationHandler<N>,
    options: NotificationOptions = {},
  ): () => void {
    const def = commandByName(name);
    if (def.kind !== "notification") {
      throw new TypeError(
        `"${name}" is a command, not a notification; use link.request("${name}", ...) instead.`,
      );
    }
    if (typeof handler !== "function") {
      throw new TypeError(`The handler for ${name} must be a function, got ${typeof handler}.`);
    }
    const node = checkNode(`The node filter for ${name}`, options.node);
    const key = (def.did << 8) | def.cid;
    let set = this.#handlers.get(key);
    if (!set) {
      set = new Set();
      this.#handlers.set(key, set);
    }
    const entry: HandlerEntry = {
      handler: handler as HandlerEntry["handler"],
      node,
      name,
    };
    set.add(entry);
    return () => {
      const current = this.#handlers.get(key);
      if (!current) return;
      current.delete(entry);
      if (current.size === 0) this.#handlers.delete(key);
    };
  }

  /** Decodes a robot-initiated packet and hands it to its handlers. */
  deliver(packet: Packet): void {
    const def = commandById(packet.did, packet.cid);
    const node = packet.source !== undefined
      ? nodeOfId(packet.source)
      : def && def.node !== "any"
      ? def.node
      : undefined;
    if (!def || def.kind !== "notification" || (node !== 1 && node !== 2)) {
      this.#hooks.drop("unknown_notification", {
        did: hex(packet.did),
        cid: hex(packet.cid),
        source: packet.source === undefined ? "none" : hex(packet.source),
      });
      return;
    }
    let values: unknown;
    try {
      values = decodeResponse(def.name as NotificationName, packet.payload);
    } catch (error) {
      this.#hooks.drop("undecodable", {
        notification: def.name,
        error: errorMessage(error),
      });
      return;
    }
    this.delivered++;
    const set = this.#handlers.get((packet.did << 8) | packet.cid);
    if (!set) return;
    const meta: NotificationMeta = { node };
    for (const entry of [...set]) {
      if (entry.node !== undefined && entry.node !== node) continue;
      try {
        entry.handler(values, meta);
      } catch (error) {
        this.#hooks.handlerThrew();
        log.error("Handler for {notification} threw: {error}", {
          notification: entry.name,
          error,
        });
      }
    }
  }
}
