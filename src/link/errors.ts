/**
 * Errors the link layer raises for callers to catch: a reply that never came, a reply with a
 * non-zero ERR byte, a reply that does not decode, and requests cut short by the link closing.
 * Each is a {@link DomainError}: its `hint` is what a tool caller is shown.
 */
import { DomainError, errorMessage } from "../core/mod.ts";
import { errorCodeName, NODE_NAMES, type NodeId } from "../protocol/mod.ts";

function nodeLabel(node: NodeId): string {
  return `node ${node} (${NODE_NAMES[node]})`;
}

/** No reply arrived within the request's timeout. */
export class ResponseTimeoutError extends DomainError {
  override name = "ResponseTimeoutError";
  /** Command name, e.g. "get_battery_percentage". */
  readonly command: string;
  readonly timeoutMs: number;
  /** The processor the request was sent to. */
  readonly target: NodeId;
  /** Sequence number the request carried. */
  readonly seq: number;

  constructor(command: string, timeoutMs: number, target: NodeId, seq: number) {
    const message = `No reply to ${command} from ${nodeLabel(target)} within ${timeoutMs} ms ` +
      `(seq ${seq}). Check that the robot is powered and awake and the UART is wired (Pi TX -> ` +
      `RVR RX, RX <- TX, GND), or pass a larger timeoutMs.`;
    super(message, { hint: `the robot did not answer ${command} in time: ${message}` });
    this.command = command;
    this.timeoutMs = timeoutMs;
    this.target = target;
    this.seq = seq;
  }
}

const ROBOT_ERROR_HINTS: Readonly<Record<string, string>> = {
  bad_did:
    "the firmware does not know this device; update the RVR firmware with the Sphero EDU app",
  bad_cid:
    "the firmware does not know this command; update the RVR firmware with the Sphero EDU app",
  not_yet_implemented: "this firmware does not implement the command; update the RVR firmware",
  restricted: "the command is not allowed in the robot's current state; wake the robot and retry",
  bad_data_length: "the payload length was wrong for this command; this is a client bug, report it",
  failed: "the robot could not carry the command out; check its state and retry",
  bad_data_value:
    "a parameter is out of range; check the values against docs/protocol.md section 8",
  busy: "the robot is busy; retry shortly",
  bad_tid: "the command was sent to the wrong processor; send it to the other node",
  target_unavailable: "the processor is not ready (asleep or still waking); wake it and retry",
};

/** The robot answered with ERR != 0 (docs/protocol.md section 6). */
export class RobotError extends DomainError {
  override name = "RobotError";
  /** The ERR byte. */
  readonly code: number;
  /** Its section 6 name, e.g. "bad_data_value", or `unknown_0xNN`. */
  readonly codeName: string;
  readonly command: string;
  readonly target: NodeId;

  constructor(command: string, code: number, target: NodeId) {
    const codeName = errorCodeName(code);
    const hint = ROBOT_ERROR_HINTS[codeName] ??
      "the code is not in docs/protocol.md section 6; check the robot's firmware version";
    const message = `${command} failed on ${nodeLabel(target)}: the robot answered ERR 0x${
      code.toString(16).padStart(2, "0")
    } ${codeName}; ${hint}.`;
    super(message, { hint: `the robot refused ${command} with ${codeName}: ${message}` });
    this.code = code;
    this.codeName = codeName;
    this.command = command;
    this.target = target;
  }
}

/** A reply matched its request but its payload does not fit the command's reply fields. */
export class UndecodableReplyError extends DomainError {
  override name = "UndecodableReplyError";
  readonly command: string;
  /** The reply payload as hex, for the report. */
  readonly payloadHex: string;

  constructor(command: string, payload: Uint8Array, cause: unknown) {
    const payloadHex = Array.from(payload, (b) => b.toString(16).padStart(2, "0")).join(" ");
    super(
      `The reply to ${command} could not be decoded (payload [${payloadHex}]; ${
        errorMessage(cause)
      }). The robot's firmware may differ from docs/protocol.md section 8; report it with these bytes.`,
      { cause },
    );
    this.command = command;
    this.payloadHex = payloadHex;
  }
}

/** The link is closed (deliberately or because the port went away): the request cannot complete. */
export class LinkClosedError extends DomainError {
  override name = "LinkClosedError";
  /** The port's path, e.g. "/dev/serial0". */
  readonly path: string;

  /** `cause` is why the port closed when it closed on its own (e.g. a hangup). */
  constructor(path: string, cause?: Error) {
    const message = cause
      ? `The link to ${path} closed (${cause.message}); reconnect (open the port again) to continue.`
      : `The link to ${path} is closed; reconnect (open the port again) to continue.`;
    super(message, {
      hint: `the link closed: ${message} Call connect to reconnect.`,
      ...(cause ? { cause } : {}),
    });
    this.path = path;
  }
}
