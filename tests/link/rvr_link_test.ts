import assert from "node:assert/strict";
import {
  LinkClosedError,
  ResponseTimeoutError,
  RobotError,
  UndecodableReplyError,
} from "../../src/link/errors.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { LINK_DROP_REASONS, RvrLink } from "../../src/link/rvr_link.ts";
import {
  buildNotification,
  commandByName,
  decodeRequest,
  encodePacket,
  ERROR_CODES,
  type NotificationName,
  type Packet,
  type RequestName,
} from "../../src/protocol/mod.ts";
import { fromHex, linkWithDevice, loadVectors, toHex } from "./_device.ts";
import { fakeClock, settle } from "../_helpers/mod.ts";

const vectors = loadVectors();

/** Strings as the link decodes them: a trailing NUL is dropped (the Node SDK's rule, section 5). */
function expectedValues(result: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(result).map(([k, v]) => [k, typeof v === "string" ? v.replace(/\0+$/, "") : v]),
  );
}

function nodeOf(n: number | null | undefined): 1 | 2 {
  assert.ok(n === 1 || n === 2, `node ${n}`);
  return n;
}

Deno.test("RvrLink golden vectors", async (t) => {
  const responses = vectors.filter((v) => v.kind === "response");
  assert.ok(responses.length >= 19);
  for (const v of responses) {
    await t.step(`reply ${v.name}`, async () => {
      const name = v.params.sdk_method as RequestName;
      const def = commandByName(name);
      // Request parameters: the vector's where given, else zero values of the right type.
      const params: Record<string, unknown> = {};
      for (const f of def.request) {
        params[f.name] = v.params[f.name] ?? (f.max !== undefined ? [] : 0);
      }
      const target = def.node === "any" ? nodeOf(v.params.target as number) : undefined;
      const { link, device } = linkWithDevice({ firstSeq: v.params.seq as number });
      const reply = link.request(name, params as never, { target });
      const req = await device.nextRequest();
      assert.equal(req.seq, v.frame.seq);
      assert.equal(req.did, v.frame.did);
      assert.equal(req.cid, v.frame.cid);
      assert.equal(req.target, v.frame.source, "the reply comes from the node the request went to");
      await device.send(fromHex(v.bytes_hex));
      if (v.frame.err) {
        const error = await reply.then(() => assert.fail("expected RobotError"), (e) => e);
        assert.ok(error instanceof RobotError);
        assert.equal(error.code, v.frame.err);
        assert.equal(error.codeName, "bad_data_value");
        assert.equal(error.command, name);
        assert.match(error.message, /get_battery_percentage failed on node 1.*0x07 bad_data_value/);
        assert.deepEqual(link.stats.errors, { bad_data_value: 1 });
      } else if (name === "get_core_up_time_in_milliseconds") {
        // The Python SDK cannot decode u64 (section 13); the link can.
        assert.deepEqual(await reply, { up_time: 123456789n });
      } else {
        const result = (v.decoded as { result: Record<string, unknown> }).result;
        assert.deepEqual(await reply, expectedValues(result));
      }
      assert.equal(link.stats.replies, 1);
      assert.equal(link.pendingCount, 0);
      await link.close();
    });
  }

  const requests = vectors.filter((v) =>
    v.kind === "request" && typeof v.params.sdk_method === "string" &&
    !v.params.request_error_responses_only && !v.name.startsWith("stream_setup")
  );
  await t.step(`request bytes of ${requests.length} SDK request vectors`, async () => {
    let checked = 0;
    for (const v of requests) {
      const def = commandByName(v.params.sdk_method as string);
      const name = def.name as RequestName;
      const params = decodeRequest(name, fromHex(v.frame.payload_hex));
      const { link, device } = linkWithDevice({ firstSeq: v.frame.seq });
      const pending = link.request(name, params as never, {
        target: nodeOf(v.frame.target),
        requestsResponse: (v.frame.flags & 0x02) !== 0,
      }).catch((e) => e);
      await device.nextRequest();
      assert.equal(toHex(device.chunks[0]), v.bytes_hex, v.name);
      await link.close();
      const outcome = await pending;
      assert.ok(outcome === undefined || outcome instanceof LinkClosedError, v.name);
      checked++;
    }
    assert.equal(checked, requests.length);
    assert.ok(checked >= 70, `checked ${checked}`);
  });

  const notifications = vectors.filter((v) => v.kind === "notification");
  for (const v of notifications) {
    await t.step(`notification ${v.name}`, async () => {
      const def = commandByName(
        v.name.startsWith("stream_")
          ? "streaming_service_data_notify"
          : (v.params.sdk_registration as string).replace(/^on_/, ""),
      );
      const { link, device } = linkWithDevice();
      const seen: { values: unknown; node: number }[] = [];
      link.on(
        def.name as NotificationName,
        (values, meta) => seen.push({ values, node: meta.node }),
      );
      await device.send(fromHex(v.bytes_hex));
      await settle();
      assert.equal(seen.length, 1);
      assert.equal(seen[0].node, v.params.source_node);
      if (def.name === "streaming_service_data_notify") {
        const payload = fromHex(v.frame.payload_hex);
        assert.deepEqual(seen[0].values, {
          token: payload[0],
          sensor_data: [...payload.subarray(1)],
        });
      } else {
        const args = (v.decoded as { args: Record<string, unknown> | null }).args;
        assert.deepEqual(seen[0].values, args ?? {});
      }
      assert.equal(link.stats.notifications, 1);
      await link.close();
    });
  }
});

