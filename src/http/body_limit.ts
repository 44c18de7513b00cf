/**
 * Request bodies, bounded before they are parsed: a body declared (`Content-Length`) or streamed
 * past the limit (RVR_MAX_BODY_BYTES, default {@link DEFAULT_MAX_BODY_BYTES}) is refused with
 * {@link BodyTooLargeError} (answer 413), having read at most the limit and one chunk: a 20 MB
 * upload costs the server no more memory than the limit. Shared by the HTTP servers (the side
 * port, MCP over HTTP), like auth.ts: scripts/_layer_rules.ts lets mcp and fleet import it.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { DomainError, errorMessage } from "../core/errors.ts";

const log = getLogger(["rvr", "http"]);

/** The default limit on a request body: 1 MiB (MCP requests and the side port's are far smaller). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The setting that sets the limit, as the messages name it. */
export const MAX_BODY_SETTING = "RVR_MAX_BODY_BYTES";

/** A request body is over the limit; answer `status` (413). */
export class BodyTooLargeError extends DomainError {
  override name = "BodyTooLargeError";
  readonly status = 413;
  readonly limitBytes: number;
  /** The body's Content-Length when it declared one over the limit. */
  readonly declaredBytes: number | undefined;
  /** Bytes read before the refusal (0 when refused from Content-Length). */
  readonly readBytes: number;

  constructor(limitBytes: number, options: { declaredBytes?: number; readBytes: number }) {
    const what = options.declaredBytes !== undefined
      ? `of ${options.declaredBytes} bytes (Content-Length) is over the limit of ${limitBytes} ` +
        `bytes (${MAX_BODY_SETTING})`
      : `passed the limit of ${limitBytes} bytes (${MAX_BODY_SETTING}) at ${options.readBytes} ` +
        "bytes and was not read further";
    super(
      `Payload too large: the request body ${what}; send a smaller body, or raise ` +
        `${MAX_BODY_SETTING}.`,
    );
    this.limitBytes = limitBytes;
    this.declaredBytes = options.declaredBytes;
    this.readBytes = options.readBytes;
  }
}

/** `limit` when it is a whole number of bytes >= 1; RangeError naming the value otherwise. */
export function checkBodyLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(
      `The body limit must be a whole number of bytes >= 1 (${MAX_BODY_SETTING}), got ${limit}.`,
    );
  }
  return limit;
}

/** The declared Content-Length of `req`, or undefined when it declares none (chunked). */
export function declaredLength(req: Request): number | undefined {
  const header = req.headers.get("content-length");
  if (header === null) return undefined;
  const n = Number(header);
  // The HTTP server refuses a malformed Content-Length before a handler runs; be safe anyway.
  return /^\d+$/.test(header.trim()) && Number.isSafeInteger(n) ? n : undefined;
}

export interface ReadBodyOptions {
  /** The limit in bytes. */
  maxBytes: number;
  /** Count the bytes and drop them instead of keeping them (a route that needs no body). */
  discard?: boolean;
}

/**
 * Reads `req`'s body up to `maxBytes`: the bytes (empty without a body), or
 * {@link BodyTooLargeError} as soon as the Content-Length or the bytes streamed so far pass the
 * limit; the rest of the body is then cancelled unread.
 */
export async function readBody(req: Request, options: ReadBodyOptions): Promise<Uint8Array> {
  const limit = checkBodyLimit(options.maxBytes);
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) {
    await cancel(req.body);
    throw new BodyTooLargeError(limit, { declaredBytes: declared, readBytes: 0 });
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel(`request body over ${limit} bytes`);
        throw new BodyTooLargeError(limit, { readBytes: total });
      }
      if (!options.discard) chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(options.discard ? 0 : total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/**
 * Reads and drops `req`'s body (for routes that need none) up to `maxBytes`: undefined, or the
 * refusal when it is over the limit (declared or streamed; the rest is left unread).
 */
export async function bodyRefusal(
  req: Request,
  maxBytes: number,
): Promise<BodyTooLargeError | undefined> {
  try {
    await readBody(req, { maxBytes, discard: true });
    return undefined;
  } catch (error) {
    if (error instanceof BodyTooLargeError) return error;
    throw error;
  }
}

/** Cancels a body left unread; a client already gone is no error of ours (logged at debug). */
async function cancel(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null || body.locked) return;
  try {
    await body.cancel("request body over the limit");
  } catch (error) {
    log.debug("Cancelling a refused request body failed: {error}", {
      error: errorMessage(error),
    });
  }
}
