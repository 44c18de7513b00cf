/**
 * Framing, escaping, checksum and the field codec: properties over random packets and bytes,
 * one targeted test per decoder rejection reason, and the command table against section 8 of
 * docs/protocol.md.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildNotification,
  buildRequest,
  checksum,
  commandById,
  commandByName,
  COMMANDS,
  decodeFields,
  decodeRequest,
  decodeResponse,
  encodeFields,
  encodePacket,
  FIELD_TYPES,
  type FieldDef,
  FRAME_ERRORS,
  FrameDecoder,
  type FrameError,
  type Packet,
  PayloadLengthError,
  SCALAR_TYPES,
  type ScalarType,
} from "../../src/protocol/mod.ts";
import { assertPackets, concat, fromHex, splitAt, toHex, unescapeFrame } from "./_helpers.ts";
import { loadVectors, protocolDocSection } from "../_helpers/mod.ts";

const RUNS = { numRuns: 300 } as const;

// ---------------------------------------------------------------------------------------------
// Arbitraries

const SPECIAL = [0x8d, 0xd8, 0xab] as const;
/** A byte, biased to the three values that need escaping. */
const byteArb = fc.oneof(
  { arbitrary: fc.constantFrom(...SPECIAL), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 3 },
);
/** Bits 0-6, never 0x01 and 0x02 together (section 2.1); bit 7 is unsupported. */
const flagsArb = fc.integer({ min: 0, max: 0x7f }).filter((f) => (f & 0x03) !== 0x03);

const packetArb: fc.Arbitrary<Packet> = fc.record({
  flags: flagsArb,
  target: byteArb,
  source: byteArb,
  did: byteArb,
  cid: byteArb,
  seq: byteArb,
  err: byteArb,
  // Body FLAGS TID SID DID CID SEQ ERR ... CHK stays within the decoder's 256-byte cap.
  payload: fc.array(byteArb, { maxLength: 248 }),
}).map((r) => {
  const p: Packet = {
    flags: r.flags,
    did: r.did,
    cid: r.cid,
    seq: r.seq,
    payload: Uint8Array.from(r.payload),
  };
  if (r.flags & 0x10) p.target = r.target;
  if (r.flags & 0x20) p.source = r.source;
  if (r.flags & 0x01) p.err = r.err;
  return p;
});

/** Line noise: any byte, heavily biased to the framing bytes and valid escape codes. */
const noiseArb = fc.array(
  fc.oneof(
    { arbitrary: fc.constantFrom(0x8d, 0xd8, 0xab, 0x05, 0x50, 0x23), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 3 },
  ),
  { maxLength: 400 },
).map((a) => Uint8Array.from(a));

const cutsArb = fc.array(fc.nat({ max: 2000 }), { maxLength: 12 });

