/**
 * For every test folder: hex helpers, the golden packets of tests/fixtures/rvr-vectors.json
 * (produced and decoded by Sphero's official Python SDK) and the sections of docs/protocol.md that
 * tests hold the code to.
 */

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

const VECTORS_URL = new URL("../fixtures/rvr-vectors.json", import.meta.url);
const PROTOCOL_DOC_URL = new URL("../../docs/protocol.md", import.meta.url);

/** The 117 golden packets produced by Sphero's Python SDK (tests/fixtures/rvr-vectors.json). */
export function loadVectors(): Vector[] {
  const file = JSON.parse(Deno.readTextFileSync(VECTORS_URL)) as { vectors?: Vector[] };
  if (!Array.isArray(file.vectors)) {
    throw new TypeError(
      `${VECTORS_URL.pathname} has no "vectors" array; restore it from git (git checkout -- tests/fixtures/rvr-vectors.json).`,
    );
  }
  return file.vectors;
}

/**
 * The text of docs/protocol.md from the heading that starts with `heading` up to the next heading
 * of the same or a higher level: the independent reference a test checks a code table against.
 */
export async function protocolDocSection(heading: string): Promise<string> {
  const doc = await Deno.readTextFile(PROTOCOL_DOC_URL);
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.startsWith(heading));
  if (start < 0) {
    throw new Error(
      `docs/protocol.md has no heading starting with "${heading}"; a test reads that section, so rename both together.`,
    );
  }
  const level = /^#+/.exec(lines[start])?.[0].length ?? 1;
  const end = lines.findIndex((l, i) => i > start && new RegExp(`^#{1,${level}} `).test(l));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}
