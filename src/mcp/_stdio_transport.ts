/**
 * The program's own stdio transport, which the SDK's `serveStdio` entry is given in place of the
 * SDK's `StdioServerTransport`: it reads newline-delimited JSON-RPC from a reader (the process's
 * stdin, read into one reused buffer: a flood of bytes makes no garbage) and writes to a stream
 * (stdout), with three differences that are the reason it exists:
 *
 * - Lines are split in linear time and bounded ({@link LineSplitter}): a line past the limit
 *   (RVR_MAX_BODY_BYTES, the same as an HTTP body) is answered at once with a JSON-RPC error
 *   (-32600, id null: it was never parsed) and dropped up to its newline, where reading resyncs.
 *   The SDK's reader re-scans its whole buffer per chunk (quadratic: 5 s for a 5 MB line, while
 *   nothing else in the process runs).
 * - Every line passes the JSON-RPC gate (_jsonrpc_gate.ts): malformed requests get their error
 *   with their id instead of silence.
 * - The arguments of each tools/call are noted as read from the text (_wire_arguments.ts).
 *
 * Writing goes through the stream's `write` (`process.stdout`): an EPIPE surfaces as the stream's
 * "error" event, which main.ts hears. The input ending (or failing) closes the transport and
 * resolves {@link LineTransport.ended}, from which main.ts learns that the client went away.
 *
 * Private to src/mcp.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/server";
import type { Writable } from "node:stream";
import { MAX_BODY_SETTING } from "../http/body_limit.ts";
import { errorResponse, INVALID_REQUEST, screenBytes } from "./_jsonrpc_gate.ts";
import { LineSplitter } from "./_line_splitter.ts";
import { WireArguments } from "./_wire_arguments.ts";

const log = getLogger(["rvr", "mcp", "stdio"]);

/** Where lines come from: `Deno.stdin` is one. */
export interface ByteReader {
  /** Reads into `buffer`; the number of bytes read, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** The size of the one read buffer. */
const READ_BUFFER_BYTES = 64 * 1024;

export interface LineTransportOptions {
  /** The longest line read, in bytes (RVR_MAX_BODY_BYTES). */
  maxLineBytes: number;
}

/** JSON-RPC over newline-delimited lines; see the module doc. */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;

  readonly #input: ByteReader;
  readonly #output: Writable;
  readonly #splitter: LineSplitter;
  /** The tools/call arguments of this connection, as read. */
  readonly wireArguments = new WireArguments();
  #started = false;
  #closed = false;
  readonly #ended = Promise.withResolvers<void>();
  readonly #outputFailed = Promise.withResolvers<Error>();

  constructor(input: ByteReader, output: Writable, options: LineTransportOptions) {
    this.#input = input;
    this.#output = output;
    const maxBytes = options.maxLineBytes;
    this.#splitter = new LineSplitter(maxBytes, {
      line: (bytes) => this.#receive(bytes),
      tooLong: (readBytes) => {
        const text = `Request too large: a line passed the limit of ${maxBytes} bytes ` +
          `(${MAX_BODY_SETTING}) at ${readBytes} bytes and was not read further; it is skipped ` +
          `up to its newline. Send smaller messages, or raise ${MAX_BODY_SETTING}.`;
        log.warn("MCP on stdio: {text}", { text, readBytes, maxBytes });
        this.#reply(errorResponse(null, INVALID_REQUEST, text));
      },
      resynced: (droppedBytes) => {
        log.info("MCP on stdio: skipped the rest of a line over the limit ({droppedBytes} bytes)", {
          droppedBytes,
        });
      },
    });
  }

  /** Resolves when the input ends or fails (logged): the client went away. */
  /**
   * Resolves with the first error writing to the output (EPIPE: the client's end went away),
   * whether the stream threw it at once or reported it later: the client is gone either way.
   */
  get outputFailed(): Promise<Error> {
    return this.#outputFailed.promise;
  }

  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  start(): Promise<void> {
    if (this.#started) return Promise.reject(new Error("LineTransport already started"));
    this.#started = true;
    this.#pump().then(
      () => log.debug("MCP on stdio: stdin reached its end"),
      (error) => {
        log.warn("MCP on stdio: reading stdin failed: {error}", { error: String(error) });
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      },
    ).finally(() => {
      this.#ended.resolve();
      this.close().catch((error) => this.onerror?.(error as Error));
    });
    return Promise.resolve();
  }

  async #pump(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    while (!this.#closed) {
      const n = await this.#input.read(buffer);
      if (n === null) return;
      if (this.#closed) return;
      try {
        this.#splitter.push(buffer.subarray(0, n));
      } catch (error) {
        // A bug in a message handler: report it, keep reading (the next line is another message).
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  #receive(bytes: Uint8Array): void {
    const result = screenBytes(bytes);
    if (!result.ok) {
      if (result.response) this.#reply(result.response);
      else log.warn("MCP on stdio: a notification refused: {reason}", { reason: result.reason });
      return;
    }
    this.wireArguments.note(result.raw);
    this.wireArguments.run(() => this.onmessage?.(result.message));
  }

  /** An answer of the transport's own (the gate's): sent, a failure reported. */
  #reply(message: JSONRPCMessage): void {
    this.send(message).catch((error) => this.onerror?.(error as Error));
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The stdio transport is closed."));
    // An answer (a result or an error) ends its request: what was noted of it goes.
    if (!("method" in message) && "id" in message && message.id !== undefined) {
      this.wireArguments.forget(message.id);
    }
    const text = JSON.stringify(message) + "\n";
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.#output.off("drain", onDrain);
        this.#outputFailed.resolve(error);
        reject(error);
      };
      const onDrain = () => {
        this.#output.off("error", onError);
        resolve();
      };
      this.#output.once("error", onError);
      let flushed: boolean;
      try {
        flushed = this.#output.write(text);
      } catch (error) {
        // A pipe without a reader can fail the write at once instead of with an "error" event.
        this.#output.off("error", onError);
        onError(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (flushed) {
        this.#output.off("error", onError);
        resolve();
      } else this.#output.once("drain", onDrain);
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#splitter.clear();
    this.onclose?.();
    return Promise.resolve();
  }
}
