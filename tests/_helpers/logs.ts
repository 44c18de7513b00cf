/** Captures log records in memory for tests that assert what was logged. */
import { configureSync, type LogRecord } from "@logtape/logtape";

/**
 * Sends every record of `category` (debug and up) to the returned array. Call `resetSync()` from
 * @logtape/logtape in a `finally` when done.
 */
export function captureLogs(category: readonly string[]): LogRecord[] {
  const records: LogRecord[] = [];
  configureSync({
    sinks: { memory: (record: LogRecord) => records.push(record) },
    loggers: [
      { category: [...category], sinks: ["memory"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  return records;
}
