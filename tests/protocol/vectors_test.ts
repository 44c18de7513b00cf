/**
 * The proof that src/protocol is byte-exact: every golden packet of rvr-vectors.json (produced
 * and decoded by Sphero's official Python SDK) decodes to the SDK's fields and values and
 * re-encodes to the same bytes.
 */
import assert from "node:assert/strict";
import {
  buildNotification,
  buildResponse,
  checksum,
  commandById,
  type CommandDef,
  type CommandName,
  decodeRequest,
  decodeResponse,
  decodeSlotData,
  encodeFields,
  encodePacket,
  encodeRequest,
  encodeSlotData,
  errorCodeName,
  FRAME_ERRORS,
  FrameDecoder,
  type NodeId,
  type NotificationName,
  type Packet,
  parseSlotConfiguration,
  parseTokenByte,
  type RequestName,
  type RequestOf,
  type RequestOptions,
  type ResponseOf,
  serviceByKey,
  type SlotEntry,
} from "../../src/protocol/mod.ts";
import {
  assertPackets,
  concat,
  frameToPacket,
  fromHex,
  loadVectors,
  seededRandom,
  splitAt,
  toHex,
  unescapeFrame,
  type Vector,
} from "./_helpers.ts";

const VECTORS = await loadVectors();
const byName = (name: string): Vector => {
  const v = VECTORS.find((x) => x.name === name);
  if (!v) throw new Error(`No vector named ${name} in rvr-vectors.json`);
  return v;
};

/** Request params that describe how the SDK was called rather than a payload field. */
const CALL_PARAMS = new Set(["sdk_method", "seq", "request_error_responses_only", "target"]);
const STREAM_NOTIFY = { did: 0x18, cid: 0x3d } as const;

function decodeOne(bytes: Uint8Array): Packet {
  const decoder = new FrameDecoder();
  const packets = decoder.push(bytes);
  assert.equal(packets.length, 1, `expected one frame from ${toHex(bytes)}`);
  assert.equal(decoder.inFrame, false);
  assert.equal(decoder.stats.frames, 1);
  for (const reason of FRAME_ERRORS) assert.equal(decoder.stats.errors[reason], 0, reason);
  return packets[0];
}

function commandOf(v: Vector): CommandDef {
  const def = commandById(v.frame.did, v.frame.cid);
  assert.ok(
    def,
    `${v.name}: no command for DID 0x${v.frame.did.toString(16)} CID 0x${v.frame.cid.toString(16)}`,
  );
  return def;
}