Deno.test("RvrLink sequence numbers", async (t) => {
  await t.step("one counter for both nodes, +1 per request, fire-and-forget included", async () => {
    const { link, device } = linkWithDevice();
    await link.request("wake", {});
    const echo = link.request("echo", { data: [1] }, { target: 2 });
    await link.sendImmediate("drive_stop", {});
    const seqs = [];
    for (let i = 0; i < 3; i++) seqs.push((await device.nextRequest()).seq);
    assert.deepEqual(seqs, [0, 1, 2]);
    await device.reply(device.received[1], 0, new Uint8Array([1]));
    assert.deepEqual(await echo, { data: [1] });
    await link.close();
  });

  await t.step("numbers still in flight are skipped, across the 255 -> 0 wrap", async () => {
    const { link, device } = linkWithDevice({ firstSeq: 254 });
    const r254 = link.request("get_battery_percentage", {}, { timeoutMs: 60_000 });
    const r255 = link.request("get_battery_percentage", {}, { timeoutMs: 60_000 });
    const r0 = link.request("get_battery_percentage", {}, { timeoutMs: 60_000 });
    const sent = [
      await device.nextRequest(),
      await device.nextRequest(),
      await device.nextRequest(),
    ];
    assert.deepEqual(sent.map((p) => p.seq), [254, 255, 0]);
    await device.reply(sent[1], 0, new Uint8Array([55]));
    assert.deepEqual(await r255, { percentage: 55 });
    // 1..253 go out fire-and-forget; then the counter is back at 254 (pending: skipped).
    for (let i = 1; i <= 253; i++) await link.sendImmediate("wake", {});
    const a = link.request("get_battery_percentage", {}, { timeoutMs: 60_000 });
    const b = link.request("get_battery_percentage", {}, { timeoutMs: 60_000 });
    const seqs: number[] = [];
    for (let i = 0; i < 253; i++) seqs.push((await device.nextRequest()).seq);
    assert.deepEqual(seqs, Array.from({ length: 253 }, (_, i) => i + 1));
    const pa = await device.nextRequest();
    const pb = await device.nextRequest();
    assert.equal(pa.seq, 255, "254 is pending, 255 is free again");
    assert.equal(pb.seq, 1, "0 is pending, 1 is free");
    assert.equal(link.pendingCount, 4);
    for (
      const [p, r, v] of [[pa, a, 1], [pb, b, 2], [sent[0], r254, 3], [sent[2], r0, 4]] as const
    ) {
      await device.reply(p, 0, new Uint8Array([v]));
      assert.deepEqual(await r, { percentage: v });
    }
    assert.equal(link.pendingCount, 0);
    await link.close();
  });

  await t.step(
    "never two pending with one number: the 257th concurrent request fails",
    async () => {
      const { link } = linkWithDevice();
      const pending = Array.from(
        { length: 256 },
        () => link.request("get_battery_percentage", {}, { timeoutMs: 60_000 }).catch((e) => e),
      );
      await assert.rejects(
        link.request("get_battery_percentage", {}),
        /all 256 sequence numbers are waiting for replies/,
      );
      await link.close();
      for (const p of pending) assert.ok((await p) instanceof LinkClosedError);
    },
  );
});

