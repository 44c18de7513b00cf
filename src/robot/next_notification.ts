/**
 * Waiting for one robot notification that answers a command (the colour reading 0x36, the end of
 * a magnetometer calibration 0x51): subscribe on the current link before the command goes out,
 * then await the next one with a timeout, a cancellation signal, and the link closing. What a
 * caller above the robot layer (the tool catalog) uses instead of subscribing on RvrLink itself.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { TimeoutError } from "../core/mod.ts";
import { LinkClosedError, type RvrLink } from "../link/mod.ts";
import type { NotificationName, ResponseOf } from "../protocol/mod.ts";
import type { LinkProvider } from "./link_provider.ts";

const log = getLogger(["rvr", "robot"]);

export interface PendingNotification<N extends NotificationName> {
  /**
   * Resolves with the next notification's values; rejects on timeout, abort or link close. A
   * rejection nobody awaits is not reported as unhandled.
   */
  readonly promise: Promise<ResponseOf<N>>;
  /** Stops waiting without settling (the promise then never settles). Idempotent. */
  cancel(): void;
}

export interface NextNotificationOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** What is awaited, for the timeout message, e.g. "the colour reading". */
  what: string;
  /** What to do when it times out, for the timeout message. */
  hint: string;
}

/**
 * Starts waiting for the next `name` on the current link (waiting for a connect in progress, as
 * {@link LinkProvider.awaitLink} does). Call before sending the command it answers.
 */
export async function nextNotification<N extends NotificationName>(
  links: LinkProvider,
  name: N,
  options: NextNotificationOptions,
): Promise<PendingNotification<N>> {
  const link = await links.awaitLink(options.signal ? { signal: options.signal } : {});
  return nextNotificationOn(link, name, options);
}

/** Starts waiting for the next `name` on `link`. */
function nextNotificationOn<N extends NotificationName>(
  link: RvrLink,
  name: N,
  options: NextNotificationOptions,
): PendingNotification<N> {
  const { promise, resolve, reject } = Promise.withResolvers<ResponseOf<N>>();
  // The caller may never await it (its command failed first, and that error was reported):
  // this rejection is then only noted, never unhandled.
  promise.catch((e) =>
    log.debug("Stopped waiting for {name}: {error}", { name, error: String(e) })
  );
  let done = false;
  let off = () => {};
  let offClose = () => {};
  const onAbort = () => finish(() => reject(options.signal?.reason));
  const finish = (settle: () => void) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    off();
    offClose();
    options.signal?.removeEventListener("abort", onAbort);
    settle();
  };
  if (options.signal?.aborted) {
    done = true;
    reject(options.signal.reason);
    return { promise, cancel: () => {} };
  }
  const timer = setTimeout(
    () =>
      finish(() =>
        reject(
          new TimeoutError(
            `${options.what} (${name}) did not arrive within ${options.timeoutMs} ms; ` +
              options.hint,
            options.timeoutMs,
          ),
        )
      ),
    options.timeoutMs,
  );
  off = link.on(name, (values) => finish(() => resolve(values)));
  offClose = link.onClose((error) =>
    finish(() => reject(error ?? new LinkClosedError(link.port.path)))
  );
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return { promise, cancel: () => finish(() => {}) };
}
