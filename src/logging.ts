/**
 * Logging set-up for the program. Only main.ts calls `configureLogging`; every other module just
 * calls `getLogger(["rvr", <layer>])` (libraries log, the application configures).
 *
 * Records go to stderr - stdout carries nothing but MCP JSON-RPC - as JSON lines (default) or
 * readable text, written synchronously so the last lines before an exit are never lost.
 * A JSON line is `{"time","level","logger","message", ...properties}` with the message rendered
 * (string values as they are, other values as JSON) and the properties flattened beside it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { configure, type LogLevel, type LogRecord, type Sink } from "@logtape/logtape";

export interface LoggingOptions {
  level: LogLevel;
  format: "json" | "pretty";
  /** Where lines go; default stderr. Tests pass their own writer. */
  write?: (line: Uint8Array) => void;
}

function writeAllToStderr(bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
}

/** JSON.stringify that survives Errors, bigints and cycles. */
export function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Error) {
      return { name: v.name, message: v.message, ...(v.cause ? { cause: String(v.cause) } : {}) };
    }
    if (v instanceof Uint8Array) return Array.from(v);
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
    }
    return v;
  }) ?? "undefined";
}

/** The message with its values put in: strings as they are, anything else as JSON. */
export function renderMessage(parts: readonly unknown[]): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    out += i % 2 === 0 || typeof p === "string" ? String(p) : safeJson(p);
  }
  return out;
}

export function jsonLine(record: LogRecord): string {
  return safeJson({
    time: new Date(record.timestamp).toISOString(),
    level: record.level,
    logger: record.category.join("."),
    message: renderMessage(record.message),
    ...record.properties,
  }) + "\n";
}

export function prettyLine(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString().slice(11, 23);
  return `${time} ${record.level.toUpperCase().padEnd(7)} ${record.category.join(".")}: ${
    renderMessage(record.message)
  }\n`;
}

/** A sink that formats each record to one line and writes it at once. */
export function lineSink(
  format: (record: LogRecord) => string,
  write: (line: Uint8Array) => void = writeAllToStderr,
): Sink {
  const encoder = new TextEncoder();
  return (record: LogRecord) => write(encoder.encode(format(record)));
}

export async function configureLogging(options: LoggingOptions): Promise<void> {
  await configure({
    reset: true,
    sinks: { stderr: lineSink(options.format === "json" ? jsonLine : prettyLine, options.write) },
    // Implicit contexts: a tool call's correlation id reaches the link's log lines.
    contextLocalStorage: new AsyncLocalStorage(),
    loggers: [
      { category: ["rvr"], sinks: ["stderr"], lowestLevel: options.level },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
}
