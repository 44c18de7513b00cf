/**
 * A wire tap: a BytePort decorator that decodes and records every packet in both directions, in
 * wire order. Put it on the robot's side of a port pair (the simulator's port) and tests check the
 * bytes the robot really received and sent.
 */
import type { BytePort, BytePortHandlers } from "../../src/core/byte_port.ts";
import {
  commandById,
  decodeRequest,
  FrameDecoder,
  type Packet,
  type RequestName,
  type RequestOf,
} from "../../src/protocol/mod.ts";

/** One decoded packet on the wire, seen from the tapped side. */
export interface WireEvent {
  /** "in": the tapped side received it; "out": it sent it. */
  readonly dir: "in" | "out";
  /** The section 8 name, or "0xDD/0xCC" when unknown. */
  readonly name: string;
  readonly packet: Packet;
  /** performance.now() when it passed. */
  readonly at: number;
}

/** The section 8 name of a packet's command, or "0xDD/0xCC" when unknown. */
export function packetName(packet: Packet): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;
  return commandById(packet.did, packet.cid)?.name ?? `${hex(packet.did)}/${hex(packet.cid)}`;
}

/** Records every packet passing through `inner`, in both directions, in order. */
export class WireTap implements BytePort {
  readonly events: WireEvent[] = [];
  /** Called for every packet the tapped side receives, inside the port's delivery (for benches). */
  onReceived: ((event: WireEvent) => void) | undefined;
  readonly #inner: BytePort;
  readonly #inDecoder = new FrameDecoder();
  readonly #outDecoder = new FrameDecoder();

  constructor(inner: BytePort) {
    this.#inner = inner;
  }

  get path(): string {
    return this.#inner.path;
  }

  get isOpen(): boolean {
    return this.#inner.isOpen;
  }

  start(handlers: BytePortHandlers): void {
    this.#inner.start({
      onData: (chunk) => {
        this.#record("in", this.#inDecoder.push(chunk));
        handlers.onData(chunk);
      },
      onClose: (error) => handlers.onClose(error),
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    this.#record("out", this.#outDecoder.push(bytes));
    return this.#inner.write(bytes);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Packets the tapped side received, optionally only those named `name`. */
  received(name?: string): WireEvent[] {
    return this.events.filter((e) => e.dir === "in" && (name === undefined || e.name === name));
  }

  /** Packets the tapped side sent, optionally only those named `name`. */
  sent(name?: string): WireEvent[] {
    return this.events.filter((e) => e.dir === "out" && (name === undefined || e.name === name));
  }

  /** Index in `events` of the first packet matching, or -1. */
  indexOf(dir: "in" | "out", name: string, from = 0): number {
    return this.events.findIndex((e, i) => i >= from && e.dir === dir && e.name === name);
  }

  clear(): void {
    this.events.length = 0;
  }

  #record(dir: "in" | "out", packets: Packet[]): void {
    for (const packet of packets) {
      const event: WireEvent = { dir, name: packetName(packet), packet, at: performance.now() };
      this.events.push(event);
      if (dir === "in") this.onReceived?.(event);
    }
  }
}

/** The decoded request parameters of a packet the tapped side received. */
export function paramsOf<N extends RequestName>(name: N, event: WireEvent): RequestOf<N> {
  if (event.name !== name) {
    throw new Error(`Expected a ${name} packet, got ${event.name}.`);
  }
  return decodeRequest(name, event.packet.payload);
}