function feed(decoder: FrameDecoder, chunks: readonly Uint8Array[]): Packet[] {
  const out: Packet[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  return out;
}

function errorsOf(decoder: FrameDecoder): Record<FrameError, number> {
  return { ...decoder.stats.errors };
}

function onlyErrors(decoder: FrameDecoder, expected: Partial<Record<FrameError, number>>): void {
  for (const reason of FRAME_ERRORS) {
    assert.equal(decoder.stats.errors[reason], expected[reason] ?? 0, `errors.${reason}`);
  }
}

/** Wire bytes of an arbitrary unescaped body (checksum computed unless given). */
function frameOf(body: readonly number[], chk?: number): Uint8Array {
  const raw = Uint8Array.from([...body, chk ?? checksum(Uint8Array.from(body))]);
  const out: number[] = [0x8d];
  for (const b of raw) {
    if (b === 0x8d || b === 0xd8 || b === 0xab) out.push(0xab, b & ~0x88);
    else out.push(b);
  }
  out.push(0xd8);
  return Uint8Array.from(out);
}

const GOOD: Packet = {
  flags: 0x18,
  target: 0x02,
  did: 0x16,
  cid: 0x07,
  seq: 0x17,
  payload: Uint8Array.of(0xab, 0x00, 0xd8, 0x00),
};
const GOOD_WIRE = encodePacket(GOOD);

// ---------------------------------------------------------------------------------------------

Deno.test("encodePacket -> FrameDecoder round trip (properties)", async (t) => {
  await t.step("the escaping example of section 4 (drive_with_heading_escapes)", () => {
    assert.equal(toHex(GOOD_WIRE), "8d1802160717ab2300ab50002ed8");
  });

  await t.step("whole frame decodes to the same packet", () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const d = new FrameDecoder();
        assertPackets(d.push(encodePacket(p)), [p]);
        assert.equal(d.stats.frames, 1);
        onlyErrors(d, {});
      }),
      RUNS,
    );
  });

  await t.step("randomly split frames decode to the same packets", () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 6 }), cutsArb, (packets, cuts) => {
        const wire = concat(packets.map(encodePacket));
        const d = new FrameDecoder();
        assertPackets(feed(d, splitAt(wire, cuts)), packets);
        assert.equal(d.inFrame, false);
        onlyErrors(d, {});
      }),
      RUNS,
    );
  });

  await t.step("checksum law: unescaped FLAGS...CHK sums to 0xFF", () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const body = unescapeFrame(encodePacket(p));
        let sum = 0;
        for (const b of body) sum += b;
        assert.equal(sum & 0xff, 0xff);
        assert.equal(body[body.length - 1], checksum(body, 0, body.length - 1));
      }),
      RUNS,
    );
  });

  await t.step("escaped output: 8D/D8 only at the ends, AB only before 05/50/23", () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const wire = encodePacket(p);
        assert.equal(wire[0], 0x8d);
        assert.equal(wire[wire.length - 1], 0xd8);
        const inner = wire.subarray(1, -1);
        assert.ok(!inner.includes(0x8d) && !inner.includes(0xd8), toHex(wire));
        for (let i = 0; i < inner.length; i++) {
          if (inner[i] === 0xab) assert.ok([0x05, 0x50, 0x23].includes(inner[++i]), toHex(wire));
        }
        const body = unescapeFrame(wire);
        const specials = body.filter((b) => b === 0x8d || b === 0xd8 || b === 0xab).length;
        assert.equal(wire.length, 2 + body.length + specials);
      }),
      RUNS,
    );
  });

  await t.step("encodePacket rejects what no peer accepts, naming the field", () => {
    const base = {
      flags: 0x18,
      target: 1,
      did: 0x13,
      cid: 0x0d,
      seq: 1,
      payload: new Uint8Array(),
    };
    assert.throws(() => encodePacket({ ...base, flags: 0x98 }), {
      name: "RangeError",
      message: /0x98.*bit 7/,
    });
    assert.throws(() => encodePacket({ ...base, flags: 0x1b, err: 0 }), {
      name: "RangeError",
      message: /0x1b.*both.*0x01.*0x02/,
    });
    assert.throws(() => encodePacket({ ...base, target: undefined }), {
      name: "RangeError",
      message: /target.*undefined/,
    });
    assert.throws(() => encodePacket({ ...base, flags: 0x38 }), {
      name: "RangeError",
      message: /source/,
    });
    assert.throws(() => encodePacket({ ...base, flags: 0x19 }), {
      name: "RangeError",
      message: /err/,
    });
    assert.throws(() => encodePacket({ ...base, seq: 256 }), {
      name: "RangeError",
      message: /seq.*256/,
    });
    assert.throws(() => encodePacket({ ...base, did: -1 }), {
      name: "RangeError",
      message: /did.*-1/,
    });
    assert.throws(() => encodePacket({ ...base, cid: 1.5 }), {
      name: "RangeError",
      message: /cid.*1\.5/,
    });
    // Every flags value the decoder accepts is encodable, and vice versa.
    for (let flags = 0; flags < 0x100; flags++) {
      const p: Packet = { ...base, flags, target: 1, source: 1, err: 0 };
      const valid = (flags & 0x80) === 0 && (flags & 0x03) !== 0x03;
      if (valid) assert.equal(new FrameDecoder().push(encodePacket(p)).length, 1);
      else assert.throws(() => encodePacket(p), RangeError);
    }
  });
});

