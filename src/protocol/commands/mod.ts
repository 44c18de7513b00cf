/**
 * The typed command table: all 93 commands of docs/protocol.md section 8, by name and by (DID, CID),
 * with builders for requests (host side) and responses/notifications (robot side).
 */
import {
  Flag,
  HOST_REQUEST_FLAGS,
  nodeOfId,
  NOTIFICATION_SEQ,
  ROBOT_NOTIFICATION_FLAGS,
  ROBOT_REPLY_TARGET,
  ROBOT_RESPONSE_FLAGS,
} from "../constants.ts";
import { encodeFieldsTransient } from "../_field_codec.ts";
import { decodeFields, encodeFields, type FieldValues } from "../fields.ts";
import { encodePacket, type Packet } from "../packet.ts";
import { COMMAND_ROLES, type CommandDef, type CommandRole } from "./_types.ts";
import { API_AND_SHELL } from "./api_and_shell.ts";
import { CONNECTION } from "./connection.ts";
import { DRIVE } from "./drive.ts";
import { SENSOR_INFRARED } from "./infrared.ts";
import { IO } from "./io.ts";
import { POWER } from "./power.ts";
import { SENSOR } from "./sensor.ts";
import { SYSTEM_INFO } from "./system_info.ts";

export type {
  CommandDef,
  CommandNode,
  CommandRole,
  NotificationDef,
  RequestDef,
} from "./_types.ts";
export { COMMAND_ROLES } from "./_types.ts";

export const COMMANDS = [
  ...API_AND_SHELL,
  ...SYSTEM_INFO,
  ...POWER,
  ...DRIVE,
  ...SENSOR,
  ...SENSOR_INFRARED,
  ...CONNECTION,
  ...IO,
] as const;

type AnyCommand = (typeof COMMANDS)[number];
/** Every command and notification name of section 8. */
export type CommandName = AnyCommand["name"];
/** Names of the rows the host may send. */
export type RequestName = Extract<AnyCommand, { kind: "command" }>["name"];
/** Names of the robot's notifications. */
export type NotificationName = Extract<AnyCommand, { kind: "notification" }>["name"];
/** Names of the requests whose role is one of `R`, e.g. `RequestNameOfRole<"stop">`. */
export type RequestNameOfRole<R extends CommandRole> = Extract<AnyCommand, { role: R }>["name"];
type DefOf<N extends CommandName> = Extract<AnyCommand, { name: N }>;
/** Request parameters of command `N`, e.g. `{ speed, heading, flags }` for drive_with_heading. */
export type RequestOf<N extends CommandName> = FieldValues<DefOf<N>["request"]>;
/** Reply (or notification) values of `N`. */
export type ResponseOf<N extends CommandName> = FieldValues<DefOf<N>["response"]>;

const BY_NAME = new Map<string, CommandDef>(COMMANDS.map((c) => [c.name, c]));
const BY_ID = new Map<number, CommandDef>(COMMANDS.map((c) => [(c.did << 8) | c.cid, c]));

/** The definition of `name`; throws a TypeError naming the unknown command. */
export function commandByName(name: string): CommandDef {
  const def = BY_NAME.get(name);
  if (!def) {
    throw new TypeError(
      `Unknown RVR command "${name}"; use one of the ${COMMANDS.length} names of docs/protocol.md section 8.`,
    );
  }
  return def;
}

/** The definition for (DID, CID), or undefined when section 8 has no such row. */
export function commandById(did: number, cid: number): CommandDef | undefined {
  return BY_ID.get((did << 8) | cid);
}

/** The requests whose role is one of `roles`, in table order. */
export function requestsOfRole<R extends CommandRole>(...roles: R[]): RequestNameOfRole<R>[] {
  for (const role of roles) {
    if (!(COMMAND_ROLES as readonly string[]).includes(role)) {
      throw new RangeError(
        `Unknown command role ${JSON.stringify(role)}; use one of ${COMMAND_ROLES.join(", ")}.`,
      );
    }
  }
  const wanted = new Set<CommandRole>(roles);
  return COMMANDS.filter((c) => c.kind === "command" && wanted.has(c.role)).map((c) =>
    c.name
  ) as RequestNameOfRole<R>[];
}

