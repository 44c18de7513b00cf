/**
 * Stop-all on NATS: one message on the fleet's e-stop subject with a reply inbox; every member
 * latches its e-stop the moment it hears it and replies `{robot, latched_at, sent}`. The result
 * lists every robot expected (the online ones) and every robot that replied, each with whether it
 * confirmed; it is complete when all expected robots replied, or when the time is up.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { EstopReply } from "./member.ts";
import type { NatsConnection } from "./nats.ts";

const log = getLogger(["rvr", "fleet", "gateway"]);

export interface StopAllResult {
  robots: {
    robot: string;
    confirmed: boolean;
    latched_at: string | null;
    drive_stop_sent: boolean | null;
  }[];
  confirmed: number;
  /** Expected robots that did not reply in time. */
  unconfirmed: string[];
  ms: number;
}

export async function stopAll(
  nc: NatsConnection,
  subject: string,
  expected: readonly string[],
  timeoutMs: number,
): Promise<StopAllResult> {
  const started = performance.now();
  const replies = new Map<string, EstopReply>();
  const inbox = `_INBOX.estop.${crypto.randomUUID().replaceAll("-", "")}`;
  const waiting = new Set(expected);
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const sub = nc.subscribe(inbox, {
    callback: (_error, msg) => {
      try {
        const r = JSON.parse(msg.string()) as EstopReply;
        if (typeof r.robot !== "string") return;
        replies.set(r.robot, r);
        waiting.delete(r.robot);
        if (waiting.size === 0) resolve();
      } catch (error) {
        // A reply that is not ours is no confirmation; the robot stays unconfirmed.
        log.warn("Stop-all: a reply that is not {robot, latched_at}: {error}", {
          error: (error as Error).message,
        });
      }
    },
  });
  const timer = setTimeout(resolve, timeoutMs);
  try {
    // With nobody expected, the whole time is left to members the registry has not seen yet.
    nc.publish(subject, "", { reply: inbox });
    await done;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
  const ids = [...new Set([...expected, ...replies.keys()])].sort();
  const robots = ids.map((robot) => {
    const r = replies.get(robot);
    return {
      robot,
      confirmed: r !== undefined,
      latched_at: r?.latched_at ?? null,
      drive_stop_sent: r?.sent ?? null,
    };
  });
  return {
    robots,
    confirmed: replies.size,
    unconfirmed: expected.filter((id) => !replies.has(id)),
    ms: Math.round(performance.now() - started),
  };
}
