/**
 * The tools' rig: a real Runtime over the keep-alive simulated robot on fake time, a tool context,
 * and calling catalog tools by name. Private to tests/tools.
 */
import assert from "node:assert/strict";
import { robotMetrics, Runtime } from "../../src/robot/mod.ts";
import { callTool, CATALOG, type ToolContext } from "../../src/tools/mod.ts";
import {
  type FakeClock,
  fakeClock,
  type KeepAliveSimOpener,
  keepAliveSimOpener,
  settleWith,
  testSettings,
} from "../_helpers/mod.ts";

export const TOOLS = new Map(CATALOG.map((t) => [t.name, t]));

export interface ToolRig {
  clock: FakeClock;
  robot: KeepAliveSimOpener;
  runtime: Runtime;
  settle<T>(p: Promise<T>): Promise<T>;
  /** Calls the catalog tool `name` with raw `args`, as an adapter would. */
  call(name: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A Runtime over the simulated robot (connected unless told otherwise), on fake time. */
export async function rig(
  options: { connect?: boolean; sim?: Parameters<typeof keepAliveSimOpener>[0] } = {},
): Promise<ToolRig> {
  const clock = fakeClock();
  const robot = keepAliveSimOpener(options.sim ?? {}, "tools");
  const runtime = new Runtime(testSettings(), robot.open, robotMetrics());
  const settle = <T>(p: Promise<T>) => settleWith(clock, p, 120_000);
  if (options.connect ?? true) {
    await settle(runtime.connection.connect());
    await settle(runtime.rvr.ready());
  }
  return {
    clock,
    robot,
    runtime,
    settle,
    call(name, args = {}) {
      const t = TOOLS.get(name);
      assert.ok(t, `${name} is a tool of the catalog`);
      return settle(callTool(t, runtime, args, context()));
    },
    async close() {
      try {
        runtime.moves.dispose();
        runtime.streams.dispose();
        await settle(runtime.close("sigterm"));
        if (robot.wires.length > 0) await settle(robot.sim.stop());
      } finally {
        clock.uninstall();
      }
    },
  };
}

export function context(): ToolContext {
  return {
    correlationId: "tools-test",
    signal: new AbortController().signal,
    notify: () => {},
  };
}