/** Asserts one decoded field against the SDK's value (f32 through Math.fround, str without NUL). */
function assertField(
  def: CommandDef,
  side: "request" | "response",
  name: string,
  actual: unknown,
  expected: unknown,
): void {
  const field = def[side].find((f) => f.name === name);
  assert.ok(field, `${def.name}: the SDK reports ${side} field "${name}" that our table lacks`);
  if (field.max !== undefined) {
    assert.deepEqual(actual, expected, `${def.name}.${name}`);
  } else if (field.type === "f32") {
    assert.equal(actual, Math.fround(expected as number), `${def.name}.${name}`);
  } else if (field.type === "str") {
    // The Python SDK keeps a trailing NUL; we stop at the first one (the Node SDK's rule).
    assert.equal(actual, (expected as string).split("\0")[0], `${def.name}.${name}`);
  } else {
    assert.equal(actual, expected, `${def.name}.${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming layouts, taken from the SDK's own configure commands (stream_setup_* vectors).

type Layouts = Map<NodeId, Map<number, SlotEntry[]>>;

function layoutsFromSetup(): Layouts {
  const layouts: Layouts = new Map([[1, new Map()], [2, new Map()]]);
  for (
    const v of VECTORS.filter((x) => x.name.startsWith("stream_setup_") && x.frame.cid === 0x39)
  ) {
    const node = v.frame.target as NodeId;
    const { token, configuration } = decodeRequest(
      "configure_streaming_service",
      fromHex(v.frame.payload_hex),
    );
    const entries = parseSlotConfiguration(configuration, node);
    if (typeof entries === "string") throw new Error(`${v.name}: ${entries}`);
    layouts.get(node)?.set(token, entries);
  }
  return layouts;
}

const describeLayout = (entries: readonly SlotEntry[] | undefined) =>
  entries?.map((e) => `${e.service.name}/${e.bytes * 8}`).join("+");

/** `{ IMU: { Pitch: 1 } }` (Sphero names) -> `{ imu: { Pitch: 1 } }` (our keys). */
function byServiceKey(values: Record<string, unknown>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, attrs] of Object.entries(values)) {
    const inner: Record<string, number> = {};
    for (const [attr, value] of Object.entries(attrs as Record<string, unknown>)) {
      if (attr !== "is_valid") inner[attr] = value as number;
    }
    out[serviceByKey(name).key] = inner;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

Deno.test("golden vectors: the file itself", () => {
  assert.equal(VECTORS.length, 117);
  assert.equal(new Set(VECTORS.map((v) => v.name)).size, 117, "vector names are unique");
  const kinds = { request: 0, response: 0, notification: 0 };
  for (const v of VECTORS) kinds[v.kind]++;
  assert.deepEqual(kinds, { request: 81, response: 19, notification: 17 });
});

Deno.test("golden vectors: every frame decodes to the SDK's frame fields", async (t) => {
  for (const v of VECTORS) {
    await t.step(v.name, () => {
      const bytes = fromHex(v.bytes_hex);
      const f = v.frame;
      const packet = decodeOne(bytes);
      assert.deepEqual(packet, frameToPacket(f));
      assert.equal(packet.flags, f.flags);
      assert.equal(packet.target ?? null, f.target);
      assert.equal(packet.source ?? null, f.source);
      assert.equal(packet.err ?? null, f.err);
      assert.equal(toHex(packet.payload), f.payload_hex);
      // The SDK's checksum is the raw last unescaped byte; it must be section 3's checksum of the rest.
      const body = unescapeFrame(bytes);
      assert.equal(toHex(body), f.unescaped_hex);
      assert.equal(body[body.length - 1], f.checksum);
      assert.equal(checksum(body, 0, body.length - 1), f.checksum);
      assert.equal(bytes.subarray(1, -1).includes(0xab), f.escaped);
      // And the generic encoder gives back the very same bytes.
      assert.equal(toHex(encodePacket(frameToPacket(f))), v.bytes_hex);
    });
  }
});

Deno.test("golden vectors: requests decode to the SDK's params and re-encode byte-exactly", async (t) => {
  const requests = VECTORS.filter((v) => v.kind === "request");
  assert.equal(requests.length, 81);
  let namedValuesChecked = 0;
  for (const v of requests) {
    await t.step(v.name, () => {
      const f = v.frame;
      const def = commandOf(v);
      assert.equal(def.kind, "command");
      const name = def.name as RequestName;
      const params = decodeRequest(name, fromHex(f.payload_hex)) as Record<string, unknown>;

      const sdkMethod = v.params.sdk_method;
      if (typeof sdkMethod === "string" && sdkMethod !== "sensor_control.start") {
        // A call of the Python SDK: method name, seq, target and error-only mode match the frame.
        assert.equal(sdkMethod, def.name);
        assert.equal(v.params.seq, f.seq);
        if (v.params.target !== undefined) assert.equal(v.params.target, f.target);
        assert.equal((f.flags & 0x04) !== 0, v.params.request_error_responses_only);
        for (const [key, expected] of Object.entries(v.params)) {
          if (CALL_PARAMS.has(key)) continue;
          // The generator recorded array arguments as [] (elided); their bytes are checked below.
          if (Array.isArray(expected) && expected.length === 0 && key in params) continue;
          assertField(def, "request", key, params[key], expected);
          namedValuesChecked++;
        }
      } else if (sdkMethod === "sensor_control.start" && def.name === "start_streaming_service") {
        assert.equal(params.period, v.params.interval);
        namedValuesChecked++;
      } else if (sdkMethod === undefined) {
        // alt_nodejs_*: the params are the frame itself.
        const { flags, target, source, did, cid, seq, payload_hex } = f;
        assert.deepEqual(v.params, { flags, target, source, did, cid, seq, payload_hex });
      }

      // Re-encode with the vector's flag semantics.
      const options: RequestOptions = {
        seq: f.seq,
        requestsResponse: (f.flags & 0x02) !== 0,
        errorOnly: (f.flags & 0x04) !== 0,
      };
      if (f.target !== null) options.target = f.target;
      if (f.source !== null) options.source = f.source;
      const encoded = encodeRequest(name, params as RequestOf<RequestName>, options);
      assert.equal(toHex(encoded), v.bytes_hex);

      // The Python SDK's calls also come out of our defaults: reply wanted iff the command has
      // outputs, target = the command's node (given explicitly only for either-node commands).
      if (typeof sdkMethod === "string" && !v.params.request_error_responses_only) {
        const defaults: RequestOptions = { seq: f.seq };
        if (def.node === "any") defaults.target = f.target ?? undefined;
        else assert.equal(f.target, def.node, `${def.name} goes to node ${def.node}`);
        assert.equal(
          toHex(encodeRequest(name, params as RequestOf<RequestName>, defaults)),
          v.bytes_hex,
        );
      }
    });
  }
  // Sanity: the loop above really compared named values (speed, heading, x, y, ...).
  assert.equal(namedValuesChecked, 81, "named values compared");
});

Deno.test("golden vectors: request payload semantics", async (t) => {
  await t.step("drive_with_heading speeds, headings, flags", () => {
    const cases = [
      ["drive_with_heading_fwd", 128, 90, 0],
      ["drive_with_heading_reverse", 64, 270, 1],
      ["drive_with_heading_stop", 0, 359, 0],
      ["drive_with_heading_escapes", 0xab, 0xd8, 0],
      ["drive_with_heading_error_only", 100, 0, 0],
    ] as const;
    for (const [name, speed, heading, flags] of cases) {
      const v = byName(name);
      assert.deepEqual(decodeRequest("drive_with_heading", fromHex(v.frame.payload_hex)), {
        speed,
        heading,
        flags,
      });
    }
    assert.equal(byName("drive_with_heading_error_only").frame.flags, 0x1e);
  });
  await t.step("f32 parameters survive as Math.fround of the SDK's value", () => {
    const v = byName("drive_to_position_normalized");
    const p = decodeRequest("drive_to_position_normalized", fromHex(v.frame.payload_hex));
    assert.deepEqual(p, {
      yaw_angle: 90,
      x: Math.fround(-0.5),
      y: Math.fround(2),
      linear_speed: 64,
      flags: 2,
    });
    const si = decodeRequest(
      "drive_rc_si_units",
      fromHex(byName("drive_rc_si_units").frame.payload_hex),
    );
    assert.equal(si.linear_velocity, Math.fround(0.25));
    assert.equal(si.yaw_angular_velocity, 30);
  });
  await t.step("set_all_leds carries one byte per mask bit (section 9.6)", () => {
    for (
      const name of [
        "set_all_leds_all_red",
        "set_all_leds_headlights",
        "set_all_leds_escape",
        "set_all_leds_undercarriage",
      ]
    ) {
      const v = byName(name);
      const p = decodeRequest("set_all_leds", fromHex(v.frame.payload_hex));
      assert.equal(p.led_group, v.params.led_group);
      const bits = p.led_group.toString(2).split("").filter((c) => c === "1").length;
      assert.equal(p.led_brightness_values.length, bits, name);
    }
    const esc = decodeRequest(
      "set_all_leds",
      fromHex(byName("set_all_leds_escape").frame.payload_hex),
    );
    assert.deepEqual(esc.led_brightness_values, [0xab, 0x8d, 0xd8]);
  });
  await t.step("echo data", () => {
    assert.deepEqual(
      decodeRequest("echo", fromHex(byName("echo_st_3bytes").frame.payload_hex)).data,
      [0, 1, 2],
    );
    assert.deepEqual(
      decodeRequest("echo", fromHex(byName("echo_escape_bytes").frame.payload_hex)).data,
      [0x8d, 0xd8, 0xab],
    );
    assert.deepEqual(
      decodeRequest("echo", fromHex(byName("echo_nordic_empty").frame.payload_hex)).data,
      [],
    );
  });
});

Deno.test("golden vectors: responses decode to the SDK's results and re-encode", async (t) => {
  const responses = VECTORS.filter((v) => v.kind === "response");
  assert.equal(responses.length, 19);
  for (const v of responses) {
    await t.step(v.name, () => {
      const bytes = fromHex(v.bytes_hex);
      const packet = decodeOne(bytes);
      const def = commandOf(v);
      assert.equal(def.kind, "command");
      assert.equal(def.name, v.params.sdk_method);
      assert.equal(packet.err, v.params.err);
      assert.equal(toHex(packet.payload), v.params.response_payload_hex);
      const decoded = v.decoded as Record<string, unknown>;

      if (packet.err !== 0) {
        // The SDK raises Exception('<code name>'): our code names are the same.
        assert.equal(decoded.sdk_exception, "Exception");
        assert.equal(errorCodeName(packet.err as number), decoded.message);
        assert.equal(packet.payload.length, 0);
      } else {
        const values = decodeResponse(def.name as CommandName, packet.payload) as Record<
          string,
          unknown
        >;
        if (decoded.sdk_exception !== undefined) {
          // The SDK cannot unpack u64 (section 13); we decode it as a bigint.
          assert.equal(def.name, "get_core_up_time_in_milliseconds");
          assert.equal(decoded.sdk_exception, "AttributeError");
          assert.deepEqual(values, { up_time: 0x075bcd15n });
          assert.equal(values.up_time, 123456789n);
        } else {
          const result = decoded.result as Record<string, unknown>;
          assert.deepEqual(Object.keys(values).sort(), Object.keys(result).sort());
          for (const [key, expected] of Object.entries(result)) {
            assertField(def, "response", key, values[key], expected);
          }
        }
        // Our values encode back to the payload (minus a string's trailing NUL, which we drop).
        const reEncoded = encodeFields(def.name, def.response, values);
        const lastIsStr = def.response.at(-1)?.type === "str";
        const expectedPayload = lastIsStr
          ? v.params.response_payload_hex as string
          : toHex(packet.payload);
        assert.equal(
          toHex(reEncoded),
          lastIsStr ? expectedPayload.replace(/(00)+$/, "") : expectedPayload,
        );
      }

      // A robot reply to the SDK's request: buildResponse reproduces it (standard header only).
      const request = decodeOne(fromHex(v.request_hex as string));
      assert.equal(request.seq, packet.seq);
      if (packet.flags === 0x39) {
        const rebuilt = buildResponse(request, packet.err as number, packet.payload);
        assert.deepEqual(rebuilt, packet);
        assert.equal(toHex(encodePacket(rebuilt)), v.bytes_hex);
      } else {
        assert.equal(
          v.name,
          "resp_minimal_header",
          "only the minimal-header vector is non-standard",
        );
        assert.equal(packet.flags, 0x21);
        assert.equal(packet.target, undefined);
        assert.equal(packet.source, 1);
      }
    });
  }

  await t.step("strings drop the trailing NUL the SDK keeps", () => {
    const v = byName("resp_get_processor_name_st");
    assert.deepEqual(
      decodeResponse("get_processor_name", decodeOne(fromHex(v.bytes_hex)).payload),
      { name: "ST" },
    );
  });
  await t.step("i32 arrays are signed", () => {
    const v = byName("resp_get_encoder_counts");
    assert.deepEqual(
      decodeResponse("get_encoder_counts", decodeOne(fromHex(v.bytes_hex)).payload),
      {
        encoder_counts: [1234, -5678],
      },
    );
  });
});

Deno.test("golden vectors: notifications decode to the SDK's callback args and re-encode", async (t) => {
  const plain = VECTORS.filter((v) =>
    v.kind === "notification" &&
    !(v.frame.did === STREAM_NOTIFY.did && v.frame.cid === STREAM_NOTIFY.cid)
  );
  assert.equal(plain.length, 11);
  for (const v of plain) {
    await t.step(v.name, () => {
      const packet = decodeOne(fromHex(v.bytes_hex));
      const def = commandOf(v);
      assert.equal(def.kind, "notification");
      assert.equal(v.params.sdk_registration, `on_${def.name}`);
      assert.equal(packet.source, v.params.source_node);
      assert.equal(packet.seq, 0xff);
      const decoded = v.decoded as {
        handler_called: boolean;
        args: Record<string, unknown> | null;
      };
      assert.equal(decoded.handler_called, true);
      const values = decodeResponse(def.name as CommandName, packet.payload) as Record<
        string,
        unknown
      >;
      const args = decoded.args ?? {};
      assert.deepEqual(Object.keys(values).sort(), Object.keys(args).sort());
      for (const [key, expected] of Object.entries(args)) {
        assertField(def, "response", key, values[key], expected);
      }

      const name = def.name as NotificationName;
      const typed = values as ResponseOf<NotificationName>;
      assert.equal(
        toHex(encodePacket(buildNotification(name, typed, packet.source as 1 | 2))),
        v.bytes_hex,
      );
      // Without an explicit node, the command's own node is used.
      if (def.node !== "any") {
        assert.equal(toHex(encodePacket(buildNotification(name, typed))), v.bytes_hex);
      }
    });
  }
});

Deno.test("golden vectors: streaming layouts and data", async (t) => {
  const layouts = layoutsFromSetup();

  await t.step("stream_setup_* configure the SDK's slots", () => {
    assert.equal(describeLayout(layouts.get(1)?.get(1)), "ColorDetection/8");
    assert.equal(describeLayout(layouts.get(1)?.get(2)), "AmbientLight/32");
    assert.equal(describeLayout(layouts.get(2)?.get(1)), "IMU/32+Accelerometer/32");
    assert.equal(describeLayout(layouts.get(2)?.get(2)), "Locator/32+Velocity/32");
    assert.equal(layouts.get(1)?.size, 2);
    assert.equal(layouts.get(2)?.size, 2);
    // The order the handlers were added survives into the configuration.
    const order = byName("stream_setup_00_cid39_target1").params.services_in_order as string[];
    const configured = [...layouts.get(2)?.values() ?? [], ...layouts.get(1)?.values() ?? []]
      .flat().map((e) => e.service.name);
    assert.deepEqual(configured, order);
  });

  const streams = VECTORS.filter((v) =>
    v.frame.did === STREAM_NOTIFY.did && v.frame.cid === STREAM_NOTIFY.cid
  );
  assert.equal(streams.length, 6);
  for (const v of streams) {
    await t.step(v.name, () => {
      const packet = decodeOne(fromHex(v.bytes_hex));
      const node = packet.source as NodeId;
      assert.equal(node, v.params.source_node);
      const { token: tokenByte, sensor_data } = decodeResponse(
        "streaming_service_data_notify",
        packet.payload,
      );
      assert.equal(tokenByte, v.params.token_byte);
      const { token, valid } = parseTokenByte(tokenByte);
      const entries = layouts.get(node)?.get(token);
      assert.ok(entries, `no slot ${token} configured on node ${node}`);
      const data = packet.payload.subarray(1);
      assert.equal(toHex(data), (v.params.raw_values_hex as string[]).join(""));
      assert.deepEqual(sensor_data, [...data]);

      const values = decodeSlotData(entries, data);
      const sdk = (v.decoded as { sdk_values: Record<string, Record<string, unknown>> }).sdk_values;
      assert.equal((v.decoded as { handler_calls: number }).handler_calls, Object.keys(sdk).length);
      assert.deepEqual(
        Object.keys(values).sort(),
        Object.keys(sdk).map((n) => serviceByKey(n).key).sort(),
      );
      for (const [serviceName, expected] of Object.entries(sdk)) {
        const key = serviceByKey(serviceName).key;
        assert.equal(valid, expected.is_valid, `${serviceName}.is_valid`);
        for (const [attr, value] of Object.entries(expected)) {
          if (attr === "is_valid") continue;
          // Exact: the same formula in the same order gives the very same double as the SDK.
          assert.ok(
            Object.is(values[key][attr], value),
            `${serviceName}.${attr}: ${values[key][attr]} !== ${value}`,
          );
        }
        assert.deepEqual(
          Object.keys(values[key]).sort(),
          Object.keys(expected).filter((k) => k !== "is_valid").sort(),
        );
      }

      const intended = v.params.intended_values as Record<string, unknown>;
      if (!("note" in intended)) {
        assert.equal(
          toHex(encodeSlotData(entries, byServiceKey(intended))),
          (v.params.raw_values_hex as string[]).join(""),
        );
      }
      // The robot side rebuilds the whole notification.
      const rebuilt = buildNotification("streaming_service_data_notify", {
        token: tokenByte,
        sensor_data: [...data],
      }, node as 1 | 2);
      assert.equal(toHex(encodePacket(rebuilt)), v.bytes_hex);
    });
  }
});

Deno.test("golden vectors: FrameDecoder under any chunking", async (t) => {
  const expected = VECTORS.map((v) => frameToPacket(v.frame));
  const wires = VECTORS.map((v) => fromHex(v.bytes_hex));

  function feed(decoder: FrameDecoder, chunks: readonly Uint8Array[]): Packet[] {
    const out: Packet[] = [];
    for (const c of chunks) out.push(...decoder.push(c));
    return out;
  }
  function assertClean(decoder: FrameDecoder, frames: number): void {
    assert.equal(decoder.stats.frames, frames);
    for (const reason of FRAME_ERRORS) assert.equal(decoder.stats.errors[reason], 0, reason);
    assert.equal(decoder.inFrame, false);
  }

  await t.step("each vector whole and byte by byte", () => {
    for (let i = 0; i < wires.length; i++) {
      const whole = new FrameDecoder();
      assertPackets(whole.push(wires[i]), [expected[i]], VECTORS[i].name);
      assertClean(whole, 1);
      const bytewise = new FrameDecoder();
      const got = feed(bytewise, [...wires[i]].map((b) => Uint8Array.of(b)));
      assertPackets(got, [expected[i]], VECTORS[i].name);
      assertClean(bytewise, 1);
    }
  });

  await t.step("each vector in seeded random splits", () => {
    const rand = seededRandom(0x5eed);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < wires.length; i++) {
        const cuts = Array.from(
          { length: 1 + Math.floor(rand() * 4) },
          () => Math.floor(rand() * (wires[i].length + 1)),
        );
        const decoder = new FrameDecoder();
        assert.deepEqual(
          feed(decoder, splitAt(wires[i], cuts)),
          [expected[i]],
          `${VECTORS[i].name} cut at ${cuts}`,
        );
        assertClean(decoder, 1);
      }
    }
  });

  await t.step("all vectors back to back, in one chunk and in random splits", () => {
    const stream = concat(wires);
    const once = new FrameDecoder();
    assertPackets(once.push(stream), expected);
    assertClean(once, expected.length);
    const rand = seededRandom(117);
    for (let round = 0; round < 10; round++) {
      const cuts = Array.from({ length: 200 }, () => Math.floor(rand() * stream.length));
      const decoder = new FrameDecoder();
      assertPackets(feed(decoder, splitAt(stream, cuts)), expected);
      assertClean(decoder, expected.length);
    }
  });

  await t.step("all vectors with line noise between them: only the noise is counted", () => {
    const rand = seededRandom(0xd8);
    const parts: Uint8Array[] = [];
    let gaps = 0;
    let noiseBytes = 0;
    for (const w of wires) {
      if (rand() < 0.7) {
        // Noise outside a frame: anything but SOP, including EOP and ESC.
        const noise = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => {
          const pick = rand();
          if (pick < 0.2) return 0xd8;
          if (pick < 0.4) return 0xab;
          let b = Math.floor(rand() * 256);
          if (b === 0x8d) b = 0x00;
          return b;
        });
        parts.push(Uint8Array.from(noise));
        gaps++;
        noiseBytes += noise.length;
      }
      parts.push(w);
    }
    const stream = concat(parts);
    for (const chunking of ["whole", "bytes", "random"] as const) {
      const decoder = new FrameDecoder();
      const chunks = chunking === "whole"
        ? [stream]
        : chunking === "bytes"
        ? [...stream].map((b) => Uint8Array.of(b))
        : splitAt(stream, Array.from({ length: 300 }, () => Math.floor(rand() * stream.length)));
      assertPackets(feed(decoder, chunks), expected, chunking);
      assert.equal(decoder.stats.frames, expected.length);
      assert.equal(decoder.stats.errors.noise, gaps, chunking);
      assert.equal(decoder.stats.noiseBytes, noiseBytes, chunking);
      assert.equal(decoder.stats.bytes, stream.length);
      for (const reason of FRAME_ERRORS) {
        if (reason !== "noise") {
          assert.equal(decoder.stats.errors[reason], 0, `${chunking}: ${reason}`);
        }
      }
    }
    assert.ok(gaps > 50, "the noise really was there");
  });
});
