/**
 * An in-process linked pair of BytePorts: what one side writes, the other receives, in order,
 * asynchronously (as a microtask), as its own copy. Used to run the simulated robot in-process.
 */
import { type BytePort, type BytePortHandlers, PortClosedError } from "../core/mod.ts";

export class MemoryPort implements BytePort {
  readonly path: string;
  #peer: MemoryPort | undefined;
  #handlers: BytePortHandlers | undefined;
  #open = true;
  /** Chunks that arrived before start(). */
  #pending: Uint8Array[] = [];
  /** Bytes written by this side. */
  bytesWritten = 0;

  private constructor(path: string) {
    this.path = path;
  }

  /** Two linked ports: `[host, device]`. */
  static pair(name = "rvr"): [MemoryPort, MemoryPort] {
    const a = new MemoryPort(`memory:${name}/host`);
    const b = new MemoryPort(`memory:${name}/device`);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  get isOpen(): boolean {
    return this.#open;
  }

  start(handlers: BytePortHandlers): void {
    if (!this.#open) throw new PortClosedError(this.path);
    if (this.#handlers) throw new Error(`Port ${this.path} is already started.`);
    this.#handlers = handlers;
    const pending = this.#pending;
    this.#pending = [];
    for (const chunk of pending) handlers.onData(chunk);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.#open) return Promise.reject(new PortClosedError(this.path));
    const peer = this.#peer as MemoryPort;
    const copy = bytes.slice();
    this.bytesWritten += copy.length;
    queueMicrotask(() => peer.#receive(copy));
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.#open) return Promise.resolve();
    this.#closeSide();
    // The peer sees the link go away, like a tty whose other end hung up.
    const peer = this.#peer as MemoryPort;
    queueMicrotask(() => peer.#closeSide());
    return Promise.resolve();
  }

  #receive(chunk: Uint8Array): void {
    if (!this.#open) return;
    if (this.#handlers) this.#handlers.onData(chunk);
    else this.#pending.push(chunk);
  }

  #closeSide(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#pending = [];
    this.#handlers?.onClose();
  }
}
