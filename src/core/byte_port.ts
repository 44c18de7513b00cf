/**
 * The one seam between the protocol stack and a byte transport: a real tty (link's TtyPort) or an
 * in-process pair (link's MemoryPort) with the simulator on the other end. It lives in core so the
 * simulator implements it without importing link; link re-exports it for its users.
 */
import { DomainError } from "./errors.ts";

export interface BytePortHandlers {
  /** Received bytes, in order. The chunk is the handler's to keep. Must not throw. */
  onData(chunk: Uint8Array): void;
  /** The port closed: `error` is set when it failed (device unplugged, read error). Called once. */
  onClose(error?: Error): void;
}

export interface BytePort {
  /** What the port is, for messages and logs: a tty path or "memory:<name>". */
  readonly path: string;
  /** False once closed, by either side. */
  readonly isOpen: boolean;
  /** Starts delivering received bytes. Call once; throws Error if already started. */
  start(handlers: BytePortHandlers): void;
  /** Writes all of `bytes`; resolves when handed to the OS (or the peer). Rejects once closed. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the port; idempotent. Pending reads end; `onClose` fires without an error. */
  close(): Promise<void>;
}

/** Writing to or starting a port that is already closed. */
export class PortClosedError extends DomainError {
  override name = "PortClosedError";
  constructor(path: string) {
    super(`Port ${path} is closed; reconnect to open it again.`);
  }
}
