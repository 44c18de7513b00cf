import assert from "node:assert/strict";
import { getLogger, reset, withContext } from "@logtape/logtape";
import { configureLogging, jsonLine, prettyLine, renderMessage, safeJson } from "../src/logging.ts";

Deno.test("logging: messages render strings plainly and other values as JSON", () => {
  assert.equal(
    renderMessage(["on ", "/dev/serial0", " after ", 2.5, " ms"]),
    "on /dev/serial0 after 2.5 ms",
  );
  assert.equal(renderMessage(["flags ", { a: 1 }, ""]), 'flags {"a":1}');
});

Deno.test("logging: safeJson survives bigints, errors, byte arrays and cycles", () => {
  const cyclic: Record<string, unknown> = { n: 1 };
  cyclic.self = cyclic;
  const text = safeJson({
    up: 123456789n,
    error: new RangeError("bad", { cause: "why" }),
    bytes: new Uint8Array([0x8d, 0xd8]),
    cyclic,
  });
  assert.deepEqual(JSON.parse(text), {
    up: "123456789",
    error: { name: "RangeError", message: "bad", cause: "why" },
    bytes: [0x8d, 0xd8],
    cyclic: { n: 1, self: "[circular]" },
  });
});

Deno.test("logging: one JSON object per line on the configured writer, context included, level filtered", async () => {
  const lines: string[] = [];
  const decoder = new TextDecoder();
  await configureLogging({
    level: "info",
    format: "json",
    write: (b) => lines.push(decoder.decode(b)),
  });
  try {
    const log = getLogger(["rvr", "link"]);
    log.debug("not shown");
    await withContext({ correlationId: "call-7" }, async () => {
      await Promise.resolve();
      log.warn("Dropped frame from {path}: {reason}", {
        path: "/dev/serial0",
        reason: "bad_checksum",
      });
    });
  } finally {
    await reset();
  }
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith("\n") && !lines[0].slice(0, -1).includes("\n"));
  const record = JSON.parse(lines[0]);
  assert.equal(record.level, "warning");
  assert.equal(record.logger, "rvr.link");
  assert.equal(record.message, "Dropped frame from /dev/serial0: bad_checksum");
  assert.equal(record.reason, "bad_checksum");
  assert.equal(record.correlationId, "call-7");
  assert.match(record.time, /^\d{4}-\d\d-\d\dT/);
});

Deno.test("logging: pretty lines are readable text", () => {
  const line = prettyLine({
    category: ["rvr", "main"],
    level: "info",
    message: ["Ready: ", "sim", ""],
    rawMessage: "Ready: {port}",
    properties: {},
    timestamp: Date.UTC(2026, 0, 1, 12, 0, 0),
  });
  assert.equal(line, "12:00:00.000 INFO    rvr.main: Ready: sim\n");
  assert.ok(
    jsonLine({
      category: ["rvr"],
      level: "error",
      message: ["x"],
      rawMessage: "x",
      properties: { n: 1n },
      timestamp: 0,
    }).includes('"n":"1"'),
  );
});