Deno.test("FrameDecoder on arbitrary bytes (properties)", async (t) => {
  await t.step("never throws; each rejection bumps exactly one counter by one", () => {
    fc.assert(
      fc.property(noiseArb, cutsArb, (bytes, cuts) => {
        let calls = 0;
        let before: Record<FrameError, number> | undefined;
        const d: FrameDecoder = new FrameDecoder({
          onError: (reason) => {
            calls++;
            const now = errorsOf(d);
            for (const r of FRAME_ERRORS) {
              assert.equal(
                now[r],
                (before?.[r] ?? 0) + (r === reason ? 1 : 0),
                `${reason} vs ${r}`,
              );
            }
            before = now;
          },
        });
        const packets = feed(d, splitAt(bytes, cuts));
        const total = FRAME_ERRORS.reduce((n, r) => n + d.stats.errors[r], 0);
        assert.equal(total, calls);
        assert.equal(d.stats.frames, packets.length);
        assert.equal(d.stats.bytes, bytes.length);
        assert.ok(d.stats.errors.noise <= d.stats.noiseBytes && d.stats.noiseBytes <= bytes.length);
      }),
      RUNS,
    );
  });

  await t.step("chunking never changes the result", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(noiseArb, packetArb.map(encodePacket)), { maxLength: 6 }),
        cutsArb,
        (parts, cuts) => {
          const bytes = concat(parts);
          const whole = new FrameDecoder();
          const split = new FrameDecoder();
          assertPackets(feed(split, splitAt(bytes, cuts)), whole.push(bytes));
          assert.equal(JSON.stringify(split.stats), JSON.stringify(whole.stats));
          assert.equal(split.inFrame, whole.inFrame);
        },
      ),
      RUNS,
    );
  });

  await t.step("after any garbage, the next good frame decodes", () => {
    fc.assert(
      fc.property(noiseArb, packetArb, (garbage, p) => {
        const d = new FrameDecoder();
        d.push(garbage);
        assertPackets(d.push(encodePacket(p)), [p]);
        assert.equal(d.inFrame, false);
      }),
      RUNS,
    );
  });
});

