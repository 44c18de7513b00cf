/**
 * The one check every MCP message passes before the SDK sees it, on every transport (stdio lines,
 * HTTP bodies; both protocol eras): JSON-RPC 2.0 by the book, so that no malformed request is
 * left unanswered and no client mistake comes back as a server fault.
 *
 * - Text that is not JSON (or not UTF-8): -32700, id null.
 * - Not one JSON object (a primitive, an array: MCP has no batches since 2025-06-18), `jsonrpc`
 *   not "2.0", an `id` that is neither a string nor a number, a `method` that is not a string, or
 *   neither a method nor a result or error: -32600, with the id when it can be read.
 * - `params` that are not an object (MCP passes parameters by name), or params of a method the
 *   server serves that its schema refuses (the SDK's own spec schemas): -32602 with one line
 *   naming the field, the value and what is allowed, never a dump of schema issues.
 *
 * A notification is never answered (JSON-RPC forbids it): a refused one is logged and dropped.
 * What passes is the SDK's parse of the message ({@link GateResult.message}); the text's own parse
 * is kept beside it ({@link GateResult.raw}) because the SDK's copy drops `"__proto__"` keys
 * (see _wire_arguments.ts).
 *
 * Private to src/mcp.
 *
 * @module
 */
import {
  type JSONRPCErrorResponse,
  type JSONRPCMessage,
  parseJSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  type RequestId,
  specTypeSchemas,
} from "@modelcontextprotocol/server";
import { show, valueAt } from "../tools/mod.ts";

/** JSON-RPC 2.0 error codes the gate answers with. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;

/** What the gate made of one message. */
export type GateResult =
  | {
    readonly ok: true;
    /** The message as the SDK parsed it: hand this to the SDK. */
    readonly message: JSONRPCMessage;
    /** The message as parsed from its text (own `"__proto__"` keys intact). */
    readonly raw: Record<string, unknown>;
  }
  | {
    readonly ok: false;
    /** The error to answer with, or undefined for a notification (never answered). */
    readonly response: JSONRPCErrorResponse | undefined;
    /** One line for the log: what was refused and why. */
    readonly reason: string;
  };

/** The methods whose params are checked against the SDK's spec schemas (what a client sends). */
const CHECKED_METHODS: ReadonlyMap<string, keyof typeof specTypeSchemas> = new Map([
  ["initialize", "InitializeRequest"],
  ["ping", "PingRequest"],
  ["tools/list", "ListToolsRequest"],
  ["tools/call", "CallToolRequest"],
  ["resources/list", "ListResourcesRequest"],
  ["resources/templates/list", "ListResourceTemplatesRequest"],
  ["resources/read", "ReadResourceRequest"],
  ["resources/subscribe", "SubscribeRequest"],
  ["resources/unsubscribe", "UnsubscribeRequest"],
  ["prompts/list", "ListPromptsRequest"],
  ["prompts/get", "GetPromptRequest"],
  ["completion/complete", "CompleteRequest"],
  ["logging/setLevel", "SetLevelRequest"],
]);

/**
 * 2025-era methods a 2026-07-28 request (one with the protocol version in `_meta`) does not have:
 * the SDK answers those with "Method not found" (404 over HTTP), so their params are not checked.
 */
const LEGACY_ONLY_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
]);

function claimsModernEra(params: unknown): boolean {
  const meta = (params as { _meta?: unknown } | undefined)?._meta;
  return typeof meta === "object" && meta !== null &&
    Object.hasOwn(meta, PROTOCOL_VERSION_META_KEY);
}

/** A JSON-RPC error response. */
export function errorResponse(
  id: RequestId | null,
  code: number,
  message: string,
): JSONRPCErrorResponse {
  // The SDK's type has no null id; JSON-RPC 2.0 answers with null when the id cannot be read.
  return { jsonrpc: "2.0", id: id as RequestId, error: { code, message } };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Checks the bytes of one message (an HTTP body, a stdio line). */
export function screenBytes(bytes: Uint8Array): GateResult {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return refuse(null, PARSE_ERROR, "Parse error: the message is not UTF-8 text; send JSON.");
  }
  return screenText(text);
}

/** Checks the text of one message. */
export function screenText(text: string): GateResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return refuse(
      null,
      PARSE_ERROR,
      `Parse error: the message is not JSON (${(error as Error).message}); send one JSON-RPC ` +
        "2.0 object.",
    );
  }
  return screen(value);
}

