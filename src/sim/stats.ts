/** The simulated RVR's counters (SimulatedRvr.stats). */

export interface SimStats {
  /** Valid frames received. */
  packetsIn: number;
  /** Packets written (replies + notifications, corrupted ones included). */
  packetsOut: number;
  repliesSent: number;
  notificationsSent: number;
  /** Rejected frames (bad checksum, bad escape, ...); runs of noise outside frames are not counted. */
  framesDropped: number;
  /** Received packets not executed: responses, notifications, and everything while silent. */
  packetsIgnored: number;
  /** Outgoing packets whose checksum the corruptEvery knob broke. */
  packetsCorrupted: number;
  /** Writes the port rejected (e.g. closed). */
  writeErrors: number;
  /** Exceptions caught from the models or a handler (bugs; each one is logged). */
  internalErrors: number;
}

/** The counters the simulator's parts increment (framesDropped comes from the decoder). */
export type SimCounters = Omit<SimStats, "framesDropped">;

export function createCounters(): SimCounters {
  return {
    packetsIn: 0,
    packetsOut: 0,
    repliesSent: 0,
    notificationsSent: 0,
    packetsIgnored: 0,
    packetsCorrupted: 0,
    writeErrors: 0,
    internalErrors: 0,
  };
}
