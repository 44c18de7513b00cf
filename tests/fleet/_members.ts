/**
 * In-process fleet members for the tests: each a whole robot (Runtime over its own simulated RVR,
 * recorded on the robot's side of the wire, its aggregator) joined to the broker through its own
 * FleetLink and Member, as `fleet-sim` composes them.
 */
import type { SimOptions } from "../../src/sim/mod.ts";
import { robotMetrics, Runtime } from "../../src/robot/mod.ts";
import { Aggregator } from "../../src/telemetry/mod.ts";
import { FleetLink, Member, type MemberOptions, type Registry } from "../../src/fleet/mod.ts";
import { keepAliveSimOpener, testSettings, type WireTap } from "../_helpers/mod.ts";

export interface TestMember {
  readonly id: string;
  readonly runtime: Runtime;
  readonly member: Member;
  readonly link: FleetLink;
  readonly aggregator: Aggregator;
  /** The robot's side of its wire (every packet it received). */
  readonly wire: WireTap;
  close(): Promise<void>;
}

export async function startMember(
  id: string,
  url: string,
  options: {
    fleet?: string;
    token?: string;
    format?: MemberOptions["format"];
    sim?: SimOptions;
  } = {},
): Promise<TestMember> {
  const sims = keepAliveSimOpener(options.sim ?? {}, id);
  const runtime = new Runtime(
    testSettings({ requestTimeoutMs: 500 }),
    sims.open,
    robotMetrics(),
  );
  await runtime.connection.connect();
  const aggregator = new Aggregator(runtime.bus, { windowMs: 100 });
  const link = new FleetLink({
    servers: [url],
    name: `test ${id}`,
    reconnectWaitMs: 100,
    maxRetryMs: 500,
    ...(options.token === undefined ? {} : { token: options.token }),
  });
  const member = new Member({
    link,
    robot: runtime,
    aggregator,
    robotId: id,
    fleet: options.fleet ?? "default",
    version: "0.0.0-test",
    duplicateCheckMs: 150,
    ...(options.format === undefined ? {} : { format: options.format }),
  });
  member.start();
  return {
    id,
    runtime,
    member,
    link,
    aggregator,
    get wire() {
      return sims.wire;
    },
    async close() {
      await member.stop();
      await link.close();
      aggregator.close();
      await runtime.close("disconnect");
      await sims.sim.stop();
    },
  };
}

/**
 * Resolves once `test()` holds, checked now and whenever `watch` reports a change (the
 * registry's polls and status changes, a member's stats): no polling. Rejects after `timeoutMs`
 * (a deadline, not a poll), or with what `test` threw.
 */
export async function whenChanged(
  watch: (listener: () => void) => () => void,
  test: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (test()) return;
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const off = watch(() => {
    try {
      if (test()) resolve();
    } catch (error) {
      reject(error);
    }
  });
  const timer = setTimeout(
    () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
    timeoutMs,
  );
  try {
    await promise;
  } finally {
    off();
    clearTimeout(timer);
  }
}

/** {@link whenChanged} on a gateway's registry: after every discovery poll and status change. */
export function untilPolled(
  gateway: { readonly registry: Registry },
  test: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  return whenChanged((l) => gateway.registry.watch(l), test, what, timeoutMs);
}

/** {@link whenChanged} on a member's stats (joined, refused, calls, batches, e-stops). */
export function untilMember(
  members: readonly { readonly member: Member }[],
  test: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  return whenChanged(
    (l) => {
      const offs = members.map((m) => m.member.watch(l));
      return () => offs.forEach((off) => off());
    },
    test,
    what,
    timeoutMs,
  );
}

/**
 * Resolves once `test()` holds, checking after every `everyMs`; rejects after `timeoutMs`. Only
 * for what announces no change: a FleetLink's connection state (nats.js's status iterator is read
 * inside the link alone), a breaker's state, or a state behind another process's MCP answers.
 */
export async function until(
  test: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
