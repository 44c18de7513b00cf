/**
 * The simulated RVR: a robot in miniature on any BytePort. It decodes real packets, answers with
 * real packets (rvr-protocol.md sec. 2.3, 7 and 12), drives an RvrBody, streams configured
 * sensors (sec. 10) and sends notifications, with live-editable fault knobs (faults.ts).
 *
 * Behaviour the protocol leaves open, decided here:
 * - Routing: node = TID & 0x0F; a packet without TID goes to the Nordic (node 1), and its reply
 *   carries SID 1. A TID naming any other node -> bad_tid 0x09.
 * - A device the node does not host -> bad_did 0x01 (drive on the Nordic; power, io, connection
 *   on the ST; unknown DIDs). A CID unknown in the device, or a command of a device both nodes
 *   host sent to the other one (get_sku to the ST, get_encoder_counts to the Nordic) -> bad_cid
 *   0x02. Wrong payload length -> bad_data_length 0x05. Out of range -> bad_data_value 0x07:
 *   anything the body or world rejects with a RangeError (raw motor mode > 2, XY flags 3, IR code
 *   > 7, IR strength > 64, ...), non-finite floats, battery reading type > 2, amplifier id > 1,
 *   temperature sensor ids other than 4/5/8, streaming token not 1-4, a slot configuration
 *   parseSlotConfiguration refuses (incl. a service of the other node; more than 5 services is
 *   `failed`, below), LED mask bit 31 or a mask/value count mismatch, palettes
 *   not made of (index, r, g, b) quadruples or naming an index twice, palette slots >= 4,
 *   colour notification intervals below 10 ms.
 * - Packets flagged as responses, and packets carrying a notification's DID/CID, are dropped
 *   without an answer (stats.packetsIgnored).
 * - Soft sleep: api_and_shell (echo), system_info, power and connection answer as usual, as do
 *   the commands that only switch things off (stop/clear streaming,
 *   disable_notifications_and_active_commands, release_led_requests, drive_stop,
 *   drive_stop_custom_decel). Everything else answers target_unavailable 0x0A. Only `wake` wakes
 *   the robot. Going to sleep halts the body, stops streaming (slot configurations are kept),
 *   switches colour detection and its notifications, IR broadcasting/following/evading and the
 *   LEDs off, drops a running magnetometer calibration, and sends did_sleep_notify (after the
 *   sleep command's own reply).
 * - Inactivity: every packet with the activity flag 0x08 restarts the countdown (only while
 *   awake). will_sleep_notify 10 s before `inactivityTimeoutMs` (default 300 000 ms; 0 or
 *   Infinity = never), then did_sleep_notify and soft sleep. A sleep command sends no will_sleep.
 * - Wake latency (faults.wakeLatencyMs): after `wake`, drive commands answer target_unavailable
 *   until ready; a wake that asked for a reply is answered when ready (at once when already so).
 * - Streaming refusals answer `failed` 0x06, the code Nordic firmware 8.3.432 answered a
 *   configuration it refused (stream_slots.ts): the known refused layouts
 *   (KNOWN_REFUSED_STREAM_SLOTS), a token with more than 5 services (more than 15 configuration
 *   bytes) and a start_streaming_service period below 33 ms. For the last two the firmware's
 *   answer is not known; 0x06 is assumed [?]. A layout no official SDK sends (sdkSendingSlot) is
 *   accepted and streams, with a warning that it was never seen on real firmware.
 * - Streaming: starting with no configured slot on that node does nothing (no timer); a slot
 *   configured while its node streams joins at the next period. Encoders stream as raw u32 (two's
 *   complement); CoreTimeLower/Upper (0x05/0x09) as the low/high words of the up time.
 *   ColorDetection streams zeros with index 0xFF while colour detection is off.
 * - Colour: enable_color_detection switches the detector and the belly LED (channel 30).
 *   get_current_detected_color_reading sends one color_detection_notify after its reply; with
 *   the detector off it answers restricted 0x04 and sends nothing. Periodic notifications need
 *   both the detector and enable_color_detection_notify, and skip readings below the minimum
 *   confidence. Classification uses the active palette (the world's rule); rgbc channels are the
 *   floor colour x 64 with the LED on, scaled by ambient light / 1000 lux (max 1) without it.
 * - Magnetometer calibration: the body turns once in place (controller 9); when it ends,
 *   magnetometer_calibration_complete_notify says success and the north yaw, or failure (yaw 0)
 *   when a motion command interrupted it.
 * - LEDs: release_led_requests sets every channel to 0 (the firmware's animation is not modelled).
 * - Palettes: 4 slots (0-3) for save/load, each holding DEFAULT_COLOR_PALETTE at boot.
 * - Motor faults exist only through the setMotorFault() knob (halts the body; notify if enabled).
 * - Fault knob errorReplies: the named command is not executed; it answers with the given code.
 * - Fault knob silentAfterPackets N: from the (N+1)th received packet on, the robot neither
 *   executes nor answers anything and sends nothing (a dead link); packets are still counted.
 * - Fault knob corruptEvery N: bit 0 of FLAGS flips in every Nth outgoing packet, so the frame
 *   stays a frame but fails its checksum.
 */
import { getLogger } from "@logtape/logtape";
import type { BytePort } from "../core/mod.ts";
import {
  buildNotification,
  buildResponse,
  commandById,
  type CommandDef,
  COMMANDS,
  decodeRequest,
  encodeFields,
  encodePacket,
  encodeSlotData,
  ErrorCode,
  errorCodeName,
  Flag,
  FRAME_ERRORS,
  FrameDecoder,
  knownStreamRefusal,
  MAX_SERVICES_PER_SLOT,
  MAX_TOKENS,
  MIN_STREAM_PERIOD_MS,
  type NodeId,
  nodeOfId,
  type NotificationName,
  type Packet,
  parseSlotConfiguration,
  PayloadLengthError,
  type RequestName,
  type RequestOf,
  type ResponseOf,
  sdkSendingSlot,
  type SlotEntry,
  wrapDeg,
} from "../protocol/mod.ts";
import { createFaultSettings, type FaultSettings } from "./faults.ts";
import { type BodyEvent, type BodyOptions, RvrBody } from "./body/mod.ts";
import {
  type BatteryEvent,
  BatteryModel,
  type BatteryOptions,
  type ThermalEvent,
  ThermalModel,
} from "./power_model.ts";
import {
  classifyColor,
  type ColorReading,
  DEFAULT_COLOR_PALETTE,
  type PaletteEntry,
} from "./color.ts";
import { SimWorld, type WorldMember } from "./world.ts";

const log = getLogger(["rvr", "sim"]);

/** Inactivity period after which the robot sleeps, unless SimOptions.inactivityTimeoutMs says otherwise [?]. */
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 300_000;
/** will_sleep_notify comes this long before the robot sleeps (sec. 7). */
export const WILL_SLEEP_LEAD_MS = 10_000;
export const DEFAULT_PHYSICS_STEP_MS = 10;
/** Longest physics step taken at once, so a stalled event loop does not teleport the robot. */
export const MAX_PHYSICS_STEP_MS = 100;
/** Shortest interval enable_color_detection_notify accepts [?]. */
export const MIN_COLOR_NOTIFY_INTERVAL_MS = 10;
/** Palette slots load_color_palette / save_color_palette address (0..n-1) [?]. */
export const COLOR_PALETTE_SLOTS = 4;
/** set_all_leds channels: 10 RGB LEDs + the undercarriage white LED (sec. 9.6). */
export const LED_CHANNELS = 31;
const UNDERCARRIAGE_CHANNEL = 30;

