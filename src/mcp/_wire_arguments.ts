/**
 * The arguments of each `tools/call` as they came off the wire, for the tool adapter (_tool.ts).
 * The SDK parses `params.arguments` with a record schema that copies keys into a fresh object and
 * drops `"__proto__"` without a trace, so the catalog's strict schema would never see one. Each
 * transport therefore notes the arguments of the `tools/call` requests it reads, parsed from the
 * text ({@link WireArguments.note}), and hands messages to the SDK inside
 * {@link WireArguments.run}; the tool handler, which the SDK runs in that async context, takes
 * them by request id ({@link takeWireArguments}).
 *
 * One {@link WireArguments} per connection (a stdio connection: the SDK may queue its messages and
 * run them from another message's context, so the store is the connection's, keyed by id) or per
 * HTTP request. An entry leaves when its handler takes it or its answer goes out ({@link forget}).
 *
 * Private to src/mcp.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { RequestId } from "@modelcontextprotocol/server";

const current = new AsyncLocalStorage<WireArguments>();

/** What a transport noted of one tools/call. */
interface Noted {
  readonly name: unknown;
  readonly arguments: unknown;
}

/** The wire arguments of the tools/call requests of one connection (or one HTTP request). */
export class WireArguments {
  readonly #byId = new Map<RequestId, Noted>();

  /** Notes `raw` (a message parsed from its text) when it is a tools/call request. */
  note(raw: Record<string, unknown>): void {
    if (raw.method !== "tools/call") return;
    const id = raw.id;
    if (typeof id !== "string" && typeof id !== "number") return;
    const params = raw.params as Record<string, unknown> | undefined;
    this.#byId.set(id, { name: params?.name, arguments: params?.arguments });
  }

  /** Drops what was noted for `id` (its answer went out). */
  forget(id: RequestId): void {
    this.#byId.delete(id);
  }

  /** How many requests' arguments are held (for tests: none may be left behind). */
  get size(): number {
    return this.#byId.size;
  }

  /** Runs `fn` (which hands messages to the SDK) with this store as the current one. */
  run<T>(fn: () => T): T {
    return current.run(this, fn);
  }

  /** @internal */
  take(id: RequestId, tool: string): { found: boolean; arguments?: unknown } {
    const noted = this.#byId.get(id);
    if (noted === undefined || noted.name !== tool) return { found: false };
    this.#byId.delete(id);
    return { found: true, arguments: noted.arguments };
  }
}

/**
 * The wire arguments of the tools/call `id` for `tool`, when a transport noted them (found:
 * false on a transport that did not, e.g. an in-memory one, whose arguments are objects, not
 * text).
 */
export function takeWireArguments(
  id: RequestId,
  tool: string,
): { found: boolean; arguments?: unknown } {
  return current.getStore()?.take(id, tool) ?? { found: false };
}
