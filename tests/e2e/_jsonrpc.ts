/** A minimal MCP client over a child's stdio: one JSON-RPC message per line, every line checked. */
import assert from "node:assert/strict";
import type { LineReader } from "./_process.ts";

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
}

/** The protocol revision {@link StdioRpc.discover} speaks. */
export const MODERN_REVISION = "2026-07-28";

export class StdioRpc {
  #id = 0;
  #seen = 0;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();

  readonly #timeoutMs: number | undefined;
  /** The 2026-07-28 era (after {@link discover}): every request carries the `_meta` envelope. */
  #modern = false;

  /** `timeoutMs`: how long one answer may take (LineReader's default when unset). */
  constructor(
    stdin: WritableStream<Uint8Array>,
    readonly stdout: LineReader,
    options: { timeoutMs?: number } = {},
  ) {
    this.#writer = stdin.getWriter();
    this.#timeoutMs = options.timeoutMs;
  }

  /** Writes `data` as it is (a malformed message, part of a line): no newline is added. */
  async writeRaw(data: string | Uint8Array): Promise<void> {
    await this.#writer.write(typeof data === "string" ? this.#encoder.encode(data) : data);
  }

  async notify(method: string, params: unknown = {}): Promise<void> {
    await this.#writer.write(
      this.#encoder.encode(JSON.stringify({ jsonrpc: "2.0", method, params }) + "\n"),
    );
  }

  /** `params` with the 2026-07-28 `_meta` envelope once that era is on. */
  #withEnvelope(params: unknown): unknown {
    if (!this.#modern) return params;
    const p = params as Record<string, unknown>;
    return {
      ...p,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
        "io.modelcontextprotocol/clientInfo": { name: "e2e", version: "1" },
        "io.modelcontextprotocol/clientCapabilities": {},
        ...(p._meta as Record<string, unknown> | undefined),
      },
    };
  }

  /** Sends a request without waiting for its answer (as a client does that is going away). */
  async send(method: string, params: unknown = {}): Promise<void> {
    const id = ++this.#id;
    const message = { jsonrpc: "2.0", id, method, params: this.#withEnvelope(params) };
    await this.#writer.write(this.#encoder.encode(JSON.stringify(message) + "\n"));
  }

  /** Sends a request and returns its result; a JSON-RPC error rejects. */
  async request(method: string, params: unknown = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    const outgoing = { jsonrpc: "2.0", id, method, params: this.#withEnvelope(params) };
    await this.#writer.write(this.#encoder.encode(JSON.stringify(outgoing) + "\n"));
    const line = await this.stdout.waitFor(
      (l) => {
        try {
          return JSON.parse(l).id === id;
        } catch {
          return false; // not JSON: assertOnlyJsonRpc() reports it
        }
      },
      `the answer to ${method} (id ${id})`,
      this.#timeoutMs,
    );
    const message = JSON.parse(line);
    if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
    return message.result;
  }

  async initialize(): Promise<Record<string, unknown>> {
    const result = await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "e2e", version: "1" },
    });
    await this.notify("notifications/initialized");
    return result;
  }

  /**
   * Opens the connection in the 2026-07-28 era instead of {@link initialize}: `server/discover`,
   * and the `_meta` envelope on every request from now on.
   */
  async discover(): Promise<Record<string, unknown>> {
    this.#modern = true;
    return await this.request("server/discover");
  }

  async callTool(name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
    const result = await this.request("tools/call", { name, arguments: args });
    assert.ok(Array.isArray(result.content), `${name} returned a tool result`);
    return result as unknown as ToolResult;
  }

  async close(): Promise<void> {
    await this.#writer.close();
  }

  /** Every line on stdout so far is one JSON-RPC 2.0 message. */
  assertOnlyJsonRpc(): void {
    for (const line of this.stdout.lines.slice(this.#seen)) {
      const message = JSON.parse(line);
      assert.equal(message.jsonrpc, "2.0", line);
    }
    this.#seen = this.stdout.lines.length;
  }
}