Deno.test("RvrLink reply matching", async (t) => {
  await t.step("a reply must match SEQ, DID and CID; others count as unmatched", async () => {
    const { link, device } = linkWithDevice({ firstSeq: 5 });
    const battery = link.request("get_battery_percentage", {}, { timeoutMs: 60_000 });
    const req = await device.nextRequest();
    // Same seq, other CID (get_battery_voltage_state): not ours.
    await device.reply({ ...req, cid: 0x17 }, 0, new Uint8Array([1]));
    // Same seq, other DID.
    await device.reply({ ...req, did: 0x11 }, 0, new Uint8Array([1]));
    // Right command, seq nobody waits for.
    await device.reply({ ...req, seq: 6 }, 0, new Uint8Array([1]));
    await settle();
    assert.equal(link.pendingCount, 1);
    assert.equal(link.stats.dropped.unmatched, 3);
    await device.reply(req, 0, new Uint8Array([77]));
    assert.deepEqual(await battery, { percentage: 77 });
    // A duplicate of the delivered reply is unmatched too.
    await device.reply(req, 0, new Uint8Array([78]));
    await settle();
    assert.equal(link.stats.dropped.unmatched, 4);
    assert.equal(link.stats.replies, 1);
    await link.close();
  });

  await t.step(
    "the reply's SID is only a hint: a reply from the other node still matches",
    async () => {
      const { link, device } = linkWithDevice();
      const battery = link.request("get_battery_percentage", {});
      const req = await device.nextRequest();
      await device.reply({ ...req, target: 2 }, 0, new Uint8Array([12]));
      assert.deepEqual(await battery, { percentage: 12 });
      await link.close();
    },
  );

  await t.step("replies interleaved out of order reach their own requests", async () => {
    const { link, device } = linkWithDevice();
    const a = link.request("echo", { data: [0xa] }, { target: 1 });
    const b = link.request("echo", { data: [0xb] }, { target: 2 });
    const c = link.request("get_encoder_counts", {});
    const [pa, pb, pc] = [
      await device.nextRequest(),
      await device.nextRequest(),
      await device.nextRequest(),
    ];
    await device.reply(pc, 0, fromHex("00000001fffffffe"));
    await device.reply(pb, 0, pb.payload);
    await device.reply(pa, 0, pa.payload);
    assert.deepEqual(await a, { data: [0xa] });
    assert.deepEqual(await b, { data: [0xb] });
    assert.deepEqual(await c, { encoder_counts: [1, -2] });
    await link.close();
  });

  await t.step("every ERR code rejects with RobotError naming it", async () => {
    const { link, device } = linkWithDevice();
    const codes = [...ERROR_CODES.filter((e) => e.code !== 0).map((e) => e.code), 0x42];
    for (const code of codes) {
      const r = link.request("get_battery_percentage", {});
      await device.reply(await device.nextRequest(), code);
      const error = await r.then(() => assert.fail("resolved"), (e) => e);
      assert.ok(error instanceof RobotError);
      assert.equal(error.code, code);
      const name = ERROR_CODES.find((e) => e.code === code)?.name ?? "unknown_0x42";
      assert.equal(error.codeName, name);
      assert.equal(error.target, 1);
      assert.ok(error.message.includes(name), error.message);
    }
    assert.equal(link.stats.errors.bad_data_value, 1);
    assert.equal(link.stats.errors.unknown_0x42, 1);
    assert.equal(Object.values(link.stats.errors).reduce((s, n) => s + n, 0), codes.length);
    await link.close();
  });

  await t.step(
    "an undecodable reply rejects with UndecodableReplyError and is counted",
    async () => {
      const { link, device } = linkWithDevice();
      const r = link.request("get_battery_percentage", {});
      await device.reply(await device.nextRequest(), 0, new Uint8Array([1, 2]));
      const error = await r.then(() => assert.fail("resolved"), (e) => e);
      assert.ok(error instanceof UndecodableReplyError);
      assert.equal(error.payloadHex, "01 02");
      assert.match(error.message, /get_battery_percentage.*01 02/);
      assert.equal(link.stats.dropped.undecodable, 1);
      // The link keeps working.
      const again = link.request("get_battery_percentage", {});
      await device.reply(await device.nextRequest(), 0, new Uint8Array([3]));
      assert.deepEqual(await again, { percentage: 3 });
      await link.close();
    },
  );

  await t.step("noise and corrupt frames between replies are counted and skipped", async () => {
    const { link, device } = linkWithDevice();
    const first = link.request("get_battery_percentage", {});
    const req1 = await device.nextRequest();
    const good1 = encodePacket({
      flags: 0x39,
      target: 0x21,
      source: 1,
      did: req1.did,
      cid: req1.cid,
      seq: req1.seq,
      err: 0,
      payload: new Uint8Array([50]),
    });
    const corrupt = good1.slice();
    corrupt[corrupt.length - 2] ^= 0x01; // checksum off by one bit
    await device.send(new Uint8Array([0x00, 0x11, 0x22])); // line noise
    await device.send(corrupt); // bad checksum, same seq: must not resolve the request
    await device.send(new Uint8Array([0x8d, 0x39, 0xab, 0x01, 0xd8])); // bad escape
    await device.send(new Uint8Array([0x8d, 0x39, 0x21])); // cut short by the next SOP
    await device.send(good1.subarray(0, 4)); // the good frame split across chunks
    await device.send(good1.subarray(4));
    assert.deepEqual(await first, { percentage: 50 });
    const second = link.request("get_battery_percentage", {});
    const req2 = await device.nextRequest();
    await device.send(new Uint8Array([0xff, 0xfe]));
    await device.reply(req2, 0, new Uint8Array([51]));
    assert.deepEqual(await second, { percentage: 51 });
    const { dropped, framesIn, replies } = link.stats;
    assert.equal(dropped.noise, 2);
    assert.equal(dropped.bad_checksum, 1);
    assert.equal(dropped.bad_escape, 1);
    assert.equal(dropped.early_start, 1);
    assert.equal(framesIn, 2);
    assert.equal(replies, 2);
    assert.deepEqual(Object.keys(dropped).sort(), [...LINK_DROP_REASONS].sort());
    await link.close();
  });
});

