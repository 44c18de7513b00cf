/**
 * How the robot layer reaches the current link without owning the connection: the connection
 * manager (src/robot/connection.ts) implements it; tests can implement it over a simulator.
 */
import type { RvrLink } from "../link/mod.ts";

export interface LinkProvider {
  /** The link to the robot now. Throws NotConnectedError when there is none. */
  current(): RvrLink;
  /** The link if connected, else undefined (never throws). */
  peek(): RvrLink | undefined;
  /**
   * The link, once there is one: at once when connected; while a connect is in progress
   * (auto-connect, background reconnect, an explicit connect) it waits for that connect's outcome,
   * at most the wake timeout and until `signal` aborts, and resolves with the new link or rejects
   * with the connect's own error. With no connect in progress it rejects at once with
   * NotConnectedError.
   */
  awaitLink(options?: { signal?: AbortSignal }): Promise<RvrLink>;
  /**
   * Called with every new link once the robot answers on it (after connect or reconnect) - the
   * place to subscribe to notifications. Returns an unsubscribe function.
   */
  onConnected(listener: (link: RvrLink) => void): () => void;
  /** Called when the link is lost or closed, before any reconnect. Returns an unsubscribe function. */
  onDisconnected(listener: (reason: string) => void): () => void;
}
