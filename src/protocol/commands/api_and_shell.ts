/** Device 0x10 `api_and_shell` (docs/protocol.md section 8). Generated from the doc's table; edit with care. */
import type { CommandDef } from "./_types.ts";

export const API_AND_SHELL = [
  {
    name: "echo",
    device: "api_and_shell",
    did: 0x10,
    cid: 0x00,
    node: "any",
    kind: "command",
    role: "query",
    request: [{ name: "data", type: "u8", max: 16 }],
    response: [{ name: "data", type: "u8", max: 16 }],
  },
  {
    name: "generate_api_error",
    device: "api_and_shell",
    did: 0x10,
    cid: 0x09,
    node: "any",
    kind: "command",
    role: "system",
    request: [{ name: "error", type: "u8" }],
    response: [],
  },
] as const satisfies readonly CommandDef[];