Deno.test("RvrLink timeouts and abort", async (t) => {
  await t.step("no reply within timeoutMs rejects with ResponseTimeoutError", async () => {
    using clock = fakeClock({ toFake: ["setTimeout", "clearTimeout"] });
    const { link, device } = linkWithDevice({ firstSeq: 9 });
    const r = link.request("echo", { data: [] }, { target: 2, timeoutMs: 500 });
    const state: { outcome: unknown } = { outcome: "pending" };
    r.then((v) => (state.outcome = v), (e) => (state.outcome = e));
    const req = await device.nextRequest();
    await clock.tickAsync(499);
    const outcomeNow = (): unknown => state.outcome;
    assert.equal(outcomeNow(), "pending");
    await clock.tickAsync(1);
    const outcome = outcomeNow();
    assert.ok(outcome instanceof ResponseTimeoutError);
    assert.equal(outcome.command, "echo");
    assert.equal(outcome.timeoutMs, 500);
    assert.equal(outcome.target, 2);
    assert.equal(outcome.seq, 9);
    assert.match(outcome.message, /No reply to echo from node 2 \(st\) within 500 ms/);
    assert.equal(link.stats.timeouts, 1);
    assert.equal(link.pendingCount, 0);
    // The late reply is dropped, not delivered to anything.
    await device.reply(req, 0, new Uint8Array(0));
    await settle();
    assert.equal(link.stats.dropped.unmatched, 1);
    await link.close();
    assert.equal(clock.countTimers(), 0, "no timer left behind");
  });

  await t.step("the link's defaultTimeoutMs applies when the request gives none", async () => {
    using clock = fakeClock({ toFake: ["setTimeout", "clearTimeout"] });
    const { link } = linkWithDevice({ defaultTimeoutMs: 250 });
    const r = link.request("get_battery_percentage", {}).catch((e) => e);
    await clock.tickAsync(250);
    const error = await r;
    assert.ok(error instanceof ResponseTimeoutError);
    assert.equal(error.timeoutMs, 250);
    await link.close();
  });

  await t.step("a reply in time clears the timer", async () => {
    using clock = fakeClock({ toFake: ["setTimeout", "clearTimeout"] });
    const { link, device } = linkWithDevice();
    const r = link.request("get_battery_percentage", {});
    assert.equal(clock.countTimers(), 1);
    await device.reply(await device.nextRequest(), 0, new Uint8Array([9]));
    assert.deepEqual(await r, { percentage: 9 });
    assert.equal(clock.countTimers(), 0);
    await link.close();
  });

  await t.step("aborting rejects with the signal's reason and frees the number", async () => {
    const { link, device } = linkWithDevice();
    const controller = new AbortController();
    const r = link.request("get_battery_percentage", {}, { signal: controller.signal });
    const req = await device.nextRequest();
    const reason = new Error("user cancelled");
    controller.abort(reason);
    await assert.rejects(r, (e) => e === reason);
    assert.equal(link.pendingCount, 0);
    assert.equal(link.stats.aborted, 1);
    await device.reply(req, 0, new Uint8Array([1]));
    await settle();
    assert.equal(link.stats.dropped.unmatched, 1);
    await link.close();
  });

  await t.step("an already aborted signal rejects before anything is written", async () => {
    const { link, device } = linkWithDevice();
    const reason = new DOMException("gone", "AbortError");
    await assert.rejects(
      link.request("get_battery_percentage", {}, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    await assert.rejects(
      link.request("wake", {}, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    await settle();
    assert.equal(device.received.length, 0);
    assert.equal(link.stats.requests, 0);
    await link.close();
  });

  await t.step("a request that completes removes its abort listener", async () => {
    const { link, device } = linkWithDevice();
    const controller = new AbortController();
    const r = link.request("get_battery_percentage", {}, { signal: controller.signal });
    await device.reply(await device.nextRequest(), 0, new Uint8Array([4]));
    assert.deepEqual(await r, { percentage: 4 });
    controller.abort(new Error("late"));
    assert.equal(link.stats.aborted, 0);
    await link.close();
  });
});

Deno.test("RvrLink close and hangup", async (t) => {
  await t.step("close rejects every pending request with LinkClosedError", async () => {
    const { link, host, device } = linkWithDevice();
    const closes: unknown[] = [];
    link.onClose((e) => closes.push(e));
    const pending = [
      link.request("get_battery_percentage", {}),
      link.request("echo", { data: [1] }, { target: 2 }),
      link.request("get_encoder_counts", {}),
    ].map((p) => p.catch((e) => e));
    await link.close();
    for (const p of pending) {
      const e = await p;
      assert.ok(e instanceof LinkClosedError);
      assert.equal(e.path, "memory:test/host");
    }
    assert.equal(link.pendingCount, 0);
    assert.deepEqual(closes, [undefined]);
    assert.equal(host.isOpen, false);
    await settle();
    assert.equal(device.closed, true);
    await link.close(); // idempotent
    assert.equal(closes.length, 1);
    await assert.rejects(link.request("wake", {}), LinkClosedError);
    await assert.rejects(link.sendImmediate("drive_stop", {}), LinkClosedError);
    const late: unknown[] = [];
    link.onClose((e) => late.push(e));
    assert.deepEqual(late, [undefined], "a listener added after close is called at once");
  });

  await t.step(
    "the port closing on its own rejects pending requests and tells listeners",
    async () => {
      const { link, device } = linkWithDevice();
      const closes: unknown[] = [];
      link.onClose((e) => closes.push(e));
      const r = link.request("get_battery_percentage", {}).catch((e) => e);
      await device.nextRequest();
      await device.port.close(); // the robot end goes away
      const e = await r;
      assert.ok(e instanceof LinkClosedError);
      assert.match(e.message, /closed \(the port closed on its own; the other side hung up\)/);
      assert.equal(closes.length, 1);
      assert.ok(closes[0] instanceof LinkClosedError);
      assert.equal(link.isOpen, false);
      await assert.rejects(link.request("wake", {}), (err) => err === closes[0]);
      await link.close();
    },
  );

  await t.step("a close listener that throws is counted; the others still run", async () => {
    const { link } = linkWithDevice();
    const calls: string[] = [];
    link.onClose(() => {
      throw new Error("boom");
    });
    const off = link.onClose(() => calls.push("removed"));
    link.onClose(() => calls.push("ok"));
    off();
    await link.close();
    assert.deepEqual(calls, ["ok"]);
    assert.equal(link.stats.dropped.handler_error, 1);
  });
});

Deno.test("RvrLink notifications", async (t) => {
  function notify(
    name: NotificationName,
    values: Record<string, unknown>,
    node: 1 | 2,
  ): Uint8Array {
    return encodePacket(buildNotification(name, values as never, node));
  }

  await t.step("routed by (DID, CID, node); a node filter and unsubscribe work", async () => {
    const { link, device } = linkWithDevice();
    const all: [number, number][] = [];
    const st: number[] = [];
    const stop = link.on("streaming_service_data_notify", (v, m) => all.push([m.node, v.token]));
    link.on("streaming_service_data_notify", (v) => st.push(v.token), { node: 2 });
    const stalls: unknown[] = [];
    link.on("motor_stall_notify", (v) => stalls.push(v));
    await device.send(notify("streaming_service_data_notify", { token: 1, sensor_data: [1] }, 1));
    await device.send(notify("streaming_service_data_notify", { token: 2, sensor_data: [] }, 2));
    await device.send(notify("motor_stall_notify", { motor_index: 0, is_triggered: true }, 2));
    await settle();
    assert.deepEqual(all, [[1, 1], [2, 2]]);
    assert.deepEqual(st, [2]);
    assert.deepEqual(stalls, [{ motor_index: 0, is_triggered: true }]);
    stop();
    await device.send(notify("streaming_service_data_notify", { token: 3, sensor_data: [] }, 2));
    await settle();
    assert.deepEqual(all.length, 2);
    assert.deepEqual(st, [2, 3]);
    assert.equal(link.stats.notifications, 4);
    await link.close();
  });

  await t.step("a notification without SID goes to its command's node", async () => {
    const { link, device } = linkWithDevice();
    const nodes: number[] = [];
    link.on("robot_has_stopped_notify", (_v, m) => nodes.push(m.node));
    const packet: Packet = {
      flags: 0x18,
      target: 0x21,
      did: 0x16,
      cid: 0x3f,
      seq: 0xff,
      payload: new Uint8Array(0),
    };
    await device.send(encodePacket(packet));
    await settle();
    assert.deepEqual(nodes, [2]);
    await link.close();
  });

  await t.step("a handler that throws is logged and counted; the link goes on", async () => {
    const { link, device } = linkWithDevice();
    const seen: number[] = [];
    link.on("gyro_max_notify", () => {
      throw new Error("handler bug");
    });
    link.on("gyro_max_notify", (v) => seen.push(v.flags));
    await device.send(notify("gyro_max_notify", { flags: 5 }, 2));
    await device.send(notify("gyro_max_notify", { flags: 6 }, 2));
    const r = link.request("get_battery_percentage", {});
    await device.reply(await device.nextRequest(), 0, new Uint8Array([1]));
    assert.deepEqual(await r, { percentage: 1 });
    assert.deepEqual(seen, [5, 6]);
    assert.equal(link.stats.dropped.handler_error, 2);
    await link.close();
  });

  await t.step("unknown and undecodable notifications are counted, not delivered", async () => {
    const { link, device } = linkWithDevice();
    const seen: unknown[] = [];
    link.on("gyro_max_notify", (v) => seen.push(v));
    const base = { flags: 0x38, target: 0x21, source: 2, seq: 0xff };
    // A DID/CID section 8 does not have.
    await device.send(encodePacket({ ...base, did: 0x77, cid: 0x01, payload: new Uint8Array(0) }));
    // A command (not a notification) sent by the robot.
    await device.send(encodePacket({ ...base, did: 0x13, cid: 0x10, payload: new Uint8Array(0) }));
    // gyro_max with two payload bytes instead of one.
    await device.send(encodePacket({ ...base, did: 0x18, cid: 0x10, payload: new Uint8Array(2) }));
    // gyro_max from node 5.
    await device.send(
      encodePacket({ ...base, source: 5, did: 0x18, cid: 0x10, payload: new Uint8Array(1) }),
    );
    await settle();
    assert.deepEqual(seen, []);
    assert.equal(link.stats.dropped.unknown_notification, 3);
    assert.equal(link.stats.dropped.undecodable, 1);
    assert.equal(link.stats.notifications, 0);
    await link.close();
  });

  await t.step("on() refuses commands and bad node filters", async () => {
    const { link } = linkWithDevice();
    assert.throws(
      () => link.on("echo" as NotificationName, () => {}),
      /is a command, not a notification/,
    );
    assert.throws(() => link.on("gyro_max_notify", () => {}, { node: 3 as 1 }), RangeError);
    assert.throws(
      () => link.on("no_such" as NotificationName, () => {}),
      /Unknown RVR command "no_such"/,
    );
    await link.close();
  });
});

Deno.test("RvrLink requests", async (t) => {
  await t.step(
    "fire-and-forget resolves once written; requestsResponse:true awaits the ack",
    async () => {
      const { link, device } = linkWithDevice();
      assert.equal(await link.request("wake", {}), undefined);
      const wake = await device.nextRequest();
      assert.equal(wake.flags & 0x02, 0, "no reply requested");
      const acked = link.request("wake", {}, { requestsResponse: true });
      const req = await device.nextRequest();
      assert.equal(req.flags & 0x02, 0x02);
      await device.reply(req);
      assert.deepEqual(await acked, {});
      // A command with outputs can be sent without asking for them.
      assert.equal(
        await link.request("get_battery_percentage", {}, { requestsResponse: false }),
        undefined,
      );
      assert.equal((await device.nextRequest()).flags & 0x02, 0);
      assert.equal(link.pendingCount, 0);
      await link.close();
    },
  );

  await t.step("sendImmediate hands the packet to the port before it returns", async () => {
    const { link, host, device } = linkWithDevice();
    const slow = link.request("get_battery_percentage", {});
    const before = host.bytesWritten;
    const sent = link.sendImmediate("drive_stop", {});
    assert.ok(host.bytesWritten > before, "written synchronously");
    await sent;
    await device.nextRequest();
    const stop = await device.nextRequest();
    assert.equal(stop.did, 0x16);
    assert.equal(stop.cid, commandByName("drive_stop").cid);
    assert.equal(stop.flags & 0x02, 0);
    assert.equal(link.stats.requests, 2);
    await link.close();
    await assert.rejects(slow, LinkClosedError);
  });

  await t.step("stats count bytes and frames both ways", async () => {
    const { link, host, device } = linkWithDevice();
    const r = link.request("get_battery_percentage", {});
    const req = await device.nextRequest();
    await device.reply(req, 0, new Uint8Array([80]));
    await r;
    const s = link.stats;
    assert.equal(s.bytesOut, host.bytesWritten);
    assert.equal(s.bytesIn, device.port.bytesWritten);
    assert.equal(s.framesOut, 1);
    assert.equal(s.framesIn, 1);
    assert.equal(s.requests, 1);
    assert.equal(s.replies, 1);
    assert.equal(s.pending, 0);
    await link.close();
  });

  await t.step("bad arguments fail with clear errors and send nothing", async () => {
    const { link, device } = linkWithDevice();
    await assert.rejects(
      link.request("echo", { data: [] }),
      /runs on either processor; pass \{ target: 1 \}/,
    );
    await assert.rejects(link.request("wake", {}, { target: 3 as 1 }), RangeError);
    await assert.rejects(
      link.request("wake", {}, { timeoutMs: -1 }),
      /timeoutMs for wake must be a positive/,
    );
    await assert.rejects(link.request("wake", {}, { timeoutMs: NaN }), RangeError);
    await assert.rejects(
      link.request("get_battery_voltage_in_volts", { reading_type: 300 }),
      RangeError,
    );
    await assert.rejects(
      link.request("no_such" as RequestName, {} as never),
      /Unknown RVR command/,
    );
    await assert.rejects(
      link.request("will_sleep_notify" as RequestName, {} as never),
      /notification the robot sends/,
    );
    await settle();
    assert.equal(device.received.length, 0);
    assert.throws(() => new RvrLink(device.port, { defaultTimeoutMs: 0 }), RangeError);
    assert.throws(() => new RvrLink(device.port, { firstSeq: 256 }), RangeError);
    await link.close();
  });

  await t.step("a request before start() is refused; start twice throws", async () => {
    const [host, devicePort] = MemoryPort.pair();
    const link = new RvrLink(host);
    await assert.rejects(link.request("wake", {}), /was not started; call link.start\(\)/);
    link.start();
    assert.throws(() => link.start(), /already started/);
    await link.close();
    await devicePort.close();
  });

  await t.step("a write failure rejects the request with the port's error", async () => {
    const [host, devicePort] = MemoryPort.pair();
    const failing = {
      path: "broken",
      isOpen: true,
      start: (h: Parameters<typeof host.start>[0]) => host.start(h),
      write: () => Promise.reject(new Error("EIO")),
      close: () => host.close(),
    };
    const link = new RvrLink(failing);
    link.start();
    await assert.rejects(
      link.request("get_battery_percentage", {}),
      /Writing get_battery_percentage to broken failed: EIO/,
    );
    await assert.rejects(link.request("wake", {}), /Writing wake to broken failed: EIO/);
    assert.equal(link.pendingCount, 0);
    // A write that fails because the port just died is a closed link, with the port's reason.
    failing.isOpen = false;
    const e = await link.request("get_battery_percentage", {}).then(
      () => assert.fail("resolved"),
      (err) => err,
    );
    assert.ok(e instanceof LinkClosedError, String(e));
    assert.match(e.message, /The link to broken closed \(EIO\)/);
    await link.close();
    await devicePort.close();
  });
});