/** What each processor reports about itself (sec. 9.3). Bootloader versions are invented [?]. */
export const SIM_FIRMWARE = {
  1: {
    application: { major: 8, minor: 3, revision: 432 },
    bootloader: { major: 4, minor: 1, revision: 10 },
    processorName: "nRF52840\0",
  },
  2: {
    application: { major: 8, minor: 6, revision: 448 },
    bootloader: { major: 4, minor: 1, revision: 12 },
    processorName: "STM32F4\0",
  },
} as const satisfies Record<NodeId, unknown>;
export const SIM_BOARD_REVISION = 5;
export const SIM_SKU = "RV-0001";

export interface SimOptions {
  /** Robot name, also its BLE name when it looks like "RV-XXXX" (else "RV-" + a hash). */
  name?: string;
  /** Share one world between robots; default: a private world. */
  world?: SimWorld;
  body?: BodyOptions;
  battery?: BatteryOptions;
  /** Sleep after this long without an activity-flagged packet; default 300 000; 0 or Infinity = never. */
  inactivityTimeoutMs?: number;
  /** Physics interval; default 10 ms. */
  physicsStepMs?: number;
  faults?: Partial<FaultSettings>;
  /**
   * Start in soft sleep, as a robot that sat idle before the host connected: only echo, system
   * info, power and connection commands answer until `wake` (then faults.wakeLatencyMs applies).
   */
  asleep?: boolean;
  /**
   * Keep running when the port closes, like a robot whose host went away (its own control
   * timeout stops the motors), and accept a new port with `attach()`: pose, battery, streaming
   * and settings survive a reconnect. Default false: a closed port stops the simulator.
   */
  keepAlive?: boolean;
}

export const POWER_STATES = ["awake", "soft_sleep"] as const;
export type PowerState = (typeof POWER_STATES)[number];

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

/** The notification switches the host turns on with enable_*_notify. */
const NOTIFY_SWITCHES = [
  "batteryState",
  "motorStall",
  "motorFault",
  "gyroMax",
  "thermal",
  "irMessage",
] as const;
type NotifySwitch = (typeof NOTIFY_SWITCHES)[number];

/** Devices that answer while the robot is in soft sleep. */
const DEVICES_AWAKE_IN_SLEEP = new Set([0x10, 0x11, 0x13, 0x19]);
/** Commands of other devices that still answer in soft sleep (they only switch things off). */
const COMMANDS_ALLOWED_IN_SLEEP = new Set<string>([
  "stop_streaming_service",
  "clear_streaming_service",
  "disable_notifications_and_active_commands",
  "release_led_requests",
  "drive_stop",
  "drive_stop_custom_decel",
]);
const DRIVE_DID = 0x16;
/** Commands that hand the body a new drive controller (they interrupt a magnetometer calibration). */
const MOTION_COMMANDS = new Set<string>([
  "raw_motors",
  "drive_with_heading",
  "drive_tank_si_units",
  "drive_tank_normalized",
  "drive_rc_si_units",
  "drive_rc_normalized",
  "drive_with_yaw_si",
  "drive_with_yaw_normalized",
  "drive_to_position_si",
  "drive_to_position_normalized",
  "drive_stop",
  "drive_stop_custom_decel",
  "start_robot_to_robot_infrared_following",
  "start_robot_to_robot_infrared_evading",
]);

/**
 * `failed` when `payload` is a configure_streaming_service naming more services than a slot takes
 * (whole 3-byte entries past the token, more than MAX_SERVICES_PER_SLOT), else undefined.
 */
function tooManyStreamServices(command: string, payload: Uint8Array): number | undefined {
  if (command !== "configure_streaming_service") return undefined;
  const configurationBytes = payload.length - 1;
  return configurationBytes % 3 === 0 && configurationBytes / 3 > MAX_SERVICES_PER_SLOT
    ? ErrorCode.failed
    : undefined;
}

/** A command outcome with a specific ERR code. */
class CommandError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

interface RequestContext {
  readonly node: NodeId;
  /** Extra delay of this reply (wake latency). */
  replyDelayMs: number;
  /** Runs after the reply went out (or at once when none is sent), only on success. */
  after?: () => void;
}

type Reply<N extends RequestName> = keyof ResponseOf<N> extends never ? void : ResponseOf<N>;
type Handlers = { [N in RequestName]: (p: RequestOf<N>, ctx: RequestContext) => Reply<N> };
type AnyHandler = (p: unknown, ctx: RequestContext) => Record<string, unknown> | void;

interface NodeStreaming {
  /** token -> services, in configuration order. */
  slots: Map<number, SlotEntry[]>;
  timer: TimerId | undefined;
}

interface InfraredControl {
  mode: "follow" | "evade";
  farCode: number;
  nearCode: number;
  targetSeen: boolean;
}

const EMPTY = new Uint8Array(0);
type TimerId = ReturnType<typeof setTimeout>;
let instances = 0;