Deno.test("FrameDecoder rejection reasons", async (t) => {
  await t.step("noise: each run of bytes outside a frame counts once", () => {
    const d = new FrameDecoder();
    const got = d.push(
      concat([Uint8Array.of(1, 2, 0xd8, 0xab, 3), GOOD_WIRE, Uint8Array.of(0x55), GOOD_WIRE]),
    );
    assert.deepEqual(got, [GOOD, GOOD]);
    onlyErrors(d, { noise: 2 });
    assert.equal(d.stats.noiseBytes, 6);
  });

  await t.step("bad_checksum", () => {
    const bad = GOOD_WIRE.slice();
    bad[bad.length - 2] ^= 0x01; // the unescaped checksum byte
    const d = new FrameDecoder();
    assert.deepEqual(d.push(concat([bad, GOOD_WIRE])), [GOOD]);
    onlyErrors(d, { bad_checksum: 1 });
    // A flipped payload bit is caught the same way.
    const bad2 = GOOD_WIRE.slice();
    bad2[8] ^= 0x40;
    assert.deepEqual(d.push(concat([bad2, GOOD_WIRE])), [GOOD]);
    onlyErrors(d, { bad_checksum: 2 });
  });

  await t.step("bad_escape: AB 85 and every other non-escape byte", () => {
    const d = new FrameDecoder();
    assert.deepEqual(
      d.push(
        concat([
          Uint8Array.of(0x8d, 0x18, 0x01, 0xab, 0x85, 0x13, 0x0d, 0x01, 0xc5, 0xd8),
          GOOD_WIRE,
        ]),
      ),
      [GOOD],
    );
    onlyErrors(d, { bad_escape: 1 });
    // 0x85 | 0x88 = 0x8D, so a generic `| 0x88` decoder would accept it: we must not.
    for (let b = 0; b < 256; b++) {
      if (b === 0x05 || b === 0x50 || b === 0x23) continue;
      const dd = new FrameDecoder();
      const got = dd.push(
        concat([Uint8Array.of(0x8d, 0x18, 0x02, 0xab, b, 0x07, 0x00), GOOD_WIRE]),
      );
      assert.deepEqual(got, [GOOD], `AB ${b.toString(16)}`);
      // AB 8D is a new frame starting (not an escape), cut short in turn by GOOD's SOP.
      // AB D8: the EOP ends the broken frame, so the two bytes after it are line noise.
      onlyErrors(
        dd,
        b === 0x8d
          ? { early_start: 2 }
          : b === 0xd8
          ? { bad_escape: 1, noise: 1 }
          : { bad_escape: 1 },
      );
    }
  });

  await t.step("early_start: a partial frame, then a new SOP: the second frame decodes", () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(concat([Uint8Array.of(0x8d, 0x18, 0x02, 0x16), GOOD_WIRE])), [GOOD]);
    onlyErrors(d, { early_start: 1 });
    // Also when the partial frame ends in an escape byte, and across chunks.
    assert.deepEqual(d.push(Uint8Array.of(0x8d, 0x18, 0xab)), []);
    assert.equal(d.inFrame, true);
    assert.deepEqual(d.push(GOOD_WIRE), [GOOD]);
    onlyErrors(d, { early_start: 2 });
  });

  await t.step("oversize: >256 unescaped bytes, then a good frame decodes", () => {
    const header = [0x18, 0x01, 0x10, 0x00, 0x01];
    // 5 header + 250 payload + CHK = 256 bytes: the largest accepted body.
    const fits = frameOf([...header, ...Array.from({ length: 250 }, (_, i) => i & 0x7f)]);
    const d = new FrameDecoder();
    assert.equal(d.push(fits).length, 1);
    onlyErrors(d, {});
    const tooBig = frameOf([...header, ...Array.from({ length: 251 }, (_, i) => i & 0x7f)]);
    assert.deepEqual(d.push(concat([tooBig, GOOD_WIRE])), [GOOD]);
    onlyErrors(d, { oversize: 1 });
    // Escaped bytes count once (unescaped size), and a smaller cap applies when configured.
    const escaped = frameOf([...header, ...Array.from({ length: 250 }, () => 0xab)]);
    assert.equal(new FrameDecoder().push(escaped).length, 1);
    const small = new FrameDecoder({ maxFrameBytes: 16 });
    assert.deepEqual(
      small.push(concat([frameOf([...header, ...new Array(11).fill(7)]), GOOD_WIRE])),
      [GOOD],
    );
    onlyErrors(small, { oversize: 1 });
    assert.throws(() => new FrameDecoder({ maxFrameBytes: 4 }), {
      name: "RangeError",
      message: /maxFrameBytes.*4/,
    });
  });

  await t.step("too_short", () => {
    const d = new FrameDecoder();
    d.push(Uint8Array.of(0x8d, 0xd8)); // empty
    d.push(Uint8Array.of(0x8d, 0x18, 0xe7, 0xd8)); // two bytes summing to 0xFF
    d.push(frameOf([0x18, 0x01, 0x13])); // FLAGS TID DID + CHK: 4 < 5
    d.push(frameOf([0x39, 0x21, 0x01, 0x13, 0x10])); // a response without room for SEQ and ERR
    assert.deepEqual(d.push(GOOD_WIRE), [GOOD]);
    onlyErrors(d, { too_short: 4 });
  });

  await t.step("bad_flags: 0x01|0x02 together, bit 7", () => {
    const d = new FrameDecoder();
    d.push(frameOf([0x1b, 0x01, 0x13, 0x10, 0x03, 0x00]));
    d.push(frameOf([0x03, 0x13, 0x10, 0x03, 0x00]));
    d.push(frameOf([0x98, 0x01, 0x13, 0x0d, 0x01]));
    assert.deepEqual(d.push(GOOD_WIRE), [GOOD]);
    onlyErrors(d, { bad_flags: 3 });
  });

  await t.step("onError reports each reason; reset drops a partial frame", () => {
    const seen: FrameError[] = [];
    const d = new FrameDecoder({ onError: (r) => seen.push(r) });
    d.push(Uint8Array.of(0x00, 0x8d, 0x18, 0x8d, 0x18, 0xab, 0x85, 0x8d, 0xd8));
    assert.deepEqual(seen, ["noise", "early_start", "bad_escape", "too_short"]);
    d.push(Uint8Array.of(0x8d, 0x18, 0x02));
    d.reset();
    assert.equal(d.inFrame, false);
    assert.deepEqual(d.push(GOOD_WIRE.subarray(3)), []); // the tail alone is noise
    assert.deepEqual(d.push(GOOD_WIRE), [GOOD]);
    assert.deepEqual(seen, ["noise", "early_start", "bad_escape", "too_short", "noise"]);
  });
});

