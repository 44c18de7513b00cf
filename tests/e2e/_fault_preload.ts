/**
 * A fault from outside, for the last-resort test: preloaded into the real, unchanged program
 * (`deno run --preload tests/e2e/_fault_preload.ts main.ts`), it waits for SIGUSR2 and then makes
 * an error that nothing in the program catches, the way a bug in any handler would:
 *
 * - FAULT_KIND=throw (default): an exception thrown from a timer callback;
 * - FAULT_KIND=reject: a promise rejection that nobody handles.
 *
 * The program has no test hook for this: what happens next is its own last resort.
 */
const kind = Deno.env.get("FAULT_KIND") ?? "throw";
if (kind !== "throw" && kind !== "reject") {
  throw new TypeError(`FAULT_KIND=${JSON.stringify(kind)}: use throw or reject.`);
}

Deno.addSignalListener("SIGUSR2", () => {
  const error = new Error(`injected fault (${kind}) for the last-resort test`);
  if (kind === "throw") {
    setTimeout(() => {
      throw error;
    }, 0);
  } else {
    void Promise.reject(error);
  }
});
