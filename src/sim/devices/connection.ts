/** Device 0x19 connection: the BLE advertising name. */
import type { DeviceContext, DeviceHandlers } from "./_context.ts";

export function connectionHandlers(r: DeviceContext): DeviceHandlers<"connection"> {
  return {
    get_bluetooth_advertising_name: () => ({ name: `${r.identity.bluetoothName}\0` }),
  };
}
