/**
 * The simulator's side of the line, with the fault knobs (faults.ts) applied to what crosses it:
 * - silentAfterPackets N: from the (N+1)th received packet on, the robot neither executes nor
 *   answers anything and sends nothing (a dead link); packets are still counted.
 * - replyDelayMs: every reply waits this long (notifications do not).
 * - corruptEvery N: bit 0 of FLAGS flips in every Nth outgoing packet, so the frame stays a frame
 *   but fails its checksum.
 * - errorReplies: the named command is not executed; it answers with the given code.
 * Writes go out in order through one promise chain; a write the port rejects is counted and logged.
 */
import { getLogger } from "@logtape/logtape";
import { encodePacket, Flag, type Packet } from "../protocol/mod.ts";
import type { BytePort } from "./context.ts";
import type { FaultSettings } from "./faults.ts";
import type { SimCounters } from "./stats.ts";
import type { SimTimers } from "./_timers.ts";

const log = getLogger(["rvr", "sim"]);

export class FaultPort {
  port: BytePort;
  #writes: Promise<void> = Promise.resolve();

  constructor(
    port: BytePort,
    readonly faults: FaultSettings,
    readonly counters: SimCounters,
    readonly timers: SimTimers,
    readonly isRunning: () => boolean,
  ) {
    this.port = port;
  }

  /** True once the silence knob holds: nothing is executed, answered or sent. */
  get silent(): boolean {
    const n = this.faults.silentAfterPackets;
    return n !== null && this.counters.packetsIn > n;
  }

  /** The ERR code the errorReplies knob forces on `command`, or undefined. */
  forcedError(command: string): number | undefined {
    return this.faults.errorReplies[command];
  }

  /** Sends a reply after `extraDelayMs` + replyDelayMs; `after` runs once it is out. */
  reply(reply: Packet, extraDelayMs: number, after: (() => void) | undefined): void {
    const delayMs = extraDelayMs + this.faults.replyDelayMs;
    const send = () => {
      this.send(reply);
      after?.();
    };
    if (delayMs > 0) this.timers.later(delayMs, send);
    else send();
  }

  /** Writes one packet now (corrupted when the corruptEvery knob says so). */
  send(packet: Packet): void {
    if (!this.isRunning() || this.silent) return;
    // A keep-alive robot without a host talks into the void, as a real one would.
    if (!this.port.isOpen) return;
    const bytes = encodePacket(packet);
    const c = this.counters;
    c.packetsOut++;
    if (packet.flags & Flag.isResponse) c.repliesSent++;
    else c.notificationsSent++;
    const every = this.faults.corruptEvery;
    if (every !== null && c.packetsOut % every === 0) {
      // FLAGS (0x38/0x39) is never escaped and never becomes a special byte when bit 0 flips:
      // the frame stays a frame, its checksum no longer matches.
      bytes[1] ^= 0x01;
      c.packetsCorrupted++;
    }
    this.#writes = this.#writes.then(() => this.port.write(bytes)).catch((error) => {
      c.writeErrors++;
      log.warn("Write to {path} failed: {error}", { path: this.port.path, error });
    });
  }

  /** Resolves when every queued write has settled. */
  get flushed(): Promise<void> {
    return this.#writes;
  }
}
