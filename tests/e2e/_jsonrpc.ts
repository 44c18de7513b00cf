/** A minimal MCP client over a child's stdio: one JSON-RPC message per line, every line checked. */
import assert from "node:assert/strict";
import type { LineReader } from "./_process.ts";

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
}

export class StdioRpc {
  #id = 0;
  #seen = 0;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();

  readonly #timeoutMs: number | undefined;

  /** `timeoutMs`: how long one answer may take (LineReader's default when unset). */
  constructor(
    stdin: WritableStream<Uint8Array>,
    readonly stdout: LineReader,
    options: { timeoutMs?: number } = {},
  ) {
    this.#writer = stdin.getWriter();
    this.#timeoutMs = options.timeoutMs;
  }

  async notify(method: string, params: unknown = {}): Promise<void> {
    await this.#writer.write(
      this.#encoder.encode(JSON.stringify({ jsonrpc: "2.0", method, params }) + "\n"),
    );
  }

  /** Sends a request without waiting for its answer (as a client does that is going away). */
  async send(method: string, params: unknown = {}): Promise<void> {
    const id = ++this.#id;
    await this.#writer.write(
      this.#encoder.encode(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n"),
    );
  }

  /** Sends a request and returns its result; a JSON-RPC error rejects. */
  async request(method: string, params: unknown = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    await this.#writer.write(
      this.#encoder.encode(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n"),
    );
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