export interface RequestOptions {
  /** Sequence number 0 to 255. */
  seq: number;
  /** TID byte. Default: the command's node (port 0). Required for commands on either node. */
  target?: number;
  /** SID byte; omitted by default (what the Python SDK does). */
  source?: number;
  /** Ask for a reply. Default: true when the command has reply fields. */
  requestsResponse?: boolean;
  /** With `requestsResponse`, ask for a reply only on error (flag 0x04). */
  errorOnly?: boolean;
}

/** Builds the request packet for `name` (host -> robot). */
export function buildRequest<N extends RequestName>(
  name: N,
  params: RequestOf<N>,
  options: RequestOptions,
): Packet {
  return requestPacket(name, params as Record<string, unknown>, options, encodeFields);
}

/** Wire bytes of a request; see buildRequest. */
export function encodeRequest<N extends RequestName>(
  name: N,
  params: RequestOf<N>,
  options: RequestOptions,
): Uint8Array {
  // The payload goes through a scratch buffer: encodePacket copies it into the only allocation.
  return encodePacket(
    requestPacket(name, params as Record<string, unknown>, options, encodeFieldsTransient),
  );
}

function requestPacket(
  name: string,
  params: Readonly<Record<string, unknown>>,
  options: RequestOptions,
  encodePayload: typeof encodeFields,
): Packet {
  const def = commandByName(name);
  if (def.kind !== "command") {
    throw new TypeError(`"${name}" is a notification the robot sends; it cannot be requested.`);
  }
  let target = options.target;
  if (target === undefined) {
    if (def.node === "any") {
      throw new TypeError(
        `"${name}" runs on either processor; pass target 1 (Nordic) or 2 (ST).`,
      );
    }
    target = def.node;
  }
  const wantsReply = options.requestsResponse ?? def.response.length > 0;
  let flags = HOST_REQUEST_FLAGS;
  if (wantsReply) flags |= Flag.requestsResponse;
  if (wantsReply && options.errorOnly) flags |= Flag.requestsOnlyErrorResponse;
  if (options.source !== undefined) flags |= Flag.hasSourceId;
  const packet: Packet = {
    flags,
    target,
    did: def.did,
    cid: def.cid,
    seq: options.seq,
    payload: encodePayload(name, def.request, params),
  };
  if (options.source !== undefined) packet.source = options.source;
  return packet;
}

/**
 * Builds the robot's response to `request` (section 2.3): FLAGS 0x39, TID 0x21, SID = the request's
 * target node, same DID/CID/SEQ. `payload` is already encoded (empty on error).
 */
export function buildResponse(request: Packet, err: number, payload: Uint8Array): Packet {
  return {
    flags: ROBOT_RESPONSE_FLAGS,
    target: ROBOT_REPLY_TARGET,
    source: nodeOfId(request.target ?? 1),
    did: request.did,
    cid: request.cid,
    seq: request.seq,
    err,
    payload,
  };
}

/** Builds a robot notification packet (section 2.3): FLAGS 0x38, TID 0x21, SID = node, SEQ 0xFF. */
export function buildNotification<N extends NotificationName>(
  name: N,
  values: ResponseOf<N>,
  node?: 1 | 2,
): Packet {
  const def = commandByName(name);
  const source = node ?? (def.node === "any" ? undefined : def.node);
  if (source === undefined) {
    throw new TypeError(`"${name}" is sent by either processor; pass node 1 or 2.`);
  }
  return {
    flags: ROBOT_NOTIFICATION_FLAGS,
    target: ROBOT_REPLY_TARGET,
    source,
    did: def.did,
    cid: def.cid,
    seq: NOTIFICATION_SEQ,
    payload: encodeFields(name, def.response, values as Record<string, unknown>),
  };
}

/** Decodes a request payload of `name` (robot side). Throws PayloadLengthError on a bad length. */
export function decodeRequest<N extends RequestName>(name: N, payload: Uint8Array): RequestOf<N> {
  const def = commandByName(name);
  return decodeFields(name, def.request, payload) as RequestOf<N>;
}

/** Decodes a reply or notification payload of `name`. Throws PayloadLengthError on a bad length. */
export function decodeResponse<N extends CommandName>(
  name: N,
  payload: Uint8Array,
): ResponseOf<N> {
  const def = commandByName(name);
  return decodeFields(name, def.response, payload) as ResponseOf<N>;
}
