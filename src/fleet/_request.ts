/**
 * One tool call to one robot over NATS, the gateway's side: the request on the robot's call
 * subject, and every way it can fail as a {@link FleetError}: `timeout`, `robot_offline` (no
 * responders: nobody serves that subject now; its `cause` marks it as transient), `robot_error`
 * (the robot answered `isError`, or with something that is not a call response).
 *
 * Private to src/fleet.
 *
 * @module
 */
import type { CallResponse } from "./call.ts";
import { FleetError } from "./errors.ts";
import { isNoResponders, isRequestTimeout, type NatsConnection } from "./nats.ts";

export interface CallSpec {
  readonly id: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly timeoutMs: number;
}

/** Sends the call and returns the robot's structured result; see the module doc. */
export async function requestCall(
  nc: NatsConnection,
  subject: string,
  spec: CallSpec,
): Promise<Record<string, unknown>> {
  const { id, tool, args } = spec;
  const timeoutMs = Math.max(1, Math.round(spec.timeoutMs));
  let reply;
  try {
    reply = await nc.request(subject, JSON.stringify({ tool, arguments: args }), {
      timeout: timeoutMs,
    });
  } catch (error) {
    if (isRequestTimeout(error)) {
      throw new FleetError(
        "timeout",
        `Robot ${id} did not answer ${tool} within ${timeoutMs} ms.`,
        {
          robot: id,
          cause: error,
          hint: `timeout: robot ${id} did not answer ${tool} within ${timeoutMs} ms; it may be ` +
            `busy or its network slow. Try again, or raise timeout_ms.`,
        },
      );
    }
    if (isNoResponders(error)) {
      throw new FleetError(
        "robot_offline",
        `Robot ${id} does not answer on ${subject} (no responders): its program left the ` +
          `fleet. Check that it runs; it comes back by itself.`,
        { robot: id, cause: error },
      );
    }
    throw error;
  }
  let body: CallResponse;
  try {
    body = JSON.parse(reply.string()) as CallResponse;
  } catch (e) {
    throw new FleetError(
      "robot_error",
      `Robot ${id} answered ${tool} with something that is not JSON (${(e as Error).message}): ` +
        `is its program an rvr-mcp of this version?`,
      { robot: id },
    );
  }
  if (body.isError) {
    const text = body.content?.map((c) => c.text).join("\n") || "an error without text";
    throw new FleetError("robot_error", `${id}: ${text}`, { robot: id });
  }
  return body.structuredContent ?? {};
}