/** FNV-1a, for stable per-name identities (MAC, stats id, BLE name). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const hex2 = (n: number) => (n & 0xff).toString(16).toUpperCase().padStart(2, "0");

function deviceOnNode(did: number, node: NodeId): boolean {
  return COMMANDS.some((c) =>
    c.did === did && c.kind === "command" && (c.node === node || c.node === "any")
  );
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v >>>= 1) n += v & 1;
  return n;
}

export class SimulatedRvr {
  readonly name: string;
  readonly bluetoothName: string;
  readonly macAddress: string;
  readonly statsId: number;
  readonly faults: FaultSettings;
  readonly body: RvrBody;
  readonly battery: BatteryModel;
  readonly thermal: ThermalModel;
  readonly world: SimWorld;
  readonly member: WorldMember;
  readonly inactivityTimeoutMs: number;
  readonly physicsStepMs: number;

  #port: BytePort;
  #lifecycle: "new" | "running" | "stopped" = "new";
  #leftWorld = false;
  #decoder: FrameDecoder;
  #writes: Promise<void> = Promise.resolve();
  #stats = {
    packetsIn: 0,
    packetsOut: 0,
    repliesSent: 0,
    notificationsSent: 0,
    packetsIgnored: 0,
    packetsCorrupted: 0,
    writeErrors: 0,
    internalErrors: 0,
  };
  #startedAt = 0;
  #lastStepAt = 0;
  #physicsTimer: TimerId | undefined;
  #willSleepTimer: TimerId | undefined;
  #didSleepTimer: TimerId | undefined;
  #oneShots = new Set<TimerId>();

  #powerState: PowerState = "awake";
  #readyAt = 0;
  readonly #startAsleep: boolean;
  readonly #keepAlive: boolean;
  #resolveStopped!: (reason: string) => void;
  /** Resolves with the reason once the simulator stops (stop(), or its port closed). */
  readonly stopped: Promise<string> = new Promise((resolve) => this.#resolveStopped = resolve);
  #notify: Record<NotifySwitch, boolean> = {
    batteryState: false,
    motorStall: false,
    motorFault: false,
    gyroMax: false,
    thermal: false,
    irMessage: false,
  };
  #motorFault = false;
  #leds = new Array<number>(LED_CHANNELS).fill(0);
  #ledsReleased = true;
  #colorDetection = false;
  #colorNotifyTimer: TimerId | undefined;
  #palette: PaletteEntry[] = DEFAULT_COLOR_PALETTE.map((e) => ({ ...e }));
  #savedPalettes: PaletteEntry[][] = Array.from(
    { length: COLOR_PALETTE_SLOTS },
    () => DEFAULT_COLOR_PALETTE.map((e) => ({ ...e })),
  );
  #streams: Record<NodeId, NodeStreaming> = {
    1: { slots: new Map(), timer: undefined },
    2: { slots: new Map(), timer: undefined },
  };
  #infrared: InfraredControl | undefined;
  /** A running magnetometer calibration and the motion-command count when it began. */
  #magnetometerCalibration: { motionCommands: number } | undefined;
  #motionCommands = 0;
  readonly #handlers: Handlers;

  constructor(port: BytePort, options: SimOptions = {}) {
    this.#port = port;
    const name = options.name ?? `RV-${(++instances).toString(16).toUpperCase().padStart(4, "0")}`;
    if (typeof name !== "string" || name.length === 0 || name.length > 32) {
      throw new RangeError(
        `SimOptions.name must be a string of 1-32 characters, got ${JSON.stringify(name)}.`,
      );
    }
    this.name = name;
    const h = hash32(name);
    this.bluetoothName = name.startsWith("RV-")
      ? name
      : `RV-${(h & 0xffff).toString(16).toUpperCase().padStart(4, "0")}`;
    const h2 = hash32(`${name}/mac`);
    this.macAddress = [0xc0 | (h2 >>> 26), h2 >>> 16, h2 >>> 8, h2, h >>> 24, h >>> 16]
      .map(hex2).join(":");
    this.statsId = h >>> 16;

    const timeout = options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
    if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
      throw new RangeError(
        `SimOptions.inactivityTimeoutMs must be >= 0 ms (0 or Infinity = never sleep), got ${timeout}.`,
      );
    }
    this.inactivityTimeoutMs = timeout === 0 ? Infinity : timeout;
    const step = options.physicsStepMs ?? DEFAULT_PHYSICS_STEP_MS;
    if (typeof step !== "number" || !Number.isFinite(step) || step < 1 || step > 1000) {
      throw new RangeError(
        `SimOptions.physicsStepMs must be 1-1000 ms, got ${step}; the default is ${DEFAULT_PHYSICS_STEP_MS}.`,
      );
    }
    this.physicsStepMs = step;
    this.faults = createFaultSettings(options.faults ?? {});
    this.#startAsleep = options.asleep === true;
    this.#keepAlive = options.keepAlive === true;

    this.body = new RvrBody(options.body);
    this.battery = new BatteryModel(options.battery);
    this.thermal = new ThermalModel();
    this.world = options.world ?? new SimWorld();
    this.member = this.world.join(name, this.body);
    this.member.onMessage((code) => this.#onInfraredMessage(code));
    this.#decoder = new FrameDecoder({
      onError: (reason) => {
        if (reason !== "noise") log.debug("Dropped frame: {reason}", { reason, robot: this.name });
      },
    });
    this.#handlers = this.#makeHandlers();
  }

  // ---------------------------------------------------------------- public surface

  get powerState(): PowerState {
    return this.#powerState;
  }

  /** False while a wake is still completing (faults.wakeLatencyMs) or asleep. */
  get isReady(): boolean {
    return this.#powerState === "awake" && performance.now() >= this.#readyAt;
  }

  /** The 31 set_all_leds channel values (0 after release_led_requests and in sleep). */
  get leds(): ReadonlyArray<number> {
    return [...this.#leds];
  }

  /** True after release_led_requests (or sleep) until the next set_all_leds. */
  get ledsReleased(): boolean {
    return this.#ledsReleased;
  }

  get colorDetectionEnabled(): boolean {
    return this.#colorDetection;
  }

  /** Slot configurations per node (token -> services), as the host configured them. */
  streamingSlots(node: NodeId): ReadonlyMap<number, readonly SlotEntry[]> {
    return new Map(this.#streams[node].slots);
  }

  /** True while node's streaming timer runs. */
  isStreaming(node: NodeId): boolean {
    return this.#streams[node].timer !== undefined;
  }

  get activePalette(): readonly PaletteEntry[] {
    return this.#palette.map((e) => ({ ...e }));
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<SimStats> {
    let framesDropped = 0;
    for (const reason of FRAME_ERRORS) {
      if (reason !== "noise") framesDropped += this.#decoder.stats.errors[reason];
    }
    return { ...this.#stats, framesDropped };
  }

  /** Core up time: ms since start(). */
  get upTimeMs(): number {
    return this.#lifecycle === "new" ? 0 : Math.max(0, performance.now() - this.#startedAt);
  }

  /** Fault/test knob: a motor driver fault. Halts the body; motor_fault_notify when enabled. */
  setMotorFault(isFault: boolean): void {
    if (isFault === this.#motorFault) return;
    this.#motorFault = isFault;
    if (isFault) this.#haltBody();
    log.info("Motor fault {state}", { robot: this.name, state: isFault ? "raised" : "cleared" });
    if (this.#notify.motorFault) this.#notifyHost("motor_fault_notify", { is_fault: isFault });
  }

  /** Attaches to the port and starts the physics and inactivity timers. Call once. */
  start(): void {
    if (this.#lifecycle !== "new") {
      throw new Error(
        `SimulatedRvr ${this.name} was already ${this.#lifecycle}; create a new one instead.`,
      );
    }
    this.#lifecycle = "running";
    this.#startedAt = performance.now();
    this.#lastStepAt = this.#startedAt;
    this.#startPort(this.#port);
    this.#physicsTimer = setInterval(
      () => this.#guard("physics", () => this.#step()),
      this.physicsStepMs,
    );
    if (this.#startAsleep) this.#powerState = "soft_sleep";
    else this.#armInactivity();
    log.info("Simulated RVR {name} started on {path} ({power})", {
      name: this.name,
      path: this.#port.path,
      power: this.#powerState,
    });
  }

  /**
   * Gives a running, keep-alive simulator a new port after the previous one closed (a host that
   * reconnects). Throws when the simulator was not created with `keepAlive`, is not running, or
   * its current port is still open.
   */
  attach(port: BytePort): void {
    if (!this.#keepAlive) {
      throw new Error(`SimulatedRvr ${this.name} was created without keepAlive; it cannot attach.`);
    }
    if (this.#lifecycle !== "running") {
      throw new Error(`SimulatedRvr ${this.name} is ${this.#lifecycle}; start() it first.`);
    }
    if (this.#port.isOpen) {
      throw new Error(
        `SimulatedRvr ${this.name} is still attached to ${this.#port.path}; close that port first.`,
      );
    }
    this.#decoder.reset();
    this.#port = port;
    this.#startPort(port);
    log.info("Simulated RVR {name} attached to {path}", { name: this.name, path: port.path });
  }

  #startPort(port: BytePort): void {
    port.start({
      onData: (chunk) => this.#onData(chunk),
      onClose: (error) => {
        if (error) log.warn("Port {path} failed: {error}", { path: port.path, error });
        else log.info("Port {path} closed", { path: port.path });
        if (!this.#keepAlive) {
          this.#shutdown(
            error ? `port ${port.path} failed: ${error.message}` : `port ${port.path} closed`,
          );
        }
      },
    });
  }

  /** Clears every timer and leaves the world; waits for queued writes. Does not close the port. */
  async stop(): Promise<void> {
    this.#shutdown("stopped");
    if (!this.#leftWorld) {
      this.#leftWorld = true;
      this.member.leave();
      log.info("Simulated RVR {name} stopped", { name: this.name });
    }
    await this.#writes;
  }

  // ---------------------------------------------------------------- input

  #onData(chunk: Uint8Array): void {
    for (const packet of this.#decoder.push(chunk)) {
      this.#guard("packet", () => this.#onPacket(packet));
    }
  }

  #isSilent(): boolean {
    const n = this.faults.silentAfterPackets;
    return n !== null && this.#stats.packetsIn > n;
  }

  #onPacket(packet: Packet): void {
    if (this.#lifecycle !== "running") return;
    this.#stats.packetsIn++;
    if (this.#isSilent() || (packet.flags & Flag.isResponse) !== 0) {
      this.#stats.packetsIgnored++;
      return;
    }
    const def = commandById(packet.did, packet.cid);
    log.debug("Received {command} seq {seq} for node {node}", {
      command: def?.name ?? `0x${packet.did.toString(16)}/0x${packet.cid.toString(16)}`,
      seq: packet.seq,
      node: (packet.target ?? 1) & 0x0f,
    });
    if (def?.kind === "notification") {
      // A notification is the robot's to send; one sent to it gets no answer.
      this.#stats.packetsIgnored++;
      return;
    }
    if (packet.flags & Flag.resetsInactivityTimeout) this.#armInactivity();

    // No TID: treat as Nordic (no SDK sends that; sec. 2.2).
    const node = packet.target === undefined ? 1 : nodeOfId(packet.target);
    const ctx: RequestContext = { node: node as NodeId, replyDelayMs: 0 };
    let err = 0;
    let payload: Uint8Array = EMPTY;
    try {
      const values = this.#execute(packet, node, def, ctx);
      if (def && def.response.length > 0) {
        payload = this.#encodeReply(def, values);
      }
    } catch (e) {
      err = this.#errorCodeOf(e, packet, def);
      payload = EMPTY;
    }
    this.#answer(packet, err, payload, ctx.replyDelayMs, err === 0 ? ctx.after : undefined);
  }

  #encodeReply(def: CommandDef, values: Record<string, unknown> | void): Uint8Array {
    try {
      return encodeFields(def.name, def.response, values ?? {});
    } catch (e) {
      this.#stats.internalErrors++;
      log.error("Simulator built a bad {command} reply: {error}", { command: def.name, error: e });
      throw new CommandError(ErrorCode.failed, `bad ${def.name} reply: ${(e as Error).message}`);
    }
  }

  #execute(
    packet: Packet,
    node: number,
    def: CommandDef | undefined,
    ctx: RequestContext,
  ): Record<string, unknown> | void {
    const id = `DID 0x${packet.did.toString(16)} CID 0x${packet.cid.toString(16)}`;
    if (node !== 1 && node !== 2) {
      throw new CommandError(
        ErrorCode.bad_tid,
        `TID 0x${packet.target?.toString(16)} names node ${node}`,
      );
    }
    if (!deviceOnNode(packet.did, node)) {
      throw new CommandError(ErrorCode.bad_did, `${id}: no such device on node ${node}`);
    }
    if (!def || (def.node !== "any" && def.node !== node)) {
      throw new CommandError(ErrorCode.bad_cid, `${id}: no such command on node ${node}`);
    }
    const forced = this.faults.errorReplies[def.name];
    if (forced !== undefined) {
      throw new CommandError(forced, `fault knob errorReplies.${def.name}`);
    }
    if (
      this.#powerState === "soft_sleep" && !DEVICES_AWAKE_IN_SLEEP.has(def.did) &&
      !COMMANDS_ALLOWED_IN_SLEEP.has(def.name)
    ) {
      throw new CommandError(ErrorCode.target_unavailable, `${def.name} while asleep`);
    }
    if (
      def.did === DRIVE_DID && this.#powerState === "awake" && performance.now() < this.#readyAt
    ) {
      throw new CommandError(ErrorCode.target_unavailable, `${def.name} while still waking`);
    }
    let params: Record<string, unknown>;
    try {
      params = decodeRequest(def.name as RequestName, packet.payload) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof PayloadLengthError) {
        throw new CommandError(
          tooManyStreamServices(def.name, packet.payload) ?? ErrorCode.bad_data_length,
          e.message,
        );
      }
      throw e;
    }
    for (const [k, v] of Object.entries(params)) {
      if (typeof v === "number" && !Number.isFinite(v)) {
        throw new RangeError(`${def.name}.${k} is ${v}; it must be a finite number.`);
      }
    }
    const handler = this.#handlers[def.name as RequestName] as unknown as AnyHandler;
    const values = handler(params, ctx);
    if (MOTION_COMMANDS.has(def.name)) {
      this.#motionCommands++;
      // A new drive controller replaces IR following/evading (unless it is one).
      if (!def.name.startsWith("start_robot_to_robot_infrared_")) this.#infrared = undefined;
    }
    return values;
  }

  #errorCodeOf(e: unknown, packet: Packet, def: CommandDef | undefined): number {
    const what = def?.name ?? `0x${packet.did.toString(16)}/0x${packet.cid.toString(16)}`;
    if (e instanceof CommandError) {
      log.debug("{command} -> {err}: {reason}", {
        command: what,
        err: errorCodeName(e.code),
        reason: e.message,
      });
      return e.code;
    }
    if (e instanceof RangeError) {
      log.debug("{command} -> bad_data_value: {reason}", { command: what, reason: e.message });
      return ErrorCode.bad_data_value;
    }
    this.#stats.internalErrors++;
    log.error("{command} failed inside the simulator: {error}", { command: what, error: e });
    return ErrorCode.failed;
  }

  // ---------------------------------------------------------------- output

  /** Replies iff FLAGS 0x02 (with 0x04: only on error), sec. 7. `after` runs once the reply is out. */
  #answer(
    request: Packet,
    err: number,
    payload: Uint8Array,
    extraDelayMs: number,
    after: (() => void) | undefined,
  ): void {
    const wants = (request.flags & Flag.requestsResponse) !== 0;
    const errorOnly = (request.flags & Flag.requestsOnlyErrorResponse) !== 0;
    if (!wants || (errorOnly && err === 0)) {
      after?.();
      return;
    }
    const reply = buildResponse(request, err, payload);
    const delayMs = extraDelayMs + this.faults.replyDelayMs;
    const send = () => {
      this.#send(reply);
      after?.();
    };
    if (delayMs > 0) this.#later(delayMs, send);
    else send();
  }

  #notifyHost<N extends NotificationName>(name: N, values: ResponseOf<N>, node?: NodeId): void {
    this.#send(buildNotification(name, values, node));
  }

  #send(packet: Packet): void {
    if (this.#lifecycle !== "running" || this.#isSilent()) return;
    // A keep-alive robot without a host talks into the void, as a real one would.
    if (!this.#port.isOpen) return;
    const bytes = encodePacket(packet);
    this.#stats.packetsOut++;
    if (packet.flags & Flag.isResponse) this.#stats.repliesSent++;
    else this.#stats.notificationsSent++;
    const every = this.faults.corruptEvery;
    if (every !== null && this.#stats.packetsOut % every === 0) {
      // FLAGS (0x38/0x39) is never escaped and never becomes a special byte when bit 0 flips:
      // the frame stays a frame, its checksum no longer matches.
      bytes[1] ^= 0x01;
      this.#stats.packetsCorrupted++;
    }
    this.#writes = this.#writes.then(() => this.#port.write(bytes)).catch((error) => {
      this.#stats.writeErrors++;
      log.warn("Write to {path} failed: {error}", { path: this.#port.path, error });
    });
  }

  // ---------------------------------------------------------------- timers

  #later(ms: number, fn: () => void): TimerId {
    const id = setTimeout(() => {
      this.#oneShots.delete(id);
      this.#guard("timer", fn);
    }, ms);
    this.#oneShots.add(id);
    return id;
  }

  /** Runs timer/port work; an exception is a simulator bug: logged and counted, never thrown into the event loop. */
  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#stats.internalErrors++;
      log.error("Simulator {what} failed: {error}", { what, error, robot: this.name });
    }
  }

  #shutdown(reason: string): void {
    if (this.#lifecycle === "stopped") return;
    this.#lifecycle = "stopped";
    this.#resolveStopped(reason);
    clearInterval(this.#physicsTimer);
    this.#physicsTimer = undefined;
    this.#clearInactivity();
    for (const id of this.#oneShots) clearTimeout(id);
    this.#oneShots.clear();
    this.#magnetometerCalibration = undefined;
    for (const node of [1, 2] as const) this.#stopStreaming(node);
    this.#stopColorNotify();
  }

  #clearInactivity(): void {
    clearTimeout(this.#willSleepTimer);
    clearTimeout(this.#didSleepTimer);
    this.#willSleepTimer = undefined;
    this.#didSleepTimer = undefined;
  }

  /** (Re)starts the inactivity countdown; only while awake and running. */
  #armInactivity(): void {
    this.#clearInactivity();
    if (
      this.#lifecycle !== "running" || this.#powerState !== "awake" ||
      !Number.isFinite(this.inactivityTimeoutMs)
    ) return;
    const willAt = Math.max(0, this.inactivityTimeoutMs - WILL_SLEEP_LEAD_MS);
    this.#willSleepTimer = setTimeout(() => {
      this.#willSleepTimer = undefined;
      this.#guard("will_sleep", () => this.#notifyHost("will_sleep_notify", {}));
    }, willAt);
    this.#didSleepTimer = setTimeout(() => {
      this.#didSleepTimer = undefined;
      this.#guard("inactivity", () => this.#goToSleep("inactivity"));
    }, this.inactivityTimeoutMs);
  }

  #step(): void {
    const now = performance.now();
    const dt = Math.min(now - this.#lastStepAt, MAX_PHYSICS_STEP_MS);
    this.#lastStepAt = now;
    if (dt <= 0) return;
    this.#updateInfraredTarget();
    for (const e of this.body.step(dt)) this.#onBodyEvent(e);
    this.#checkMagnetometerCalibration();
    const current = this.body.motorCurrentA;
    for (const e of this.battery.step(dt, current)) this.#onBatteryEvent(e);
    for (const e of this.thermal.step(dt, current)) this.#onThermalEvent(e);
  }

  #onBodyEvent(e: BodyEvent): void {
    switch (e.type) {
      case "xy_position_drive_result":
        this.#notifyHost("xy_position_drive_result_notify", { success: e.success });
        break;
      case "robot_has_stopped":
        this.#notifyHost("robot_has_stopped_notify", {});
        break;
      case "motor_stall":
        if (this.#notify.motorStall) {
          this.#notifyHost("motor_stall_notify", {
            motor_index: e.motorIndex,
            is_triggered: e.isTriggered,
          });
        }
        break;
      case "gyro_max":
        if (this.#notify.gyroMax) this.#notifyHost("gyro_max_notify", { flags: e.flags });
        break;
    }
  }

  #onBatteryEvent(e: BatteryEvent): void {
    log.info("Battery state {state}", { robot: this.name, state: e.state });
    if (this.#notify.batteryState) {
      this.#notifyHost("battery_voltage_state_change_notify", { state: e.state });
    }
  }

  #onThermalEvent(e: ThermalEvent): void {
    log.info("Motor thermal status {left}/{right}", {
      robot: this.name,
      left: e.left.status,
      right: e.right.status,
    });
    if (this.#notify.thermal) {
      this.#notifyHost("motor_thermal_protection_status_notify", {
        left_motor_temperature: e.left.temperatureC,
        left_motor_status: e.left.status,
        right_motor_temperature: e.right.temperatureC,
        right_motor_status: e.right.status,
      });
    }
  }

  // ---------------------------------------------------------------- power

  #goToSleep(reason: string): void {
    if (this.#powerState === "soft_sleep") return;
    this.#powerState = "soft_sleep";
    this.#clearInactivity();
    this.#cancelMagnetometerCalibration();
    this.#haltBody();
    for (const node of [1, 2] as const) this.#stopStreaming(node);
    this.#stopColorNotify();
    this.#colorDetection = false;
    this.member.stopBroadcast();
    this.#leds.fill(0);
    this.#ledsReleased = true;
    log.info("Simulated RVR {name} went to sleep ({reason})", { name: this.name, reason });
    this.#notifyHost("did_sleep_notify", {});
  }

  #wake(ctx: RequestContext): void {
    const now = performance.now();
    if (this.#powerState === "soft_sleep") {
      this.#powerState = "awake";
      this.#readyAt = now + this.faults.wakeLatencyMs;
      this.#armInactivity();
      log.info("Simulated RVR {name} woke up (ready in {ms} ms)", {
        name: this.name,
        ms: this.faults.wakeLatencyMs,
      });
    }
    ctx.replyDelayMs = Math.max(0, this.#readyAt - now);
  }

  // ---------------------------------------------------------------- streaming

  #stopStreaming(node: NodeId): void {
    const s = this.#streams[node];
    clearInterval(s.timer);
    s.timer = undefined;
  }

  #startStreaming(node: NodeId, periodMs: number): void {
    if (periodMs < MIN_STREAM_PERIOD_MS) {
      throw new CommandError(
        ErrorCode.failed,
        `streaming period ${periodMs} ms is below ${MIN_STREAM_PERIOD_MS} ms; use a longer period`,
      );
    }
    this.#stopStreaming(node);
    const s = this.#streams[node];
    if (s.slots.size === 0) {
      log.debug("Node {node} has no configured slot: nothing to stream", { node });
      return;
    }
    s.timer = setInterval(() => this.#guard("streaming", () => this.#streamTick(node)), periodMs);
  }

  #streamTick(node: NodeId): void {
    const s = this.#streams[node];
    const tokens = [...s.slots.keys()].sort((a, b) => a - b);
    const values: Record<string, Record<string, number>> = {};
    for (const token of tokens) {
      const entries = s.slots.get(token) as SlotEntry[];
      for (const e of entries) values[e.service.key] ??= this.#streamValues(e.service.key);
      const data = encodeSlotData(entries, values);
      this.#notifyHost(
        "streaming_service_data_notify",
        { token, sensor_data: Array.from(data) },
        node,
      );
    }
  }

  /** Live values of one stream service, keyed by attribute name (sec. 10.2). */
  #streamValues(key: string): Record<string, number> {
    const b = this.body;
    switch (key) {
      case "quaternion": {
        const q = b.quaternion;
        return { W: q.w, X: q.x, Y: q.y, Z: q.z };
      }
      case "imu": {
        const a = b.imu;
        return { Pitch: a.pitchDeg, Roll: a.rollDeg, Yaw: a.yawDeg };
      }
      case "accelerometer": {
        const a = b.accelerometer;
        return { X: a.x, Y: a.y, Z: a.z };
      }
      case "gyroscope": {
        const g = b.gyroscope;
        return { X: g.x, Y: g.y, Z: g.z };
      }
      case "color_detection": {
        const c = this.#colorDetection
          ? this.#colorSample()
          : { r: 0, g: 0, b: 0, confidence: 0, classificationId: 0xff };
        return {
          R: c.r,
          G: c.g,
          B: c.b,
          Index: c.classificationId,
          Confidence: c.confidence / 255,
        };
      }
      case "core_time_lower":
        return { Time: Math.floor(this.upTimeMs) % 0x1_0000_0000 };
      case "core_time_upper":
        return { Time: Math.floor(Math.floor(this.upTimeMs) / 0x1_0000_0000) };
      case "locator": {
        const p = b.pose;
        return { X: p.x, Y: p.y };
      }
      case "velocity": {
        const v = b.velocity;
        return { X: v.x, Y: v.y };
      }
      case "speed":
        return { Speed: b.speedMps };
      case "ambient_light":
        return { Light: this.member.ambientLightLux() };
      case "encoders": {
        const e = b.encoders;
        return { LeftTicks: e.left >>> 0, RightTicks: e.right >>> 0 };
      }
      default:
        throw new Error(`No live value for stream service "${key}"; add it to #streamValues.`);
    }
  }

  // ---------------------------------------------------------------- colour

  /** What the colour detector sees: the floor colour classified against the active palette. */
  #colorSample(): ColorReading {
    return this.member.colorUnder(this.#palette);
  }

  #sendColorNotification(c: ColorReading): void {
    this.#notifyHost("color_detection_notify", {
      red: c.r,
      green: c.g,
      blue: c.b,
      confidence: c.confidence,
      color_classification_id: c.classificationId,
    });
  }

  #stopColorNotify(): void {
    clearInterval(this.#colorNotifyTimer);
    this.#colorNotifyTimer = undefined;
  }

  #colorNotifyTick(minConfidence: number): void {
    if (this.#powerState !== "awake" || !this.#colorDetection) return;
    const c = this.#colorSample();
    if (c.confidence >= minConfidence) this.#sendColorNotification(c);
  }

  #setColorDetection(on: boolean): void {
    this.#colorDetection = on;
    this.#leds[UNDERCARRIAGE_CHANNEL] = on ? 255 : 0;
  }

  // ---------------------------------------------------------------- infrared, magnetometer

  #onInfraredMessage(code: number): void {
    if (this.#lifecycle !== "running" || this.#powerState !== "awake") return;
    log.debug("IR message {code} reached {name}", { code, name: this.name });
    if (this.#notify.irMessage) {
      this.#notifyHost("robot_to_robot_infrared_message_received_notify", { infrared_code: code });
    }
  }

  #startInfrared(mode: InfraredControl["mode"], farCode: number, nearCode: number): void {
    this.member.findBroadcaster(farCode, nearCode); // RangeError for codes > 7, before any change
    this.#stopInfrared();
    this.#infrared = { mode, farCode, nearCode, targetSeen: false };
    this.#updateInfraredTarget();
  }

  #stopInfrared(mode?: InfraredControl["mode"]): void {
    const ir = this.#infrared;
    if (!ir || (mode !== undefined && ir.mode !== mode)) return;
    this.#infrared = undefined;
    this.body.setInfraredTarget(ir.mode, null);
  }

  /** Steers the follow/evade controller at the broadcaster's current position; stops when it is lost. */
  #updateInfraredTarget(): void {
    const ir = this.#infrared;
    if (!ir) return;
    const target = this.member.findBroadcaster(ir.farCode, ir.nearCode);
    if (target) this.body.setInfraredTarget(ir.mode, target);
    else if (ir.targetSeen) this.body.setInfraredTarget(ir.mode, null);
    ir.targetSeen = target !== null;
  }

  /**
   * The body turns once in place (controller 9) and then stops. It succeeded when no motion
   * command interrupted it; either way the host hears magnetometer_calibration_complete_notify.
   */
  #checkMagnetometerCalibration(): void {
    const cal = this.#magnetometerCalibration;
    if (!cal || this.body.isCalibratingMagnetometer) return;
    this.#magnetometerCalibration = undefined;
    const success = cal.motionCommands === this.#motionCommands;
    log.debug("Magnetometer calibration {result}", { result: success ? "done" : "interrupted" });
    this.#notifyHost("magnetometer_calibration_complete_notify", {
      is_successful: success,
      yaw_north_direction: success ? Math.round(wrapDeg(this.member.northYawDeg())) : 0,
    });
  }

  /**
   * Stops the body at once (stop controller), ending IR following/evading; a running
   * magnetometer calibration counts as interrupted.
   */
  #haltBody(): void {
    this.#stopInfrared();
    this.#motionCommands++;
    this.body.halt();
  }

  /** Drops a running calibration without a notification (sleep, disable_notifications...). */
  #cancelMagnetometerCalibration(): void {
    this.#magnetometerCalibration = undefined;
  }

  // ---------------------------------------------------------------- handlers (one per sec. 8 command)

  #makeHandlers(): Handlers {
    const b = this.body;
    const firmware = (node: NodeId) => SIM_FIRMWARE[node];
    const setNotify = (which: NotifySwitch) => (p: { is_enabled: boolean }) => {
      this.#notify[which] = p.is_enabled;
    };
    return {
      // api_and_shell
      echo: (p) => ({ data: p.data }),
      generate_api_error: (p) => {
        if (p.error !== 0) {
          throw new CommandError(p.error, `generate_api_error asked for ${errorCodeName(p.error)}`);
        }
      },

      // system_info
      get_main_application_version: (_p, ctx) => ({ ...firmware(ctx.node).application }),
      get_bootloader_version: (_p, ctx) => ({ ...firmware(ctx.node).bootloader }),
      get_board_revision: () => ({ revision: SIM_BOARD_REVISION }),
      get_mac_address: () => ({ mac_address: this.macAddress }),
      get_stats_id: () => ({ stats_id: this.statsId }),
      get_processor_name: (_p, ctx) => ({ name: firmware(ctx.node).processorName }),
      get_sku: () => ({ sku: SIM_SKU }),
      get_core_up_time_in_milliseconds: () => ({ up_time: BigInt(Math.floor(this.upTimeMs)) }),

      // power
      sleep: (_p, ctx) => {
        ctx.after = () => this.#goToSleep("sleep command");
      },
      wake: (_p, ctx) => this.#wake(ctx),
      get_battery_percentage: () => ({ percentage: this.battery.percentage }),
      get_battery_voltage_state: () => ({ state: this.battery.state }),
      enable_battery_voltage_state_change_notify: setNotify("batteryState"),
      get_battery_voltage_in_volts: (p) => {
        if (p.reading_type > 2) {
          throw new RangeError(`reading_type ${p.reading_type} is not 0, 1 or 2.`);
        }
        return { voltage: this.battery.voltage(p.reading_type as 0 | 1 | 2) };
      },
      get_battery_voltage_state_thresholds: () => {
        const t = this.battery.thresholds;
        return {
          critical_threshold: t.critical,
          low_threshold: t.low,
          hysteresis: t.hysteresis,
        };
      },
      get_current_sense_amplifier_current: (p) => {
        if (p.amplifier_id > 1) {
          throw new RangeError(`amplifier_id ${p.amplifier_id} is not 0 (left) or 1 (right).`);
        }
        const current = b.motorCurrentA;
        return { amplifier_current: p.amplifier_id === 0 ? current.left : current.right };
      },

      // drive
      raw_motors: (p) =>
        b.rawMotors(p.left_mode, p.left_duty_cycle, p.right_mode, p.right_duty_cycle),
      reset_yaw: () => b.resetYaw(),
      drive_with_heading: (p) => b.driveWithHeading(p.speed, p.heading, p.flags),
      set_default_control_system_for_type: (p) =>
        b.setDefaultControlSystem(p.control_system_type, p.controller_id),
      set_custom_control_system_timeout: (p) => b.setControlSystemTimeout(p.command_timeout),
      enable_motor_stall_notify: setNotify("motorStall"),
      enable_motor_fault_notify: setNotify("motorFault"),
      get_motor_fault_state: () => ({ is_fault: this.#motorFault }),
      drive_tank_si_units: (p) => b.driveTankSi(p.left_velocity, p.right_velocity),
      drive_tank_normalized: (p) => b.driveTankNormalized(p.left_velocity, p.right_velocity),
      drive_rc_si_units: (p) => b.driveRcSi(p.yaw_angular_velocity, p.linear_velocity, p.flags),
      drive_rc_normalized: (p) =>
        b.driveRcNormalized(p.yaw_angular_velocity, p.linear_velocity, p.flags),
      drive_with_yaw_si: (p) => b.driveWithYawSi(p.yaw_angle, p.linear_velocity),
      drive_with_yaw_normalized: (p) => b.driveWithYawNormalized(p.yaw_angle, p.linear_velocity),
      drive_to_position_si: (p) =>
        b.driveToPositionSi(p.yaw_angle, p.x, p.y, p.linear_speed, p.flags),
      drive_to_position_normalized: (p) =>
        b.driveToPositionNormalized(p.yaw_angle, p.x, p.y, p.linear_speed, p.flags),
      set_drive_target_slew_parameters: (p) =>
        b.setSlewParameters({
          a: p.a,
          b: p.b,
          c: p.c,
          linearAcceleration: p.linear_acceleration,
          method: p.linear_velocity_slew_method,
        }),
      get_drive_target_slew_parameters: () => {
        const s = b.getSlewParameters();
        return {
          a: s.a,
          b: s.b,
          c: s.c,
          linear_acceleration: s.linearAcceleration,
          linear_velocity_slew_method: s.method,
        };
      },
      drive_stop_custom_decel: (p) => b.driveStop(p.deceleration_rate),
      restore_default_drive_target_slew_parameters: () => b.restoreDefaultSlewParameters(),
      get_stop_controller_state: () => ({ stopped: b.isStopped }),
      drive_stop: () => b.driveStop(),
      restore_default_control_system_timeout: () => b.restoreDefaultControlSystemTimeout(),
      get_active_control_system_id: () => ({ controller_id: b.activeControllerId }),
      restore_initial_default_control_systems: () => b.restoreInitialDefaultControlSystems(),
      get_default_control_system_for_type: (p) => ({
        controller_id: b.getDefaultControlSystem(p.control_system_type),
      }),

      // sensor: locator, IMU, encoders, magnetometer
      enable_gyro_max_notify: setNotify("gyroMax"),
      reset_locator_x_and_y: () => b.resetLocator(),
      set_locator_flags: (p) => b.setLocatorFlags(p.flags),
      get_encoder_counts: () => {
        const e = b.encoders;
        return { encoder_counts: [e.left, e.right] };
      },
      get_magnetometer_reading: () => {
        const m = this.member.magnetometer();
        return { x_axis: m.x, y_axis: m.y, z_axis: m.z };
      },
      magnetometer_calibrate_to_north: () => {
        this.#stopInfrared();
        b.startMagnetometerCalibration();
        this.#magnetometerCalibration = { motionCommands: this.#motionCommands };
      },

      // sensor: infrared
      get_bot_to_bot_infrared_readings: () => ({ sensor_data: this.member.irReadings() >>> 0 }),
      start_robot_to_robot_infrared_broadcasting: (p) =>
        this.member.startBroadcast(p.far_code, p.near_code),
      stop_robot_to_robot_infrared_broadcasting: () => {
        this.member.stopBroadcast();
        this.#stopInfrared("follow"); // sec. 9.5: "also ends following"
      },
      start_robot_to_robot_infrared_following: (p) =>
        this.#startInfrared("follow", p.far_code, p.near_code),
      stop_robot_to_robot_infrared_following: () => this.#stopInfrared("follow"),
      start_robot_to_robot_infrared_evading: (p) =>
        this.#startInfrared("evade", p.far_code, p.near_code),
      stop_robot_to_robot_infrared_evading: () => this.#stopInfrared("evade"),
      enable_robot_infrared_message_notify: setNotify("irMessage"),
      send_infrared_message: (p) =>
        this.member.sendMessage(p.infrared_code, {
          front: p.front_strength,
          left: p.left_strength,
          right: p.right_strength,
          rear: p.rear_strength,
        }),

      // sensor: colour and light
      get_rgbc_sensor_values: () => {
        const c = this.member.colorUnder();
        // Raw channels: the detector's LED lights the floor; without it only ambient light does.
        const gain = this.#colorDetection
          ? 64
          : 64 * Math.min(1, this.member.ambientLightLux() / 1000);
        const red = Math.round(c.r * gain);
        const green = Math.round(c.g * gain);
        const blue = Math.round(c.b * gain);
        return {
          red_channel_value: red,
          green_channel_value: green,
          blue_channel_value: blue,
          clear_channel_value: Math.min(0xffff, red + green + blue),
        };
      },
      get_ambient_light_sensor_value: () => ({
        ambient_light_value: this.member.ambientLightLux(),
      }),
      enable_color_detection: (p) => this.#setColorDetection(p.is_enabled),
      enable_color_detection_notify: (p) => {
        if (p.is_enabled && p.interval < MIN_COLOR_NOTIFY_INTERVAL_MS) {
          throw new RangeError(
            `Colour notification interval ${p.interval} ms is below ${MIN_COLOR_NOTIFY_INTERVAL_MS} ms.`,
          );
        }
        this.#stopColorNotify();
        if (!p.is_enabled) return;
        const minConfidence = p.minimum_confidence_threshold;
        this.#colorNotifyTimer = setInterval(
          () => this.#guard("colour", () => this.#colorNotifyTick(minConfidence)),
          p.interval,
        );
      },
      get_current_detected_color_reading: (_p, ctx) => {
        if (!this.#colorDetection) {
          throw new CommandError(
            ErrorCode.restricted,
            "colour detection is off; send enable_color_detection first",
          );
        }
        ctx.after = () => this.#sendColorNotification(this.#colorSample());
      },

      // sensor: temperatures
      get_temperature: (p) => ({
        id0: p.id0,
        temp0: this.thermal.temperature(p.id0),
        id1: p.id1,
        temp1: this.thermal.temperature(p.id1),
      }),
      get_motor_thermal_protection_status: () => {
        const l = this.thermal.left;
        const r = this.thermal.right;
        return {
          left_motor_temperature: l.temperatureC,
          left_motor_status: l.status,
          right_motor_temperature: r.temperatureC,
          right_motor_status: r.status,
        };
      },
      enable_motor_thermal_protection_status_notify: setNotify("thermal"),

      // sensor: streaming
      configure_streaming_service: (p, ctx) => {
        if (p.token < 1 || p.token > MAX_TOKENS) {
          throw new RangeError(`Streaming token ${p.token} is not 1-${MAX_TOKENS}.`);
        }
        const entries = parseSlotConfiguration(p.configuration, ctx.node);
        if (typeof entries === "string") throw new RangeError(`Slot configuration: ${entries}.`);
        const refusal = knownStreamRefusal(ctx.node, p.token, entries);
        if (refusal) throw new CommandError(refusal.code, refusal.reason);
        if (sdkSendingSlot(ctx.node, p.token, entries) === undefined) {
          log.warn(
            "Streaming slot {token} of node {node} ({services}): no official SDK sends this " +
              "layout; never seen on real firmware",
            {
              node: ctx.node,
              token: p.token,
              services: entries.map((e) => `${e.service.name}/${e.bytes * 8}-bit`),
            },
          );
        }
        this.#streams[ctx.node].slots.set(p.token, entries);
      },
      start_streaming_service: (p, ctx) => this.#startStreaming(ctx.node, p.period),
      stop_streaming_service: (_p, ctx) => this.#stopStreaming(ctx.node),
      clear_streaming_service: (_p, ctx) => {
        this.#stopStreaming(ctx.node);
        this.#streams[ctx.node].slots.clear();
      },
      disable_notifications_and_active_commands: () => {
        for (const k of NOTIFY_SWITCHES) this.#notify[k] = false;
        this.#stopColorNotify();
        this.#setColorDetection(false);
        for (const node of [1, 2] as const) {
          this.#stopStreaming(node);
          this.#streams[node].slots.clear();
        }
        this.member.stopBroadcast();
        this.#cancelMagnetometerCalibration();
        this.#haltBody();
      },

      // connection
      get_bluetooth_advertising_name: () => ({ name: `${this.bluetoothName}\0` }),

      // io: LEDs and palettes
      set_all_leds: (p) => {
        const mask = p.led_group;
        if (mask >>> LED_CHANNELS !== 0) {
          throw new RangeError(
            `LED mask 0x${mask.toString(16)} sets bits above ${
              LED_CHANNELS - 1
            }; use 0x7FFFFFFF at most.`,
          );
        }
        const values = p.led_brightness_values;
        if (values.length !== popcount(mask)) {
          throw new RangeError(
            `LED mask 0x${mask.toString(16)} sets ${
              popcount(mask)
            } bits but ${values.length} values came.`,
          );
        }
        let k = 0;
        for (let bit = 0; bit < LED_CHANNELS; bit++) {
          if (mask & (1 << bit)) this.#leds[bit] = values[k++];
        }
        this.#ledsReleased = false;
      },
      release_led_requests: () => {
        this.#leds.fill(0);
        if (this.#colorDetection) this.#leds[UNDERCARRIAGE_CHANNEL] = 255;
        this.#ledsReleased = true;
      },
      get_active_color_palette: () => ({
        rgb_index_bytes: this.#palette.flatMap((e) => [e.index, e.r, e.g, e.b]),
      }),
      set_active_color_palette: (p) => {
        const bytes = p.rgb_index_bytes;
        if (bytes.length % 4 !== 0) {
          throw new RangeError(
            `Palette has ${bytes.length} bytes; it takes 4 per colour (index, r, g, b).`,
          );
        }
        const entries: PaletteEntry[] = [];
        for (let i = 0; i < bytes.length; i += 4) {
          const index = bytes[i];
          if (entries.some((e) => e.index === index)) {
            throw new RangeError(`Palette names colour index ${index} twice.`);
          }
          entries.push({ index, r: bytes[i + 1], g: bytes[i + 2], b: bytes[i + 3] });
        }
        this.#palette = entries;
      },
      get_color_identification_report: (p) => {
        const c = { r: p.red, g: p.green, b: p.blue };
        // Each palette colour scored alone, with the world's classification rule.
        const matches = this.#palette
          .map((e) => ({ index: e.index, confidence: classifyColor(c, [e]).confidence }))
          .filter((m) => m.confidence > 0 && m.confidence >= p.confidence_threshold)
          .sort((x, y) => y.confidence - x.confidence)
          .slice(0, 12);
        return { index_confidence_byte: matches.flatMap((m) => [m.index, m.confidence]) };
      },
      load_color_palette: (p) => {
        this.#checkPaletteSlot(p.palette_index);
        this.#palette = this.#savedPalettes[p.palette_index].map((e) => ({ ...e }));
      },
      save_color_palette: (p) => {
        this.#checkPaletteSlot(p.palette_index);
        this.#savedPalettes[p.palette_index] = this.#palette.map((e) => ({ ...e }));
      },
    };
  }

  #checkPaletteSlot(index: number): void {
    if (index >= COLOR_PALETTE_SLOTS) {
      throw new RangeError(
        `Palette slot ${index} does not exist; use 0-${COLOR_PALETTE_SLOTS - 1}.`,
      );
    }
  }
}
