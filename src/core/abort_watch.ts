/**
 * One abort listener per signal, however many operations wait on it: {@link onAbort} adds `fn` to
 * the set of the signal's watchers and returns the function that takes it out again.
 *
 * Why: a robot request watches its caller's signal twice (its queue entry and its link request),
 * and a fleet robot's calls all share the member's one long-lived signal. Deno's
 * `addEventListener`/`removeEventListener` on an AbortSignal cost a few us each (WebIDL checks and
 * a scan of the listeners): 4-5 % of a 30-robot classroom's CPU went on removing listeners. Here a
 * signal gets one listener, the first time it is watched, and watching and unwatching are a Set's
 * add and delete.
 *
 * The watchers of a signal run in the order they were added, when it aborts, at the place of its
 * one listener among the signal's other listeners. One that throws is reported as uncaught, as a
 * throwing event listener is (a bug: a watcher must not throw), and the others still run.
 *
 * @module
 */

const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Runs `fn` when `signal` aborts; returns the function that stops watching. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = watchers.get(signal);
  if (set === undefined) {
    const created = set = new Set();
    watchers.set(signal, created);
    signal.addEventListener("abort", () => {
      watchers.delete(signal);
      for (const watcher of [...created]) {
        try {
          watcher();
        } catch (error) {
          reportWatcherError(error);
        }
      }
      created.clear();
    }, { once: true });
  }
  // A fresh wrapper per call: the same function may watch twice and be taken out once.
  const entry = () => fn();
  set.add(entry);
  const watching = set;
  return () => {
    watching.delete(entry);
  };
}

function reportWatcherError(error: unknown): void {
  // The same as a throwing event listener: reported as uncaught, the other watchers still run.
  queueMicrotask(() => {
    throw error;
  });
}
