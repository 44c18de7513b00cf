/**
 * Wire constants of the Sphero RVR UART protocol (docs/protocol.md sections 2-6).
 * Pure data: no I/O, no time.
 */

/** Start of packet. Never escaped. */
export const SOP = 0x8d;
/** End of packet. Never escaped. */
export const EOP = 0xd8;
/** Escape marker: the next byte is the escaped value with bits 7 and 3 cleared. */
export const ESC = 0xab;
/** Bits cleared from a special byte when it is escaped (`AB 05` = 0x8D). */
export const ESCAPE_MASK = 0x88;

/** Receivers cap a frame at this many unescaped bytes and resync on the next SOP. */
export const MAX_FRAME_BYTES = 256;
/** FLAGS DID CID SEQ CHK: the smallest frame body. */
export const MIN_FRAME_BODY_BYTES = 5;

/** FLAGS bit masks (section 2.1). */
export const Flag = {
  isResponse: 0x01,
  requestsResponse: 0x02,
  requestsOnlyErrorResponse: 0x04,
  resetsInactivityTimeout: 0x08,
  hasTargetId: 0x10,
  hasSourceId: 0x20,
  unused: 0x40,
  hasMoreFlags: 0x80,
} as const;

/** The two processors ("nodes") of an RVR. */
export const NODES = [1, 2] as const;
export type NodeId = (typeof NODES)[number];
export const Node = { nordic: 1, st: 2 } as const satisfies Record<string, NodeId>;
export const NODE_NAMES: Readonly<Record<NodeId, string>> = { 1: "nordic", 2: "st" };

/** TID the real robot puts on everything it sends: port 2, node 1 (the host as seen from it). */
export const ROBOT_REPLY_TARGET = 0x21;
/** Sequence number of every robot-initiated notification. */
export const NOTIFICATION_SEQ = 0xff;
/** FLAGS of a robot response: response + activity + TID + SID. */
export const ROBOT_RESPONSE_FLAGS = 0x39;
/** FLAGS of a robot notification: activity + TID + SID. */
export const ROBOT_NOTIFICATION_FLAGS = 0x38;

/** FLAGS the Python SDK puts on a request: activity + TID (0x18), + 0x02 when a reply is wanted. */
export const HOST_REQUEST_FLAGS = Flag.resetsInactivityTimeout | Flag.hasTargetId;

/** Routing byte (TID/SID): high nibble port, low nibble node. */
export function nodeOfId(id: number): number {
  return id & 0x0f;
}

/** Response codes carried in the ERR byte (section 6). */
export const ERROR_CODES = [
  { code: 0x00, name: "success", text: "Success" },
  { code: 0x01, name: "bad_did", text: "Bad Device ID" },
  { code: 0x02, name: "bad_cid", text: "Bad Command ID" },
  { code: 0x03, name: "not_yet_implemented", text: "Command Not Implemented" },
  { code: 0x04, name: "restricted", text: "Restricted Command" },
  { code: 0x05, name: "bad_data_length", text: "Bad Data Length" },
  { code: 0x06, name: "failed", text: "Command Failed" },
  { code: 0x07, name: "bad_data_value", text: "Bad Parameter Value" },
  { code: 0x08, name: "busy", text: "Busy" },
  { code: 0x09, name: "bad_tid", text: "Bad Target ID" },
  { code: 0x0a, name: "target_unavailable", text: "Target Unavailable" },
] as const;
export type ErrorCodeName = (typeof ERROR_CODES)[number]["name"];
export const ErrorCode = Object.fromEntries(ERROR_CODES.map((e) => [e.name, e.code])) as {
  readonly [K in ErrorCodeName]: number;
};

/** The name of an ERR code, or `unknown_0xNN` for a code outside section 6. */
export function errorCodeName(code: number): string {
  return ERROR_CODES.find((e) => e.code === code)?.name ??
    `unknown_0x${code.toString(16).padStart(2, "0")}`;
}
