/**
 * The 2025-era HTTP sessions of one endpoint, each with an idle clock, and their number capped.
 * A session is idle while none of its requests is in flight (a GET stream open counts as one):
 * after `idleTimeoutMs` of that it expires ({@link SessionTableOptions.expire}), so a client that
 * went away without DELETE does not hold a server instance for ever. At most `maxSessions` live
 * (those being initialized count): {@link SessionTable.full} says when a new one must be refused.
 *
 * Private to src/mcp.
 *
 * @module
 */

export interface SessionTableOptions<T> {
  /** How long a session may go without a request in flight before it expires (> 0). */
  idleTimeoutMs: number;
  /** The most sessions at once (>= 1). */
  maxSessions: number;
  /** Called once for a session that expired; the table has already dropped it. */
  expire(id: string, value: T): void;
}

interface Entry<T> {
  readonly value: T;
  /** Requests in flight. */
  active: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Live sessions by id; see the module doc. */
export class SessionTable<T> {
  readonly idleTimeoutMs: number;
  readonly maxSessions: number;
  readonly #expire: (id: string, value: T) => void;
  readonly #entries = new Map<string, Entry<T>>();
  #pending = 0;

  constructor(options: SessionTableOptions<T>) {
    if (!(options.idleTimeoutMs > 0) || !Number.isFinite(options.idleTimeoutMs)) {
      throw new RangeError(
        `The session idle timeout must be a positive number of ms, got ${options.idleTimeoutMs}.`,
      );
    }
    if (!Number.isSafeInteger(options.maxSessions) || options.maxSessions < 1) {
      throw new RangeError(
        `The session cap must be a whole number >= 1, got ${options.maxSessions}.`,
      );
    }
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.maxSessions = options.maxSessions;
    this.#expire = options.expire;
  }

  /** Live sessions. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when a new session would pass the cap (sessions being opened count). */
  get full(): boolean {
    return this.#entries.size + this.#pending >= this.maxSessions;
  }

  /** Counts a session being opened against the cap until the returned release is called. */
  reserve(): () => void {
    this.#pending++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#pending--;
    };
  }

  /** Adds a session; its idle clock starts. */
  add(id: string, value: T): void {
    const entry: Entry<T> = { value, active: 0, timer: undefined };
    this.#entries.set(id, entry);
    this.#arm(id, entry);
  }

  get(id: string): T | undefined {
    return this.#entries.get(id)?.value;
  }

  /** A request of session `id` started: not idle until the returned `end` is called. */
  begin(id: string): () => void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return () => {};
    entry.active++;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.active--;
      if (entry.active === 0 && this.#entries.get(id) === entry) this.#arm(id, entry);
    };
  }

  /** Removes session `id` (its clock stops); returns it, or undefined when it was not there. */
  delete(id: string): T | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    this.#entries.delete(id);
    return entry.value;
  }

  ids(): string[] {
    return [...this.#entries.keys()];
  }

  #arm(id: string, entry: Entry<T>): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.#entries.get(id) !== entry || entry.active > 0) return;
      this.#entries.delete(id);
      this.#expire(id, entry.value);
    }, this.idleTimeoutMs);
  }
}
