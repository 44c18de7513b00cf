/**
 * Typed payload fields (section 5): big-endian integers, f32, u64 as bigint, bool, strings and arrays.
 * A command's payload is its fields concatenated in table order with no padding.
 */
import { measureFields, TYPE_SIZE, writeFields } from "./_field_codec.ts";

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

export { TYPE_SIZE };

/** Size in bytes of a field list's fixed part and whether a variable field follows. */
export function fixedSize(fields: readonly FieldDef[]): { bytes: number; variable: boolean } {
  let bytes = 0;
  for (const f of fields) {
    if (f.type === "str" || f.max !== undefined) return { bytes, variable: true };
    bytes += TYPE_SIZE[f.type];
  }
  return { bytes, variable: false };
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
  const strings: (Uint8Array | undefined)[] = [];
  const out = new Uint8Array(measureFields(where, fields, values, strings));
  writeFields(fields, values, strings, out);
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
