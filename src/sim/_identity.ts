/** A simulated robot's identity (BLE name, MAC address, stats id), stable for its name. */
import type { Identity } from "./devices/mod.ts";

/** FNV-1a, for stable per-name identities (MAC, stats id, BLE name). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const hex2 = (n: number) => (n & 0xff).toString(16).toUpperCase().padStart(2, "0");

/** The BLE name is the robot's name when it looks like "RV-XXXX", else "RV-" + a hash. */
export function identityOf(name: string): Identity {
  const h = hash32(name);
  const bluetoothName = name.startsWith("RV-")
    ? name
    : `RV-${(h & 0xffff).toString(16).toUpperCase().padStart(4, "0")}`;
  const h2 = hash32(`${name}/mac`);
  const macAddress = [0xc0 | (h2 >>> 26), h2 >>> 16, h2 >>> 8, h2, h >>> 24, h >>> 16]
    .map(hex2).join(":");
  return { bluetoothName, macAddress, statsId: h >>> 16 };
}