Deno.test("FrameDecoder payload ownership and robustness", async (t) => {
  await t.step("payloads survive many later frames (well past one 16 KiB slab)", () => {
    const d = new FrameDecoder();
    const kept: Packet[] = [];
    const sent: Packet[] = [];
    for (let k = 0; k < 400; k++) {
      const payload = Uint8Array.from({ length: 1 + (k * 37) % 248 }, (_, i) => (k * 7 + i) & 0xff);
      const p: Packet = {
        flags: 0x38,
        target: 0x21,
        source: 2,
        did: 0x18,
        cid: 0x3d,
        seq: 0xff,
        payload,
      };
      sent.push(p);
      kept.push(...d.push(encodePacket(p)));
    }
    assertPackets(kept, sent);
    // Each payload is its own view: writing to one leaves the others alone.
    kept[0].payload.fill(0xee);
    assertPackets(kept.slice(1), sent.slice(1));
  });

  await t.step("a throwing onError propagates but leaves the decoder consistent", () => {
    let calls = 0;
    const d = new FrameDecoder({
      onError: () => {
        calls++;
        throw new Error("listener failed");
      },
    });
    // Noise, then a frame cut short by a new SOP: the first error throws out of push().
    assert.throws(() => d.push(Uint8Array.of(0x01, 0x8d, 0x18)), /listener failed/);
    assert.equal(calls, 1);
    assert.equal(d.stats.errors.noise, 1);
    assert.equal(d.stats.noiseBytes, 1);
    // The rest of that chunk was not consumed; the decoder is outside any frame and decodes on.
    assert.deepEqual(d.push(GOOD_WIRE), [GOOD]);
    assert.throws(() => d.push(Uint8Array.of(0x8d, 0x18, 0x8d)), /listener failed/);
    assert.equal(d.inFrame, true, "the early start left a new frame open");
    assert.deepEqual(d.push(GOOD_WIRE.subarray(1)), [GOOD]);
  });
});

// ---------------------------------------------------------------------------------------------

const RANGES: Record<Exclude<ScalarType, "u64" | "f32" | "bool">, readonly [number, number]> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

const one = (
  type: FieldDef["type"],
  max?: number,
): FieldDef[] => [max === undefined ? { name: "fld", type } : { name: "fld", type, max }];

