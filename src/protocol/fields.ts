/**
 * Typed payload fields (§5): big-endian integers, f32, u64 as bigint, bool, strings and arrays.
 * A command's payload is its fields concatenated in table order with no padding.
 */

export const SCALAR_TYPES = ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "f32", "bool"] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];
export const FIELD_TYPES = [...SCALAR_TYPES, "str"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * One payload field. With `max` it is an array of up to `max` elements (`max: Infinity` = the rest
 * of the payload); `str` always takes the rest of the payload. Only the last field may be variable.
 */
export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly max?: number;
}

/** The TypeScript value of one field. */
export type FieldValue<F extends FieldDef> = F extends { readonly max: number } ? number[]
  : F["type"] extends "u64" ? bigint
  : F["type"] extends "bool" ? boolean
  : F["type"] extends "str" ? string
  : number;

/** The object of named values a field list encodes from / decodes to. */
export type FieldValues<Fs extends readonly FieldDef[]> = {
  [F in Fs[number] as F["name"]]: FieldValue<F>;
};

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

/** Size in bytes of a field list's fixed part and whether a variable field follows. */
export function fixedSize(fields: readonly FieldDef[]): { bytes: number; variable: boolean } {
  let bytes = 0;
  for (const f of fields) {
    if (f.type === "str" || f.max !== undefined) return { bytes, variable: true };
    bytes += TYPE_SIZE[f.type];
  }
  return { bytes, variable: false };
}

function describe(where: string, f: FieldDef): string {
  return `${where}.${f.name} (${f.type}${f.max !== undefined ? `[≤${f.max}]` : ""})`;
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
        `${describe(where, f)} must be a bigint 0–2^64−1, got ${String(v)}; pass e.g. 123n.`,
      );
    }
    return;
  }
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TypeError(`${describe(where, f)} must be a finite number, got ${String(v)}.`);
  }
  if (type === "f32") return;
  const [lo, hi] = INT_RANGE[type];
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${describe(where, f)} must be an integer ${lo}–${hi}, got ${v}.`);
  }
}

function writeScalar(view: DataView, o: number, type: ScalarType, v: unknown): number {
  switch (type) {
    case "u8":
      view.setUint8(o, v as number);
      return o + 1;
    case "i8":
      view.setInt8(o, v as number);
      return o + 1;
    case "bool":
      view.setUint8(o, v ? 1 : 0);
      return o + 1;
    case "u16":
      view.setUint16(o, v as number);
      return o + 2;
    case "i16":
      view.setInt16(o, v as number);
      return o + 2;
    case "u32":
      view.setUint32(o, v as number);
      return o + 4;
    case "i32":
      view.setInt32(o, v as number);
      return o + 4;
    case "f32":
      view.setFloat32(o, v as number);
      return o + 4;
    case "u64":
      view.setBigUint64(o, v as bigint);
      return o + 8;
  }
}

function readScalar(view: DataView, o: number, type: ScalarType): number | bigint | boolean {
  switch (type) {
    case "u8":
      return view.getUint8(o);
    case "i8":
      return view.getInt8(o);
    case "bool":
      return view.getUint8(o) !== 0;
    case "u16":
      return view.getUint16(o);
    case "i16":
      return view.getInt16(o);
    case "u32":
      return view.getUint32(o);
    case "i32":
      return view.getInt32(o);
    case "f32":
      return view.getFloat32(o);
    case "u64":
      return view.getBigUint64(o);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes `values` per `fields`. `where` names the command in error messages.
 * Throws TypeError/RangeError naming the field, the value and the allowed range.
 */
export function encodeFields(
  where: string,
  fields: readonly FieldDef[],
  values: Readonly<Record<string, unknown>>,
): Uint8Array {
  let size = 0;
  const strings: (Uint8Array | undefined)[] = [];
  for (const f of fields) {
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
      const bytes = encoder.encode(v);
      strings.push(bytes);
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
      strings.push(undefined);
      size += v.length * TYPE_SIZE[f.type];
    } else {
      checkScalar(where, f, f.type, v);
      strings.push(undefined);
      size += TYPE_SIZE[f.type];
    }
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = values[f.name];
    if (f.type === "str") {
      out.set(strings[i] as Uint8Array, o);
      o += (strings[i] as Uint8Array).length;
    } else if (f.max !== undefined) {
      for (const e of v as unknown[]) o = writeScalar(view, o, f.type, e);
    } else {
      o = writeScalar(view, o, f.type, v);
    }
  }
  return out;
}

/** A payload whose length does not fit its command's fields. */
export class PayloadLengthError extends RangeError {
  override name = "PayloadLengthError";
}

/**
 * Decodes `payload` per `fields`. Strings end at the first NUL (a trailing NUL is dropped).
 * Throws PayloadLengthError when the length does not match the fields.
 */
export function decodeFields(
  where: string,
  fields: readonly FieldDef[],
  payload: Uint8Array,
): Record<string, unknown> {
  const { bytes: fixed, variable } = fixedSize(fields);
  if (variable ? payload.length < fixed : payload.length !== fixed) {
    throw new PayloadLengthError(
      `${where} payload has ${payload.length} bytes; its fields (${
        fields.map((f) => `${f.name} ${f.type}${f.max !== undefined ? "[]" : ""}`).join(", ") ||
        "none"
      }) need ${variable ? "at least " : ""}${fixed}.`,
    );
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: Record<string, unknown> = {};
  let o = 0;
  for (const f of fields) {
    if (f.type === "str") {
      const rest = payload.subarray(o);
      const nul = rest.indexOf(0);
      out[f.name] = decoder.decode(nul < 0 ? rest : rest.subarray(0, nul));
      o = payload.length;
    } else if (f.max !== undefined) {
      const size = TYPE_SIZE[f.type];
      const n = (payload.length - o) / size;
      if (!Number.isInteger(n) || n > f.max) {
        throw new PayloadLengthError(
          `${where}.${f.name} takes whole ${f.type} elements, at most ${f.max}; ${
            payload.length - o
          } bytes remain.`,
        );
      }
      const arr: unknown[] = [];
      for (let k = 0; k < n; k++) arr.push(readScalar(view, o + k * size, f.type));
      out[f.name] = arr;
      o = payload.length;
    } else {
      out[f.name] = readScalar(view, o, f.type);
      o += TYPE_SIZE[f.type];
    }
  }
  return out;
}
