/** Device 0x10 api_and_shell: echo and generate_api_error. */
import { errorCodeName } from "../../protocol/mod.ts";
import { CommandError } from "../context.ts";
import type { DeviceHandlers } from "./_context.ts";

export function apiAndShellHandlers(): DeviceHandlers<"api_and_shell"> {
  return {
    echo: (p) => ({ data: p.data }),
    generate_api_error: (p) => {
      if (p.error !== 0) {
        throw new CommandError(p.error, `generate_api_error asked for ${errorCodeName(p.error)}`);
      }
    },
  };
}
