/**
 * The connection manager against the real simulator over MemoryPort: connect, wake latency,
 * silent robot, heartbeat loss and reconnect, hangup, background auto-connect, disconnect.
 * Time is driven by fake timers: nothing here waits on the wall clock.
 */
import assert from "node:assert/strict";
import { MemoryPort, type RvrLink } from "../../src/link/mod.ts";
import {
  Connection,
  type ConnectionOptions,
  HEARTBEAT_MISSES,
  type OpenedPort,
  type PortSpec,
} from "../../src/robot/connection.ts";
import {
  NotConnectedError,
  robotMetrics,
  RobotNotRespondingError,
  type StateChange,
  StateStore,
} from "../../src/robot/mod.ts";
import { type FaultSettings, SimulatedRvr } from "../../src/sim/mod.ts";
import { settleWith, withClock } from "../_helpers/mod.ts";

/** Opens a MemoryPort pair with a fresh simulated robot behind it, as the built-in simulator does. */
class SimFactory {
  readonly sims: SimulatedRvr[] = [];
  readonly devices: MemoryPort[] = [];
  /** Start the next robot(s) asleep, as a robot idle before the host connects. */
  asleep = false;
  readonly specs: PortSpec[] = [];
  /** Faults for the next robot(s) created. */
  faults: Partial<FaultSettings> = {};
  /** Number of upcoming opens that fail like a missing device. */
  failOpens = 0;

  open = (spec: PortSpec): Promise<OpenedPort> => {
    this.specs.push(spec);
    if (this.failOpens > 0) {
      this.failOpens--;
      return Promise.reject(new Error(`Serial port ${spec.path} does not exist.`));
    }
    const [host, device] = MemoryPort.pair(`sim${this.sims.length}`);
    const sim = new SimulatedRvr(device, {
      faults: this.faults,
      inactivityTimeoutMs: 0,
      asleep: this.asleep,
    });
    sim.start();
    this.sims.push(sim);
    this.devices.push(device);
    return Promise.resolve({
      port: host,
      simulated: true,
      close: async () => {
        await sim.stop();
        await device.close();
      },
    });
  };

  get last(): SimulatedRvr {
    return this.sims[this.sims.length - 1];
  }

  async stopAll(): Promise<void> {
    for (const s of this.sims) await s.stop();
  }
}

function setup(overrides: Partial<ConnectionOptions> = {}) {
  const factory = new SimFactory();
  const state = new StateStore();
  const statuses: string[] = [];
  state.addListener((c: StateChange) => {
    if (c.aspect === "connection") statuses.push(c.next.status);
  });
  const metrics = robotMetrics();
  const connection = new Connection({
    openPort: factory.open,
    spec: { path: "sim", baudRate: 115200 },
    state,
    metrics,
    wakeTimeoutMs: 2000,
    heartbeatMs: 1000,
    requestTimeoutMs: 200,
    ...overrides,
  });
  return { factory, state, statuses, metrics, connection };
}

Deno.test("connect wakes the robot and proves both processors answer", async () => {
  await withClock(async (clock) => {
    const { connection, statuses, state, factory, metrics } = setup();
    const result = await settleWith(clock, connection.connect());
    assert.equal(result.simulated, true);
    assert.equal(result.attempts, 1);
    assert.deepEqual(statuses, ["connecting", "connected"]);
    assert.equal(state.power.status, "awake");
    const reply = await settleWith(
      clock,
      connection.current().request("echo", { data: [7] }, { target: 2 }),
    );
    assert.deepEqual(reply.data, [7]);
    // wake asked for a reply, then one echo per processor
    assert.ok(factory.last.stats.repliesSent >= 3);
    assert.match(await metrics.text(), /rvr_connection_attempts_total\{result="ok"\} 1/);
    await settleWith(clock, connection.close());
    assert.equal(connection.status, "disconnected");
    await factory.stopAll();
  });
});

Deno.test("connect waits for a slow wake instead of sleeping a fixed time", async () => {
  await withClock(async (clock) => {
    const { connection, factory } = setup();
    factory.asleep = true;
    factory.faults = { wakeLatencyMs: 700 };
    const started = Date.now();
    const result = await settleWith(clock, connection.connect());
    const waited = Date.now() - started;
    assert.ok(waited >= 700 && waited < 1500, `ready after ${waited} ms of fake time`);
    assert.ok(result.wakeMs >= 700);
    await settleWith(clock, connection.close());
    await factory.stopAll();
  });
});

Deno.test("a silent robot fails connect after the wake timeout with what to check", async () => {
  await withClock(async (clock) => {
    const { connection, factory, statuses } = setup({ wakeTimeoutMs: 1500 });
    factory.faults = { silentAfterPackets: 0 };
    const error = await settleWith(clock, connection.connect()).then(
      () => assert.fail("connect should fail"),
      (e) => e,
    );
    assert.ok(error instanceof RobotNotRespondingError, String(error));
    assert.match(error.message, /No answer from an RVR on memory:sim0\/host within 1500 ms/);
    assert.match(error.message, /Sphero EDU app/);
    assert.deepEqual(statuses, ["connecting", "error"]);
    assert.throws(() => connection.current(), NotConnectedError);
    assert.equal(factory.last.stats.packetsOut, 0);
    await settleWith(clock, connection.close());
    await factory.stopAll();
  });
});

