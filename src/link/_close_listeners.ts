/**
 * Who hears that the link closed: each listener once, with the LinkClosedError when the port
 * closed on its own; one registered after the close is called at once. A listener that throws is
 * logged and counted. Private to the link.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { LinkClosedError } from "./errors.ts";
import type { LinkCloseListener } from "./link_types.ts";

const log = getLogger(["rvr", "link"]);

export class CloseListeners {
  readonly #listeners = new Set<LinkCloseListener>();
  readonly #path: string;
  readonly #threw: () => void;
  #closed = false;
  /** Why the link closed on its own; undefined after `close()` or while open. */
  error: LinkClosedError | undefined;

  constructor(path: string, threw: () => void) {
    this.#path = path;
    this.#threw = threw;
  }

  add(listener: LinkCloseListener): () => void {
    if (this.#closed) {
      this.#call(listener);
      return () => {};
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The link closed: tells every listener once. */
  fire(error: LinkClosedError | undefined): void {
    this.#closed = true;
    this.error = error;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) this.#call(listener);
  }

  #call(listener: LinkCloseListener): void {
    try {
      listener(this.error);
    } catch (thrown) {
      this.#threw();
      log.error("Close listener on {path} threw: {error}", { path: this.#path, error: thrown });
    }
  }
}