/** Checks one parsed message. */
export function screen(value: unknown): GateResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return refuse(
      null,
      INVALID_REQUEST,
      Array.isArray(value)
        ? "Invalid Request: a JSON array (a batch) is not supported by MCP; send one JSON-RPC " +
          "object per message."
        : `Invalid Request: a message must be a JSON-RPC 2.0 object, got ${show(value)}.`,
    );
  }
  const m = value as Record<string, unknown>;
  const hasId = Object.hasOwn(m, "id");
  const idOk = typeof m.id === "string" || (typeof m.id === "number" && Number.isFinite(m.id));
  const id = idOk ? m.id as RequestId : null;
  if (hasId && !idOk && m.id !== null) {
    return refuse(
      null,
      INVALID_REQUEST,
      `Invalid Request: id must be a string or a number, got ${show(m.id)}.`,
    );
  }
  if (m.jsonrpc !== "2.0") {
    return refuse(
      id,
      INVALID_REQUEST,
      `Invalid Request: jsonrpc must be "2.0", got ${
        Object.hasOwn(m, "jsonrpc") ? show(m.jsonrpc) : "nothing"
      }.`,
    );
  }
  if (!Object.hasOwn(m, "method")) {
    if (hasId && (Object.hasOwn(m, "result") || Object.hasOwn(m, "error"))) {
      return pass(m, id); // a response to one of the server's requests
    }
    return refuse(
      id,
      INVALID_REQUEST,
      "Invalid Request: no method: a request or notification names one in method (a string), " +
        "a response carries result or error.",
    );
  }
  if (typeof m.method !== "string" || m.method === "") {
    return refuse(
      id,
      INVALID_REQUEST,
      `Invalid Request: method must be a non-empty string, got ${show(m.method)}.`,
    );
  }
  const request = hasId;
  const method = m.method;
  if (Object.hasOwn(m, "params")) {
    const p = m.params;
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
      return refuse(
        request ? id : undefined,
        INVALID_PARAMS,
        `Invalid params for ${method}: params must be an object (MCP passes parameters by name), ` +
          `got ${Array.isArray(p) ? `an array ${show(p)}` : show(p)}.`,
      );
    }
  }
  const schemaName = request &&
      !(LEGACY_ONLY_METHODS.has(method) && claimsModernEra(m.params)) &&
      !(method === "tools/call" && plainToolCall(m.params))
    ? CHECKED_METHODS.get(method)
    : undefined;
  if (schemaName !== undefined) {
    const schema = specTypeSchemas[schemaName];
    const checked = schema["~standard"].validate({ method, params: m.params ?? {} });
    if (checked instanceof Promise) throw new TypeError(`${schemaName} validates asynchronously`);
    if (checked.issues !== undefined && checked.issues.length > 0) {
      return refuse(id, INVALID_PARAMS, paramsText(method, m, checked.issues));
    }
  }
  return pass(m, request ? id : undefined);
}

/**
 * True for tools/call params of the everyday shape, `{name, arguments?}` with a string name and an
 * object of arguments: what the spec schema accepts by construction, so its parse (the SDK parses
 * the request again for its handler) is skipped on the hot path.
 */
function plainToolCall(params: unknown): boolean {
  if (typeof params !== "object" || params === null) return false;
  const p = params as Record<string, unknown>;
  for (const key in p) if (key !== "name" && key !== "arguments") return false;
  if (typeof p.name !== "string") return false;
  const args = p.arguments;
  return args === undefined ||
    (typeof args === "object" && args !== null && !Array.isArray(args));
}

/** The top-level keys of a JSON-RPC request (the SDK's schema is strict: no others). */
const REQUEST_KEYS: ReadonlySet<string> = new Set(["jsonrpc", "id", "method", "params"]);

/**
 * True when `m`, a request or notification whose jsonrpc, method and params the gate checked, is
 * exactly what the SDK's strict message schema accepts (no other key; an id that is a string or an
 * integer): then that parse, the third of the message on its way in (the SDK parses the request
 * again for its handler), would only copy it.
 */
function plainRequest(m: Record<string, unknown>): boolean {
  for (const key in m) if (!REQUEST_KEYS.has(key)) return false;
  return m.id === undefined
    ? !Object.hasOwn(m, "id")
    : typeof m.id === "string" || Number.isSafeInteger(m.id);
}

/** The SDK's parse of a message the gate let through; -32600 if it still refuses it. */
function pass(m: Record<string, unknown>, id: RequestId | null | undefined): GateResult {
  if (typeof m.method === "string") {
    if (plainRequest(m)) return { ok: true, message: m as unknown as JSONRPCMessage, raw: m };
    const unknown = Object.keys(m).filter((key) => !REQUEST_KEYS.has(key));
    if (unknown.length > 0) {
      return refuse(
        id,
        INVALID_REQUEST,
        `Invalid Request: unknown member${unknown.length > 1 ? "s" : ""} ${
          unknown.map((key) => JSON.stringify(key)).join(", ")
        }; a JSON-RPC 2.0 request has only jsonrpc, id, method and params.`,
      );
    }
    if (Object.hasOwn(m, "id") && !Number.isSafeInteger(m.id) && typeof m.id !== "string") {
      return refuse(
        id,
        INVALID_REQUEST,
        `Invalid Request: id must be a string or an integer, got ${show(m.id)}.`,
      );
    }
  }
  try {
    return { ok: true, message: parseJSONRPCMessage(m), raw: m };
  } catch (error) {
    const first = String((error as Error).message).split("\n")[0];
    return refuse(
      id,
      INVALID_REQUEST,
      `Invalid Request: not a JSON-RPC 2.0 message MCP knows (${first.slice(0, 120)}).`,
    );
  }
}

/** `id` undefined: a notification, not answered. */
function refuse(id: RequestId | null | undefined, code: number, reason: string): GateResult {
  return {
    ok: false,
    response: id === undefined ? undefined : errorResponse(id, code, reason),
    reason,
  };
}

type Issue = {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
};

/** "Invalid params for tools/list: params.cursor must be a string, got 5." */
function paramsText(method: string, m: Record<string, unknown>, issues: readonly Issue[]): string {
  const parts = issues.slice(0, 3).map((issue) => {
    const path = (issue.path ?? []).map((p) => typeof p === "object" ? p.key : p);
    const field = path.map((p, i) =>
      typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`
    )
      .join("") || "params";
    const value = valueAt(m, path);
    const allowed = issue.message
      .replace(/^Invalid (input|option): /, "")
      .replace(/expected record/, "expected an object")
      .replace(/, received \w+$/, "")
      .replace(/\s+/g, " ");
    return `${field}: ${allowed}, got ${show(value)}`;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : "";
  return `Invalid params for ${method}: ${parts.join("; ")}${more}.`;
}
