/** Device 0x19 `connection` (docs/protocol.md section 8). Generated from the doc's table; edit with care. */
import type { CommandDef } from "./_types.ts";

export const CONNECTION = [
  {
    name: "get_bluetooth_advertising_name",
    device: "connection",
    did: 0x19,
    cid: 0x05,
    node: 1,
    kind: "command",
    role: "query",
    request: [],
    response: [{ name: "name", type: "str" }],
  },
] as const satisfies readonly CommandDef[];
