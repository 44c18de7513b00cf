/**
 * Connect joining: a connect while another is in progress to the same port joins it (one attempt,
 * one link); to another port it waits for it ({@link settled}) and then replaces it.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { ConnectResult, PortSpec } from "./types.ts";
import { errorMessage } from "../../core/errors.ts";

const log = getLogger(["rvr", "robot", "connection"]);

export function sameSpec(a: PortSpec, b: PortSpec): boolean {
  return a.path === b.path && a.baudRate === b.baudRate;
}

/**
 * Waits until an earlier connect has finished, however it ended: its result or error was already
 * given to its own caller and recorded in the state (`error`), so here only its end matters.
 */
export async function settled(connect: Promise<unknown> | undefined): Promise<void> {
  try {
    await connect;
  } catch (e) {
    log.debug("An earlier connect ended with {error} (reported to its caller)", {
      error: errorMessage(e),
    });
  }
}

/** The connect in progress, if any, and where it goes. */
export class ConnectInProgress {
  #current: Promise<ConnectResult> | undefined;
  /** Where the connect in `#current` goes (a connect to the same place joins it). */
  #spec: PortSpec | undefined;

  /** The connect in progress, or undefined. */
  get current(): Promise<ConnectResult> | undefined {
    return this.#current;
  }

  /** The connect in progress when it goes to `spec` (a new one joins it), else undefined. */
  joinable(spec: PortSpec): Promise<ConnectResult> | undefined {
    return this.#current !== undefined && this.#spec && sameSpec(this.#spec, spec)
      ? this.#current
      : undefined;
  }

  /** Runs `run` as the connect in progress to `spec` until it ends (or a newer one begins). */
  begin(run: () => Promise<ConnectResult>, spec: PortSpec): Promise<ConnectResult> {
    const p: Promise<ConnectResult> = run().finally(() => {
      if (this.#current === p) {
        this.#current = undefined;
        this.#spec = undefined;
      }
    });
    this.#current = p;
    this.#spec = spec;
    return p;
  }
}
