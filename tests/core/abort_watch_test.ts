import assert from "node:assert/strict";
import { onAbort } from "../../src/core/mod.ts";

Deno.test("onAbort: watchers run once, in the order they were added; one taken out does not run", () => {
  const controller = new AbortController();
  const ran: string[] = [];
  onAbort(controller.signal, () => ran.push("a"));
  const stopB = onAbort(controller.signal, () => ran.push("b"));
  onAbort(controller.signal, () => ran.push("c"));
  stopB();
  stopB(); // taking it out twice is harmless
  controller.abort();
  controller.abort(); // a second abort is no event
  assert.deepEqual(ran, ["a", "c"]);
});

Deno.test("onAbort: the same function watching twice runs twice, and one stop takes out one", () => {
  const controller = new AbortController();
  let runs = 0;
  const fn = () => runs++;
  const stop = onAbort(controller.signal, fn);
  onAbort(controller.signal, fn);
  stop();
  controller.abort();
  assert.equal(runs, 1);
});

Deno.test("onAbort: a signal gets one listener however many watch it", () => {
  const controller = new AbortController();
  const signal = controller.signal;
  let added = 0;
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<AbortSignal["addEventListener"]>) => {
    added++;
    add(...args);
  }) as AbortSignal["addEventListener"];
  const stops = Array.from({ length: 100 }, () => onAbort(signal, () => {}));
  for (const stop of stops) stop();
  onAbort(signal, () => {});
  assert.equal(added, 1);
});

Deno.test("onAbort: a watcher that throws is reported as uncaught; the others still run", async () => {
  const controller = new AbortController();
  const ran: string[] = [];
  const reported = Promise.withResolvers<unknown>();
  const listener = (event: ErrorEvent) => {
    event.preventDefault();
    reported.resolve(event.error);
  };
  globalThis.addEventListener("error", listener);
  try {
    onAbort(controller.signal, () => {
      throw new Error("a buggy watcher");
    });
    onAbort(controller.signal, () => ran.push("after"));
    controller.abort();
    assert.deepEqual(ran, ["after"]);
    const error = await reported.promise;
    assert.ok(error instanceof Error);
    assert.equal(error.message, "a buggy watcher");
  } finally {
    globalThis.removeEventListener("error", listener);
  }
});

Deno.test("onAbort: a watcher added after the abort never runs, as a listener would not", () => {
  // Every caller checks `signal.aborted` first: there is no second abort event to wait for.
  const controller = new AbortController();
  controller.abort();
  let ran = false;
  onAbort(controller.signal, () => ran = true);
  assert.equal(ran, false);
});
