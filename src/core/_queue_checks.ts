/**
 * The command queue's argument checks: a malformed command or option throws at once, naming the
 * value and what to use instead. Private to the queue.
 *
 * @module
 */
import { type Command, COMMAND_KINDS, PRIORITIES } from "./queue_types.ts";

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
