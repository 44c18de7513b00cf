/**
 * Private to src/protocol: validation and big-endian writing of payload fields, shared by
 * encodeFields (fresh buffer) and encodeRequest (a reusable scratch buffer it copies at once).
 * Bytes are written by hand: creating a DataView per payload costs more than the writes.
 */
import type { FieldDef, ScalarType } from "./fields.ts";

export const TYPE_SIZE: Readonly<Record<ScalarType, number>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  f32: 4,
  bool: 1,
};

const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

export function describe(where: string, f: FieldDef): string {
  return `${where}.${f.name} (${f.type}${f.max !== undefined ? `[<=${f.max}]` : ""})`;
}

function checkScalar(where: string, f: FieldDef, type: ScalarType, v: unknown): void {
  if (type === "bool") {
    if (typeof v !== "boolean") {
      throw new TypeError(`${describe(where, f)} must be true or false, got ${String(v)}.`);
    }
    return;
  }
  if (type === "u64") {
    if (typeof v !== "bigint" || v < 0n || v > 0xffffffffffffffffn) {
      throw new RangeError(
        `${describe(where, f)} must be a bigint 0 to 2^64-1, got ${String(v)}; pass e.g. 123n.`,
      );
    }
    return;
  }
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TypeError(`${describe(where, f)} must be a finite number, got ${String(v)}.`);
  }
  if (type === "f32") return;
  const range = INT_RANGE[type];
  const lo = range[0];
  const hi = range[1];
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${describe(where, f)} must be an integer ${lo} to ${hi}, got ${v}.`);
  }
}

/** Converts f32 / u64 values to bytes. */
const CONVERT = new DataView(new ArrayBuffer(8));

function writeScalar(out: Uint8Array, o: number, type: ScalarType, v: unknown): number {
  switch (type) {
    case "u8":
    case "i8":
      out[o] = v as number;
      return o + 1;
    case "bool":
      out[o] = v ? 1 : 0;
      return o + 1;
    case "u16":
    case "i16":
      out[o] = (v as number) >> 8;
      out[o + 1] = v as number;
      return o + 2;
    case "u32":
    case "i32":
      out[o] = (v as number) >>> 24;
      out[o + 1] = (v as number) >>> 16;
      out[o + 2] = (v as number) >>> 8;
      out[o + 3] = v as number;
      return o + 4;
    case "f32":
      CONVERT.setFloat32(0, v as number);
      out[o] = CONVERT.getUint8(0);
      out[o + 1] = CONVERT.getUint8(1);
      out[o + 2] = CONVERT.getUint8(2);
      out[o + 3] = CONVERT.getUint8(3);
      return o + 4;
    case "u64":
      CONVERT.setBigUint64(0, v as bigint);
      for (let i = 0; i < 8; i++) out[o + i] = CONVERT.getUint8(i);
      return o + 8;
  }
}

const textEncoder = new TextEncoder();

/**
 * Validates `values` against `fields` and returns the payload size. String fields are encoded
 * once here, into `strings` (indexed like `fields`), for writeFields to copy.
 */
export function measureFields(
  where: string,
  fields: readonly FieldDef[],
  values: Readonly<Record<string, unknown>>,
  strings: (Uint8Array | undefined)[],
): number {
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = values[f.name];
    if (v === undefined) {
      throw new TypeError(
        `${describe(where, f)} is missing; pass { ${fields.map((x) => x.name).join(", ")} }.`,
      );
    }
    if (f.type === "str") {
      if (typeof v !== "string") {
        throw new TypeError(`${describe(where, f)} must be a string, got ${String(v)}.`);
      }
      const bytes = textEncoder.encode(v);
      strings[i] = bytes;
      size += bytes.length;
    } else if (f.max !== undefined) {
      if (!Array.isArray(v) || v.length > f.max) {
        throw new RangeError(
          `${describe(where, f)} must be an array of at most ${f.max} elements, got ${
            Array.isArray(v) ? `${v.length} elements` : String(v)
          }.`,
        );
      }
      for (const e of v) checkScalar(where, f, f.type, e);
      size += v.length * TYPE_SIZE[f.type];
    } else {
      checkScalar(where, f, f.type, v);
      size += TYPE_SIZE[f.type];
    }
  }
  return size;
}

/** Writes already measured `values` into `out` from offset 0. */
export function writeFields(
  fields: readonly FieldDef[],
  values: Readonly<Record<string, unknown>>,
  strings: readonly (Uint8Array | undefined)[],
  out: Uint8Array,
): void {
  let o = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = values[f.name];
    if (f.type === "str") {
      const bytes = strings[i] as Uint8Array;
      out.set(bytes, o);
      o += bytes.length;
    } else if (f.max !== undefined) {
      for (const e of v as unknown[]) o = writeScalar(out, o, f.type, e);
    } else {
      o = writeScalar(out, o, f.type, v);
    }
  }
}

const SCRATCH = new Uint8Array(256);
/** Shared by payloads without strings (measureFields only writes to it for str fields). */
const NO_STRINGS: (Uint8Array | undefined)[] = [];

function hasString(fields: readonly FieldDef[]): boolean {
  for (let i = 0; i < fields.length; i++) if (fields[i].type === "str") return true;
  return false;
}

/**
 * Like encodeFields, but the result is a view of a shared scratch buffer, valid only until the
 * next call: for callers that copy it immediately (encodeRequest -> encodePacket).
 */
export function encodeFieldsTransient(
  where: string,
  fields: readonly FieldDef[],
  values: Readonly<Record<string, unknown>>,
): Uint8Array {
  const strings = hasString(fields) ? [] : NO_STRINGS;
  const size = measureFields(where, fields, values, strings);
  const out = size <= SCRATCH.length
    ? new Uint8Array(SCRATCH.buffer, 0, size)
    : new Uint8Array(size);
  writeFields(fields, values, strings, out);
  return out;
}
