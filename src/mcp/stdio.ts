/**
 * MCP on stdin/stdout for both protocol eras: the SDK's `serveStdio` reads the client's opening
 * message and pins the connection to one server from the factory, a 2025-era one (`initialize`)
 * or a 2026-07-28 one (`server/discover` or any request with the protocol version in `_meta`).
 * The factory may also be called for a `server/discover` probe that the SDK discards when the
 * client falls back to `initialize`; the SDK closes that instance, which releases what it
 * subscribed to. On a 2026-era connection the instance's `resources/updated` notifications go to
 * the `subscriptions/listen` streams that asked for the resource (the SDK routes them).
 *
 * Lines are read by the program's own transport (_stdio_transport.ts) from stdin (`input`),
 * in linear time, each at most `maxLineBytes` (RVR_MAX_BODY_BYTES, the HTTP body limit too), each
 * checked by the JSON-RPC gate before the SDK sees it; main.ts hears stdin end (or stdout fail)
 * from {@link McpStdio.ended} and shuts the program down.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import process from "node:process";
import type { Readable } from "node:stream";
import { DEFAULT_MAX_BODY_BYTES } from "../http/body_limit.ts";
import { type ByteReader, LineTransport } from "./_stdio_transport.ts";
import type { Era } from "./server.ts";

const log = getLogger(["rvr", "mcp", "stdio"]);

/** MCP being served on stdio. */
export interface McpStdio {
  /** Resolves when stdin reaches its end or fails: the client went away. */
  readonly ended: Promise<void>;
  /** Resolves with the first failed write to stdout (EPIPE): the client went away. */
  readonly outputFailed: Promise<Error>;
  /** Closes the connection's server and the transport. */
  close(): Promise<void>;
}

export interface McpStdioOptions {
  /**
   * What the lines are read from: the process's stdin, as a byte reader (`Deno.stdin`) or a node
   * stream (main.ts passes a non-blocking socket on a pipe, see {@link byteReaderOf}).
   */
  input: ByteReader | Readable;
  /** The longest line read, in bytes; default DEFAULT_MAX_BODY_BYTES (RVR_MAX_BODY_BYTES). */
  maxLineBytes?: number;
}

/** Serves MCP on this process's stdin/stdout with a server from `createServer` for its era. */
export function serveMcpStdio(
  createServer: (era: Era) => McpServer,
  options: McpStdioOptions,
): McpStdio {
  const input = isNodeStream(options.input) ? byteReaderOf(options.input) : options.input;
  const transport = new LineTransport(input, process.stdout, {
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_BODY_BYTES,
  });
  const handle = serveStdio((ctx) => {
    log.debug("MCP on stdio: a {era} server", { era: ctx.era });
    return createServer(ctx.era);
  }, {
    transport,
    onerror: (error) => log.warn("MCP on stdio: {error}", { error: error.message }),
  });
  return {
    ended: transport.ended,
    outputFailed: transport.outputFailed,
    close: () => handle.close(),
  };
}

function isNodeStream(input: ByteReader | Readable): input is Readable {
  return typeof (input as Readable).pipe === "function";
}

/**
 * A node stream as a {@link ByteReader}: each `read` hands out the next bytes of the chunk the
 * stream delivered (what does not fit waits for the next call), null at its end; a stream error
 * rejects. Chunks arrive as the stream's events fire (for a socket: on the event loop, no thread
 * hop per read).
 */
export function byteReaderOf(stream: Readable): ByteReader {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
  let pending: Uint8Array | undefined;
  return {
    async read(buffer: Uint8Array): Promise<number | null> {
      if (pending === undefined || pending.length === 0) {
        const next = await chunks.next();
        if (next.done) return null;
        pending = typeof next.value === "string"
          ? new TextEncoder().encode(next.value)
          : next.value;
      }
      const n = Math.min(buffer.length, pending.length);
      buffer.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}
