import assert from "node:assert/strict";
import {
  CircuitOpenError,
  CommandTimeoutError,
  DomainError,
  IllegalTransitionError,
  isAbandonedSocketReset,
  QueueClosedError,
  QueueFullError,
  TimeoutError,
} from "../../src/core/mod.ts";

Deno.test("core errors", async (t) => {
  await t.step("each has its own name, fields, and a message with the value and the fix", () => {
    const timeout = new CommandTimeoutError("get_battery_percentage", 500, "queued");
    assert.ok(timeout instanceof TimeoutError && timeout instanceof Error);
    assert.equal(timeout.name, "CommandTimeoutError");
    assert.equal(timeout.timeoutMs, 500);
    assert.match(
      timeout.message,
      /"get_battery_percentage" timed out after 500 ms while still queued.*pass a larger timeoutMs/,
    );

    const full = new QueueFullError("drive", 100, 100);
    assert.equal(full.name, "QueueFullError");
    assert.deepEqual([full.capacity, full.depth, full.commandName], [100, 100, "drive"]);
    assert.match(full.message, /full \(100 of 100 queued\).*raise the queue capacity/);

    const closed = new QueueClosedError("drive", "link closed");
    assert.equal(closed.name, "QueueClosedError");
    assert.match(closed.message, /closed \(link closed\)\. Reconnect/);

    // CancelledByEmergencyStopError, a robot notion, is tested in tests/robot/errors_test.ts.

    const open = new CircuitOpenError(
      "rvr-link",
      12_000,
      Date.UTC(2025, 0, 1, 12, 0, 12),
      "5 failures",
    );
    assert.equal(open.name, "CircuitOpenError");
    assert.equal(open.retryInMs, 12_000);
    assert.equal(
      open.message,
      'Circuit "rvr-link" is open (5 failures); the next probe is in 12000 ms (at 2025-01-01T12:00:12.000Z). ' +
        "Retry after that, and check the rvr-link's power and cable meanwhile.",
    );

    const illegal = new IllegalTransitionError("connection", "error", "connected", [
      "connecting",
      "reconnecting",
    ]);
    assert.equal(illegal.name, "IllegalTransitionError");
    assert.match(
      illegal.message,
      /"error" -> "connected".*"connecting", "reconnecting"\. Go through/,
    );
  });
});

Deno.test("DomainError: the base of what callers see, with the hint they are shown", async (t) => {
  await t.step("the hint defaults to the message; a cause is kept", () => {
    const cause = new Error("underneath");
    const e = new DomainError("The thing failed (value 3). Do this.", { cause });
    assert.equal(e.name, "DomainError");
    assert.equal(e.hint, e.message);
    assert.equal(e.cause, cause);
    const hinted = new DomainError("what failed", { hint: "what to do" });
    assert.equal(hinted.hint, "what to do");
    assert.equal("cause" in hinted, false, "no cause unless given");
  });
  await t.step("every core error a caller acts on is one; a bug in the caller is not", () => {
    const domain = [
      new TimeoutError("slow", 5),
      new CommandTimeoutError("echo", 500, "running"),
      new QueueFullError("echo", 1, 1),
      new QueueClosedError("echo", "bye"),
      new CircuitOpenError("robot", 1500, 0, "3 failures"),
    ];
    for (const e of domain) assert.ok(e instanceof DomainError, e.name);
    assert.ok(!(new IllegalTransitionError("c", "a", "b", []) instanceof DomainError));
  });
  await t.step("hints: the cause first, then the way out", () => {
    assert.equal(new TimeoutError("slow", 5).hint, "timed out: slow");
    assert.equal(new TimeoutError("slow", 5, { hint: "own" }).hint, "own");
    assert.match(
      new QueueFullError("echo", 1, 1).hint,
      /^too many commands waiting: Command queue/,
    );
    const open = new CircuitOpenError("robot", 1500, 0, "3 failures");
    assert.match(open.hint, /^the robot stopped answering; next probe in 2 s\. Retry after that/);
    assert.ok(open.hint.endsWith(`(${open.message})`), "the circuit's own message follows");
  });
});

Deno.test("isAbandonedSocketReset: only a read reset by the peer", () => {
  const reset = Object.assign(new Error("read ECONNRESET"), {
    code: "ECONNRESET",
    syscall: "read",
  });
  assert.equal(isAbandonedSocketReset(reset), true);
  const write = Object.assign(new Error("write EPIPE"), { code: "EPIPE", syscall: "write" });
  assert.equal(isAbandonedSocketReset(write), false);
  const resetOnWrite = Object.assign(new Error("x"), { code: "ECONNRESET", syscall: "write" });
  assert.equal(isAbandonedSocketReset(resetOnWrite), false);
  assert.equal(
    isAbandonedSocketReset({ code: "ECONNRESET", syscall: "read" }),
    false,
    "not an Error",
  );
  assert.equal(isAbandonedSocketReset(new TypeError("bug")), false);
});
