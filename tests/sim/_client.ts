/**
 * A tiny host for simulator tests, made from src/protocol only (encodeRequest, FrameDecoder,
 * decodeResponse), and a rig of it with a started simulator on fake time.
 */
import assert from "node:assert/strict";
import type { BytePort } from "../../src/core/byte_port.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import {
  commandById,
  type CommandName,
  decodeResponse,
  encodeRequest,
  FrameDecoder,
  type Packet,
  type RequestName,
  type RequestOf,
  type RequestOptions,
  type ResponseOf,
} from "../../src/protocol/mod.ts";
import { type SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import { type FakeClock, fakeClock } from "../_helpers/mod.ts";

export class TestClient {
  readonly received: Packet[] = [];
  /** Every byte received, as it came over the wire (escaped). */
  readonly wire: number[] = [];
  readonly decoder = new FrameDecoder();
  closed = false;
  #seq = 0;

  constructor(readonly port: BytePort) {
    port.start({
      onData: (chunk) => {
        this.wire.push(...chunk);
        this.received.push(...this.decoder.push(chunk));
      },
      onClose: () => {
        this.closed = true;
      },
    });
  }

  /** Raw bytes, e.g. a golden vector. */
  send(bytes: Uint8Array): Promise<void> {
    return this.port.write(bytes);
  }

  /** Sends `name` and returns its sequence number. */
  async request<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options: Partial<RequestOptions> = {},
  ): Promise<number> {
    const seq = options.seq ?? this.#seq;
    this.#seq = (seq + 1) & 0xff;
    await this.send(encodeRequest(name, params, { ...options, seq }));
    return seq;
  }

  /** Returns everything received so far and forgets it. */
  take(): Packet[] {
    return this.received.splice(0);
  }

  responses(): Packet[] {
    return this.received.filter((p) => (p.flags & 0x01) !== 0);
  }

  /** Notifications received, optionally only those of `name`. */
  notifications(name?: CommandName): Packet[] {
    return this.received.filter((p) =>
      (p.flags & 0x01) === 0 && (name === undefined || commandById(p.did, p.cid)?.name === name)
    );
  }

  /** The one response with this seq (asserts there is exactly one). */
  responseTo(seq: number): Packet {
    const found = this.responses().filter((p) => p.seq === seq);
    assert.equal(found.length, 1, `expected one response with seq ${seq}, got ${found.length}`);
    return found[0];
  }
}

/** Decodes a reply's payload after asserting ERR 0. */
export function decodeOk<N extends CommandName>(name: N, p: Packet): ResponseOf<N> {
  assert.equal(p.err, 0, `${name} answered ERR ${p.err}`);
  return decodeResponse(name, p.payload);
}

export interface Rig {
  clock: FakeClock;
  sim: SimulatedRvr;
  client: TestClient;
  /** Lets queued bytes and due timers run. */
  settle(ms?: number): Promise<void>;
  /** Sends a request and settles; returns the seq. */
  ask<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options?: Partial<RequestOptions>,
  ): Promise<number>;
  close(): Promise<void>;
}

/** A started simulator on a MemoryPort pair, a test client on the host end, fake time. */
export function rig(options: SimOptions = {}, existingClock?: FakeClock): Rig {
  const clock = existingClock ?? fakeClock();
  const [host, device] = MemoryPort.pair("sim-test");
  const sim = new SimulatedRvr(device, options);
  sim.start();
  const client = new TestClient(host);
  const settle = async (ms = 0) => {
    await clock.tickAsync(ms);
  };
  return {
    clock,
    sim,
    client,
    settle,
    async ask(name, params, opts = {}) {
      const seq = await client.request(name, params, opts);
      await settle();
      return seq;
    },
    async close() {
      await sim.stop();
      await host.close();
      await clock.tickAsync(0);
      if (!existingClock) clock.uninstall();
    },
  };
}

export { fromHex, loadVectors, toHex as hex, type Vector } from "../_helpers/mod.ts";
