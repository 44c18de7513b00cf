/**
 * Test helpers for the link tests: a scripted device end of a MemoryPort that decodes what the
 * link writes and answers with bytes the test chooses, plus the golden vectors.
 */
import type { BytePort } from "../../src/core/byte_port.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { RvrLink, type RvrLinkOptions } from "../../src/link/rvr_link.ts";
import { buildResponse, encodePacket, FrameDecoder, type Packet } from "../../src/protocol/mod.ts";

export { fromHex, loadVectors, toHex, type Vector } from "../_helpers/mod.ts";

/** The robot end of a port pair (MemoryPort or a pty), driven by the test. */
export class ScriptedDevice<P extends BytePort = MemoryPort> {
  readonly port: P;
  /** Every packet the host wrote, in order. */
  readonly received: Packet[] = [];
  /** Every raw chunk the host wrote, in order. */
  readonly chunks: Uint8Array[] = [];
  closed = false;
  readonly #decoder = new FrameDecoder();
  #next = 0;
  #waiters: ((p: Packet) => void)[] = [];

  constructor(port: P) {
    this.port = port;
    port.start({
      onData: (chunk) => {
        this.chunks.push(chunk);
        for (const packet of this.#decoder.push(chunk)) {
          this.received.push(packet);
          this.#wake();
        }
      },
      onClose: () => {
        this.closed = true;
      },
    });
  }

  /** The next packet the host wrote that this call has not returned yet. */
  nextRequest(): Promise<Packet> {
    if (this.#next < this.received.length) {
      return Promise.resolve(this.received[this.#next++]);
    }
    return new Promise((resolve) => {
      this.#waiters.push((p) => resolve(p));
    });
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#next < this.received.length) {
      const waiter = this.#waiters.shift() as (p: Packet) => void;
      waiter(this.received[this.#next++]);
    }
  }

  /** Writes raw bytes to the host. */
  send(bytes: Uint8Array): Promise<void> {
    return this.port.write(bytes);
  }

  /** Answers `request` like the robot (section 2.3 framing) with `err` and an encoded payload. */
  reply(request: Packet, err = 0, payload: Uint8Array = new Uint8Array(0)): Promise<void> {
    return this.send(encodePacket(buildResponse(request, err, payload)));
  }
}

/** A started link on the host end of a fresh MemoryPort pair and a scripted device on the other. */
export function linkWithDevice(
  options: RvrLinkOptions = {},
): { link: RvrLink; host: MemoryPort; device: ScriptedDevice } {
  const [host, devicePort] = MemoryPort.pair("test");
  const device = new ScriptedDevice(devicePort);
  const link = new RvrLink(host, options);
  link.start();
  return { link, host, device };
}
