/**
 * The command queue's argument checks: a malformed command or option throws at once, naming the
 * value and what to use instead; an emergency's `cancel` that fails still cancels (it is logged).
 * Private to the queue.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type Command, COMMAND_KINDS, type EmergencyOptions, PRIORITIES } from "./queue_types.ts";

const log = getLogger(["rvr", "core"]);

export function checkTimeout(timeoutMs: number, what: string): void {
  if (
    !(typeof timeoutMs === "number" && timeoutMs > 0 &&
      (Number.isFinite(timeoutMs) || timeoutMs === Infinity))
  ) {
    throw new RangeError(
      `${what} must be a number > 0 (ms) or Infinity for none, got ${String(timeoutMs)}.`,
    );
  }
}

export function checkCommand(command: Command, executor: unknown): void {
  if (typeof command !== "object" || command === null) {
    throw new TypeError(`A command must be an object { name, kind }, got ${String(command)}.`);
  }
  if (typeof command.name !== "string" || command.name.length === 0) {
    throw new TypeError(`A command needs a non-empty string name, got ${String(command.name)}.`);
  }
  if (!(COMMAND_KINDS as readonly string[]).includes(command.kind)) {
    throw new RangeError(
      `Command "${command.name}" has kind ${String(command.kind)}; use one of ${
        COMMAND_KINDS.join(", ")
      }.`,
    );
  }
  if (
    command.supersedeKey !== undefined &&
    (typeof command.supersedeKey !== "string" || command.supersedeKey === "")
  ) {
    throw new TypeError(
      `Command "${command.name}" has supersedeKey ${
        String(command.supersedeKey)
      }; use a non-empty string or leave it out.`,
    );
  }
  if (typeof executor !== "function") {
    throw new TypeError(
      `Command "${command.name}" needs an executor function (command, signal) => Promise, got ${typeof executor}.`,
    );
  }
}

export function priorityError(name: string, priority: unknown): RangeError {
  return new RangeError(
    `Command "${name}" has priority ${String(priority)}; use one of ${PRIORITIES.join(", ")}.`,
  );
}

/** An emergency must say what it does to queued commands: `options.cancel` is required. */
export function checkCancel(name: string, options: unknown): void {
  const cancel = (options as Partial<EmergencyOptions> | undefined)?.cancel;
  if (typeof cancel !== "function") {
    throw new TypeError(
      `Emergency command "${name}" needs options.cancel, (command) => Error | undefined: the error ` +
        `to reject a queued command with, or undefined to keep it; got ${typeof cancel}. Pass ` +
        "() => undefined to cancel none.",
    );
  }
}

/**
 * What `cancel` decides for one queued command: its rejection, or undefined to keep it. A
 * `cancel` that throws or returns a non-error is a bug in the caller; the command is rejected
 * anyway (an emergency must not let it run) and the fault is logged.
 */
export function cancelError<C extends Command>(
  emergencyName: string,
  command: C,
  cancel: (command: C) => Error | undefined,
): Error | undefined {
  let error: unknown;
  try {
    const decided: unknown = cancel(command);
    if (decided === undefined || decided instanceof Error) return decided;
    error = new TypeError(
      `The cancel of emergency command "${emergencyName}" returned ${String(decided)} for ` +
        `"${command.name}"; return an Error to reject it or undefined to keep it.`,
    );
  } catch (thrown) {
    error = thrown instanceof Error ? thrown : new Error(String(thrown));
  }
  log.error("Emergency {emergency}: cancel failed for queued {command}; rejected it: {error}", {
    emergency: emergencyName,
    command: command.name,
    error,
  });
  return error as Error;
}
