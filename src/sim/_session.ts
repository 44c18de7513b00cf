/**
 * One conversation on a BytePort: decode frames, route each packet to a node and a command, run
 * it through the host's handlers, answer with a real response (docs/protocol.md sec. 2.3, 7, 12).
 *
 * Behaviour the protocol leaves open, decided here:
 * - Routing: node = TID & 0x0F; a packet without TID goes to the Nordic (node 1), and its reply
 *   carries SID 1. A TID naming any other node -> bad_tid 0x09.
 * - A device the node does not host -> bad_did 0x01 (drive on the Nordic; power, io, connection
 *   on the ST; unknown DIDs). A CID unknown in the device, or a command of a device both nodes
 *   host sent to the other one (get_sku to the ST, get_encoder_counts to the Nordic) -> bad_cid
 *   0x02. Wrong payload length -> bad_data_length 0x05 (a configure_streaming_service with more
 *   than 5 services -> failed 0x06). Out of range -> bad_data_value 0x07: anything a handler, the
 *   body or the world rejects with a RangeError, and non-finite floats.
 * - Packets flagged as responses, and packets carrying a notification's DID/CID, are dropped
 *   without an answer (stats.packetsIgnored).
 * - Replies iff FLAGS 0x02 (with 0x04: only on error), sec. 7.
 */
import { getLogger } from "@logtape/logtape";
import {
  buildResponse,
  commandById,
  type CommandDef,
  COMMANDS,
  decodeRequest,
  encodeFields,
  ErrorCode,
  errorCodeName,
  Flag,
  FRAME_ERRORS,
  FrameDecoder,
  MAX_SERVICES_PER_SLOT,
  type NodeId,
  nodeOfId,
  type Packet,
  PayloadLengthError,
  type RequestName,
} from "../protocol/mod.ts";
import { type BytePort, CommandError, type RequestContext } from "./context.ts";
import type { SimCounters } from "./stats.ts";
import type { FaultPort } from "./_fault_port.ts";
import type { SimTimers } from "./_timers.ts";

const log = getLogger(["rvr", "sim"]);
const EMPTY = new Uint8Array(0);

/** What the session needs from the robot behind it. */
export interface SessionHost {
  readonly name: string;
  isRunning(): boolean;
  /** A packet with the activity flag 0x08 arrived. */
  onActivity(): void;
  /** Throws CommandError when the robot's power state does not let `def` run now. */
  admit(def: CommandDef): void;
  /** Runs a routed, decoded command; returns the reply values. */
  dispatch(
    def: CommandDef,
    params: Record<string, unknown>,
    ctx: RequestContext,
  ): Record<string, unknown> | void;
}

export class SimSession {
  readonly #decoder: FrameDecoder;

