/** The golden packets of ../shared/rvr-vectors.json and hex helpers, for every test folder. */

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
    throw new TypeError(`Bad hex string "${hex}"; expected an even number of hex digits.`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array | readonly number[]): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export interface VectorFrame {
  flags: number;
  target: number | null;
  source: number | null;
  did: number;
  cid: number;
  seq: number;
  err: number | null;
  payload_hex: string;
  checksum: number;
  unescaped_hex: string;
  escaped: boolean;
}

export interface Vector {
  name: string;
  kind: "request" | "response" | "notification";
  description: string;
  params: Record<string, unknown>;
  bytes_hex: string;
  frame: VectorFrame;
  decoded?: Record<string, unknown>;
  request_hex?: string;
}

const VECTORS_URL = new URL("../../shared/rvr-vectors.json", import.meta.url);

/** The 117 golden packets produced by Sphero's Python SDK (../shared/rvr-vectors.json). */
export function loadVectors(): Vector[] {
  const file = JSON.parse(Deno.readTextFileSync(VECTORS_URL)) as { vectors: Vector[] };
  return file.vectors;
}