Deno.test("field codec", async (t) => {
  await t.step("integer range errors name the command, field and value", () => {
    for (const [type, [lo, hi]] of Object.entries(RANGES)) {
      for (const bad of [lo - 1, hi + 1, 1.5]) {
        assert.throws(
          () => encodeFields("cmd", one(type as ScalarType), { fld: bad }),
          (e: Error) => {
            assert.ok(e instanceof RangeError, `${type} ${bad}: ${e}`);
            assert.match(
              e.message,
              new RegExp(
                `cmd\\.fld \\(${type}\\).*${lo} to ${hi}.*got ${String(bad).replace(".", "\\.")}`,
              ),
            );
            return true;
          },
        );
      }
      for (const bad of [Number.NaN, Infinity, "7", undefined, null]) {
        assert.throws(
          () => encodeFields("cmd", one(type as ScalarType), { fld: bad }),
          TypeError,
          `${type} ${bad}`,
        );
      }
      // The limits themselves are fine and come back unchanged.
      for (const ok of [lo, hi, 0]) {
        assert.deepEqual(
          decodeFields(
            "cmd",
            one(type as ScalarType),
            encodeFields("cmd", one(type as ScalarType), { fld: ok }),
          ),
          { fld: ok },
        );
      }
    }
  });

  await t.step("u64 is a bigint, big-endian", () => {
    const f = one("u64");
    assert.equal(toHex(encodeFields("cmd", f, { fld: 123456789n })), "00000000075bcd15");
    assert.deepEqual(decodeFields("cmd", f, fromHex("00000000075bcd15")), { fld: 123456789n });
    assert.deepEqual(decodeFields("cmd", f, fromHex("ffffffffffffffff")), { fld: 2n ** 64n - 1n });
    for (const bad of [-1n, 2n ** 64n]) {
      assert.throws(() => encodeFields("cmd", f, { fld: bad }), {
        name: "RangeError",
        message: new RegExp(`cmd\\.fld \\(u64\\).*got ${bad}`),
      });
    }
    assert.throws(() => encodeFields("cmd", f, { fld: 5 }), {
      name: "RangeError",
      message: /bigint.*got 5.*5n|123n/,
    });
  });

  await t.step("f32, bool and str type errors", () => {
    assert.equal(toHex(encodeFields("cmd", one("f32"), { fld: 3.75 })), "40700000");
    assert.deepEqual(decodeFields("cmd", one("f32"), fromHex("3dcccccd")), {
      fld: Math.fround(0.1),
    });
    assert.throws(() => encodeFields("cmd", one("f32"), { fld: Infinity }), {
      name: "TypeError",
      message: /cmd\.fld \(f32\).*Infinity/,
    });
    assert.throws(() => encodeFields("cmd", one("bool"), { fld: 1 }), {
      name: "TypeError",
      message: /cmd\.fld \(bool\).*true or false.*got 1/,
    });
    assert.deepEqual(decodeFields("cmd", one("bool"), Uint8Array.of(2)), { fld: true });
    assert.throws(() => encodeFields("cmd", one("str"), { fld: 42 }), {
      name: "TypeError",
      message: /cmd\.fld \(str\).*string.*42/,
    });
    assert.throws(
      () => encodeFields("cmd", [{ name: "a", type: "u8" }, { name: "b", type: "u8" }], { a: 1 }),
      {
        name: "TypeError",
        message: /cmd\.b \(u8\) is missing; pass \{ a, b \}/,
      },
    );
  });

  await t.step("scalars round-trip (property)", () => {
    const valueArb = (type: ScalarType): fc.Arbitrary<unknown> => {
      if (type === "u64") return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
      if (type === "bool") return fc.boolean();
      if (type === "f32") return fc.float({ noNaN: true, noDefaultInfinity: true });
      const [lo, hi] = RANGES[type];
      return fc.integer({ min: lo, max: hi });
    };
    for (const type of SCALAR_TYPES) {
      fc.assert(
        fc.property(valueArb(type), (v) => {
          const bytes = encodeFields("cmd", one(type), { fld: v });
          assert.deepEqual(decodeFields("cmd", one(type), bytes), { fld: v });
        }),
        { numRuns: 100 },
      );
    }
    assert.deepEqual([...FIELD_TYPES], [...SCALAR_TYPES, "str"]);
  });

  await t.step("i32 arrays", () => {
    const f = one("i32", 2);
    assert.equal(toHex(encodeFields("cmd", f, { fld: [1234, -5678] })), "000004d2ffffe9d2");
    assert.deepEqual(decodeFields("cmd", f, fromHex("000004d2ffffe9d2")), { fld: [1234, -5678] });
    assert.deepEqual(decodeFields("cmd", f, new Uint8Array()), { fld: [] });
    assert.throws(() => encodeFields("cmd", f, { fld: [1, 2, 3] }), {
      name: "RangeError",
      message: /cmd\.fld \(i32\[<=2\]\).*at most 2.*3 elements/,
    });
    assert.throws(() => encodeFields("cmd", f, { fld: [2 ** 31] }), {
      name: "RangeError",
      message: /cmd\.fld.*2147483648/,
    });
    assert.throws(() => encodeFields("cmd", f, { fld: 7 }), {
      name: "RangeError",
      message: /array.*got 7/,
    });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 2 }),
        (arr) => {
          assert.deepEqual(decodeFields("cmd", f, encodeFields("cmd", f, { fld: arr })), {
            fld: arr,
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  await t.step("str takes the rest of the payload and stops at the first NUL", () => {
    const f = [{ name: "n", type: "u8" }, { name: "s", type: "str" }] as const;
    assert.deepEqual(decodeFields("cmd", f, fromHex("07535400")), { n: 7, s: "ST" });
    assert.deepEqual(decodeFields("cmd", f, fromHex("07410042")), { n: 7, s: "A" });
    assert.deepEqual(decodeFields("cmd", f, fromHex("07")), { n: 7, s: "" });
    assert.deepEqual(decodeFields("cmd", f, fromHex("075256")), { n: 7, s: "RV" });
    assert.equal(toHex(encodeFields("cmd", f, { n: 1, s: "RV-0001" })), "0152562d30303031");
    assert.deepEqual(
      decodeResponse("get_bluetooth_advertising_name", fromHex("52562d4142434400")),
      { name: "RV-ABCD" },
    );
  });

  await t.step("PayloadLengthError on wrong lengths", () => {
    const expectLength = (fn: () => unknown, message: RegExp) =>
      assert.throws(fn, (e: Error) => {
        assert.ok(e instanceof PayloadLengthError && e instanceof RangeError, String(e));
        assert.equal(e.name, "PayloadLengthError");
        assert.match(e.message, message);
        return true;
      });
    expectLength(
      () => decodeResponse("get_battery_percentage", new Uint8Array()),
      /get_battery_percentage payload has 0 bytes.*percentage u8.*need 1/,
    );
    expectLength(
      () => decodeResponse("get_battery_percentage", Uint8Array.of(1, 2)),
      /has 2 bytes.*need 1/,
    );
    expectLength(
      () => decodeRequest("drive_with_heading", Uint8Array.of(1, 2, 3)),
      /drive_with_heading payload has 3 bytes.*need 4/,
    );
    expectLength(
      () => decodeRequest("wake", Uint8Array.of(0)),
      /wake payload has 1 bytes.*none.*need 0/,
    );
    expectLength(() => decodeRequest("set_all_leds", Uint8Array.of(0, 0, 1)), /need at least 4/);
    expectLength(
      () => decodeResponse("get_encoder_counts", new Uint8Array(5)),
      /encoder_counts takes whole i32 elements, at most 2; 5 bytes remain/,
    );
    expectLength(
      () => decodeResponse("get_encoder_counts", new Uint8Array(12)),
      /at most 2; 12 bytes remain/,
    );
    expectLength(
      () => decodeRequest("echo", new Uint8Array(17)),
      /echo\.data.*at most 16; 17 bytes remain/,
    );
    assert.deepEqual(decodeRequest("echo", new Uint8Array(16)).data.length, 16);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * Rows of section 8 of docs/protocol.md: the command table as Sphero's Python SDK defines it,
 * written into the doc by hand (not generated from src/), which our command list must match.
 */
async function docCommandTable(): Promise<
  {
    did: number;
    cid: number;
    name: string;
    node: 1 | 2 | "any";
    notification: boolean;
    request: FieldDef[];
    response: FieldDef[];
  }[]
> {
  const section = await protocolDocSection("## 8. Command table");
  const parseFields = (cell: string): FieldDef[] => {
    if (cell === "\u2014" || cell === "(robot \u2192 host)") return [];
    return cell.split(",").map((part) => {
      const m = /^(\w+) (u8|i8|u16|i16|u32|i32|u64|f32|bool|str)(?:\[(?:\u2264(\d+)|n)\])?$/.exec(
        part.trim(),
      );
      if (!m) throw new Error(`Cannot parse field "${part}" in section 8 of docs/protocol.md`);
      const field: FieldDef = m[0].includes("[")
        ? { name: m[1], type: m[2] as ScalarType, max: m[3] ? Number(m[3]) : Infinity }
        : { name: m[1], type: m[2] as ScalarType };
      return field;
    });
  };
  const rows = [];
  for (const line of section.split("\n")) {
    if (!/^\|\s*0x[0-9A-F]{2}\s*\|/.test(line)) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const [didText, cidText, nameCell, nodeCell, requestCell, responseCell] = cells;
    const name = /^`(\w+)( \u21d0)?`$/.exec(nameCell);
    if (
      cells.length !== 6 || !/^0x[0-9A-F]{2}$/.test(cidText) || !name ||
      !["1", "2", "1 or 2"].includes(nodeCell)
    ) {
      throw new Error(`Cannot parse row "${line}" in section 8 of docs/protocol.md`);
    }
    rows.push({
      did: Number(didText),
      cid: Number(cidText),
      name: name[1],
      notification: name[2] !== undefined,
      node: nodeCell === "1 or 2" ? "any" as const : Number(nodeCell) as 1 | 2,
      request: parseFields(requestCell),
      response: parseFields(responseCell),
    });
  }
  return rows;
}

Deno.test("every packet docs/protocol.md quotes is a golden packet", async () => {
  const doc = await protocolDocSection("# The Sphero RVR serial protocol");
  const quoted = [...doc.matchAll(/`(8D(?: [0-9A-F]{2})+ D8)`/g)].map((m) => m[1]);
  assert.ok(quoted.length >= 5, `only ${quoted.length} packets quoted`);
  const golden = new Set(loadVectors().map((v) => v.bytes_hex));
  for (const packet of quoted) {
    assert.ok(golden.has(packet.replaceAll(" ", "").toLowerCase()), `"${packet}" is no vector`);
  }
});

Deno.test("command table", async (t) => {
  await t.step("all 93 commands, unique names and (DID, CID)", () => {
    assert.equal(COMMANDS.length, 93);
    assert.equal(new Set(COMMANDS.map((c) => c.name)).size, 93);
    assert.equal(new Set(COMMANDS.map((c) => (c.did << 8) | c.cid)).size, 93);
    for (const c of COMMANDS) {
      assert.equal(commandById(c.did, c.cid), c);
      assert.equal(commandByName(c.name), c);
    }
    assert.equal(commandById(0x13, 0xee), undefined);
  });

  await t.step("matches section 8 of docs/protocol.md row by row", async () => {
    const doc = await docCommandTable();
    assert.equal(doc.length, 93, "the doc's table has 93 rows");
    assert.equal(new Set(doc.map((r) => (r.did << 8) | r.cid)).size, 93, "each (DID, CID) once");
    const strip = (fs: readonly FieldDef[]) =>
      fs.map((f) => (f.max === undefined ? { name: f.name, type: f.type } : { ...f }));
    for (const row of doc) {
      const def = commandById(row.did, row.cid);
      assert.ok(def, `missing ${row.name}`);
      assert.equal(def.name, row.name);
      assert.equal(def.node, row.node, row.name);
      assert.equal(def.kind, row.notification ? "notification" : "command", row.name);
      assert.deepEqual(strip(def.request), row.request, `${row.name} request`);
      assert.deepEqual(strip(def.response), row.response, `${row.name} response`);
    }
  });

  await t.step("unknown names and misuse get helpful errors", () => {
    assert.throws(() => commandByName("drive_forward"), {
      name: "TypeError",
      message: /Unknown RVR command "drive_forward".*93 names/,
    });
    assert.throws(() => buildRequest("echo", { data: [] }, { seq: 1 }), {
      name: "TypeError",
      message: /"echo" runs on either processor; pass target 1 \(Nordic\) or 2 \(ST\)/,
    });
    assert.throws(() => buildRequest("will_sleep_notify" as "wake", {}, { seq: 1 }), {
      name: "TypeError",
      message: /notification/,
    });
    assert.throws(
      () => buildNotification("streaming_service_data_notify", { token: 1, sensor_data: [] }),
      {
        name: "TypeError",
        message: /either processor; pass node 1 or 2/,
      },
    );
    assert.throws(
      () => buildRequest("drive_with_heading", { speed: 256, heading: 0, flags: 0 }, { seq: 1 }),
      {
        name: "RangeError",
        message: /drive_with_heading\.speed \(u8\).*0 to 255.*got 256/,
      },
    );
  });

  await t.step("request flags: reply by default iff the command has outputs", () => {
    assert.equal(buildRequest("wake", {}, { seq: 1 }).flags, 0x18);
    assert.equal(buildRequest("get_battery_percentage", {}, { seq: 1 }).flags, 0x1a);
    assert.equal(buildRequest("wake", {}, { seq: 1, requestsResponse: true }).flags, 0x1a);
    assert.equal(
      buildRequest("wake", {}, { seq: 1, requestsResponse: true, errorOnly: true }).flags,
      0x1e,
    );
    assert.equal(
      buildRequest("wake", {}, { seq: 1, errorOnly: true }).flags,
      0x18,
      "error-only needs a reply request",
    );
    const withSource = buildRequest("wake", {}, {
      seq: 0,
      target: 0x11,
      source: 0x01,
      requestsResponse: true,
    });
    assert.equal(toHex(encodePacket(withSource)), "8d3a1101130d0093d8");
  });
});