Deno.test("heartbeat: a robot that falls silent is stopped, dropped and found again", async () => {
  await withClock(async (clock) => {
    const { connection, factory, statuses, metrics } = setup();
    const closing: string[] = [];
    const lost: string[] = [];
    connection.onClosing((link: RvrLink, reason) => {
      closing.push(reason);
      assert.equal(link.isOpen, true, "closing hooks run before the link closes");
    });
    connection.onDisconnected((reason) => lost.push(reason));
    const connected: RvrLink[] = [];
    connection.onConnected((link) => connected.push(link));
    await settleWith(clock, connection.connect());
    const first = factory.last;
    // Three heartbeats pass while it answers.
    await clock.tickAsync(3500);
    assert.equal(connection.status, "connected");
    // The robot goes silent now.
    first.faults.silentAfterPackets = first.stats.packetsIn;
    for (let i = 0; i < 400 && connected.length < 2; i++) await clock.tickAsync(10);
    assert.equal(closing.length, 1);
    assert.match(closing[0], new RegExp(`${HEARTBEAT_MISSES} heartbeat echoes unanswered`));
    assert.deepEqual(lost, closing);
    assert.deepEqual(statuses, ["connecting", "connected", "reconnecting", "connected"]);
    assert.equal(connected.length, 2);
    assert.notEqual(connected[0], connected[1]);
    assert.equal(connected[0].isOpen, false);
    const text = await metrics.text();
    assert.match(text, /rvr_connection_reconnects_total 1/);
    assert.match(text, new RegExp(`rvr_heartbeat_failures_total ${HEARTBEAT_MISSES}`));
    await settleWith(clock, connection.close());
    await factory.stopAll();
  });
});

Deno.test("a link that hangs up is treated as lost and reconnected", async () => {
  await withClock(async (clock) => {
    const { connection, factory, statuses } = setup();
    await settleWith(clock, connection.connect());
    const first = connection.current();
    const next = new Promise<RvrLink>((resolve) => {
      const off = connection.onConnected((link) => {
        off();
        resolve(link);
      });
    });
    // The device end goes away, like a tty whose other end was unplugged.
    await factory.devices[0].close();
    const second = await settleWith(clock, next);
    assert.notEqual(second, first);
    assert.equal(first.isOpen, false);
    assert.deepEqual(statuses, ["connecting", "connected", "reconnecting", "connected"]);
    await settleWith(clock, connection.close());
    await factory.stopAll();
  });
});

Deno.test("auto-connect keeps retrying in the background until the robot is there", async () => {
  await withClock(async (clock) => {
    const { connection, factory, statuses } = setup();
    factory.failOpens = 3;
    connection.startAutoConnect();
    await settleWith(clock, connection.whenConnected());
    assert.equal(factory.specs.length, 4);
    assert.deepEqual(statuses, [
      "connecting",
      "error",
      "reconnecting",
      "reconnecting",
      "reconnecting",
      "connected",
    ]);
    await settleWith(clock, connection.close());
    await factory.stopAll();
  });
});

Deno.test("disconnect runs the closing hooks, closes the link and refuses commands clearly", async () => {
  await withClock(async (clock) => {
    const { connection, factory, statuses } = setup();
    await settleWith(clock, connection.connect());
    const link = connection.current();
    let hookSawOpenLink = false;
    connection.onClosing((l) => {
      hookSawOpenLink = l === link && l.isOpen;
    });
    await settleWith(clock, connection.disconnect("user asked"));
    assert.equal(hookSawOpenLink, true);
    assert.equal(link.isOpen, false);
    assert.deepEqual(statuses, ["connecting", "connected", "disconnected"]);
    assert.throws(
      () => connection.current(),
      (e: Error) =>
        e instanceof NotConnectedError && /state: disconnected.*Call connect/.test(e.message),
    );
    await factory.stopAll();
  });
});

Deno.test("connect while connected switches ports through the allowed states", async () => {
  await withClock(async (clock) => {
    const { connection, factory, statuses } = setup();
    await settleWith(clock, connection.connect());
    await settleWith(clock, connection.connect({ path: "/dev/other" }));
    assert.deepEqual(factory.specs.map((s) => s.path), ["sim", "/dev/other"]);
    assert.deepEqual(statuses, [
      "connecting",
      "connected",
      "disconnected",
      "connecting",
      "connected",
    ]);
    assert.equal(factory.sims[0].stats.packetsIn > 0, true);
    await settleWith(clock, connection.close());
    await factory.stopAll();
  });
});