  constructor(
    readonly host: SessionHost,
    readonly line: FaultPort,
    readonly counters: SimCounters,
    readonly timers: SimTimers,
  ) {
    this.#decoder = new FrameDecoder({
      onError: (reason) => {
        if (reason !== "noise") log.debug("Dropped frame: {reason}", { reason, robot: host.name });
      },
    });
  }

  /** Talks on `port` from now on; `onClose` hears when it closes. */
  attach(port: BytePort, onClose: (error?: Error) => void): void {
    this.line.port = port;
    port.start({ onData: (chunk) => this.#onData(chunk), onClose });
  }

  /** Forgets a partly received frame (a new port starts clean). */
  resetDecoder(): void {
    this.#decoder.reset();
  }

  /** Frames the decoder rejected (noise outside frames not counted). */
  get framesDropped(): number {
    let framesDropped = 0;
    for (const reason of FRAME_ERRORS) {
      if (reason !== "noise") framesDropped += this.#decoder.stats.errors[reason];
    }
    return framesDropped;
  }

  #onData(chunk: Uint8Array): void {
    for (const packet of this.#decoder.push(chunk)) {
      this.timers.guard("packet", () => this.#onPacket(packet));
    }
  }

  #onPacket(packet: Packet): void {
    if (!this.host.isRunning()) return;
    this.counters.packetsIn++;
    if (this.line.silent || (packet.flags & Flag.isResponse) !== 0) {
      this.counters.packetsIgnored++;
      return;
    }
    const def = commandById(packet.did, packet.cid);
    log.debug("Received {command} seq {seq} for node {node}", {
      command: def?.name ?? `0x${packet.did.toString(16)}/0x${packet.cid.toString(16)}`,
      seq: packet.seq,
      node: (packet.target ?? 1) & 0x0f,
      robot: this.host.name,
    });
    if (def?.kind === "notification") {
      // A notification is the robot's to send; one sent to it gets no answer.
      this.counters.packetsIgnored++;
      return;
    }
    if (packet.flags & Flag.resetsInactivityTimeout) this.host.onActivity();

    // No TID: treat as Nordic (no SDK sends that; sec. 2.2).
    const node = packet.target === undefined ? 1 : nodeOfId(packet.target);
    const ctx: RequestContext = { node: node as NodeId, replyDelayMs: 0 };
    let err = 0;
    let payload: Uint8Array = EMPTY;
    try {
      const values = this.#execute(packet, node, def, ctx);
      if (def && def.response.length > 0) {
        payload = this.#encodeReply(def, values);
      }
    } catch (e) {
      err = this.#errorCodeOf(e, packet, def);
      payload = EMPTY;
    }
    this.#answer(packet, err, payload, ctx.replyDelayMs, err === 0 ? ctx.after : undefined);
  }

  #encodeReply(def: CommandDef, values: Record<string, unknown> | void): Uint8Array {
    try {
      return encodeFields(def.name, def.response, values ?? {});
    } catch (e) {
      this.counters.internalErrors++;
      log.error("Simulator built a bad {command} reply: {error}", { command: def.name, error: e });
      throw new CommandError(ErrorCode.failed, `bad ${def.name} reply: ${(e as Error).message}`);
    }
  }

  #execute(
    packet: Packet,
    node: number,
    def: CommandDef | undefined,
    ctx: RequestContext,
  ): Record<string, unknown> | void {
    const id = `DID 0x${packet.did.toString(16)} CID 0x${packet.cid.toString(16)}`;
    if (node !== 1 && node !== 2) {
      throw new CommandError(
        ErrorCode.bad_tid,
        `TID 0x${packet.target?.toString(16)} names node ${node}`,
      );
    }
    if (!deviceOnNode(packet.did, node)) {
      throw new CommandError(ErrorCode.bad_did, `${id}: no such device on node ${node}`);
    }
    if (!def || (def.node !== "any" && def.node !== node)) {
      throw new CommandError(ErrorCode.bad_cid, `${id}: no such command on node ${node}`);
    }
    const forced = this.line.forcedError(def.name);
    if (forced !== undefined) {
      throw new CommandError(forced, `fault knob errorReplies.${def.name}`);
    }
    this.host.admit(def);
    let params: Record<string, unknown>;
    try {
      params = decodeRequest(def.name as RequestName, packet.payload) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof PayloadLengthError) {
        throw new CommandError(
          tooManyStreamServices(def.name, packet.payload) ?? ErrorCode.bad_data_length,
          e.message,
        );
      }
      throw e;
    }
    for (const [k, v] of Object.entries(params)) {
      if (typeof v === "number" && !Number.isFinite(v)) {
        throw new RangeError(`${def.name}.${k} is ${v}; it must be a finite number.`);
      }
    }
    return this.host.dispatch(def, params, ctx);
  }

  #errorCodeOf(e: unknown, packet: Packet, def: CommandDef | undefined): number {
    const what = def?.name ?? `0x${packet.did.toString(16)}/0x${packet.cid.toString(16)}`;
    if (e instanceof CommandError) {
      log.debug("{command} -> {err}: {reason}", {
        command: what,
        err: errorCodeName(e.code),
        reason: e.message,
      });
      return e.code;
    }
    if (e instanceof RangeError) {
      log.debug("{command} -> bad_data_value: {reason}", { command: what, reason: e.message });
      return ErrorCode.bad_data_value;
    }
    this.counters.internalErrors++;
    log.error("{command} failed inside the simulator: {error}", { command: what, error: e });
    return ErrorCode.failed;
  }

  /** Replies iff FLAGS 0x02 (with 0x04: only on error), sec. 7. `after` runs once the reply is out. */
  #answer(
    request: Packet,
    err: number,
    payload: Uint8Array,
    extraDelayMs: number,
    after: (() => void) | undefined,
  ): void {
    const wants = (request.flags & Flag.requestsResponse) !== 0;
    const errorOnly = (request.flags & Flag.requestsOnlyErrorResponse) !== 0;
    if (!wants || (errorOnly && err === 0)) {
      after?.();
      return;
    }
    this.line.reply(buildResponse(request, err, payload), extraDelayMs, after);
  }
}

function deviceOnNode(did: number, node: NodeId): boolean {
  return COMMANDS.some((c) =>
    c.did === did && c.kind === "command" && (c.node === node || c.node === "any")
  );
}

/**
 * `failed` when `payload` is a configure_streaming_service naming more services than a slot takes
 * (whole 3-byte entries past the token, more than MAX_SERVICES_PER_SLOT), else undefined.
 */
function tooManyStreamServices(command: string, payload: Uint8Array): number | undefined {
  if (command !== "configure_streaming_service") return undefined;
  const configurationBytes = payload.length - 1;
  return configurationBytes % 3 === 0 && configurationBytes / 3 > MAX_SERVICES_PER_SLOT
    ? ErrorCode.failed
    : undefined;
}
