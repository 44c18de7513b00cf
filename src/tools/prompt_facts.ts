/**
 * The live facts a prompt tells the model before its steps: the connection (status, port,
 * simulated or real, the last error), the speed limit (percent and m/s), the watchdog, the
 * emergency stop and the battery as last read. Read from the runtime's state: building a prompt
 * sends nothing to the robot.
 *
 * @module
 */
import { TOP_SPEED_MPS } from "../robot/mod.ts";
import { connectionStatus } from "./connection.ts";
import { round } from "./_prompt.ts";
import { robotIsSimulated, type ToolRobot } from "./_tool.ts";

/** The speed in m/s that the speed limit lets through (moves and SI drives are capped there). */
export function speedLimitMps(robot: ToolRobot): number {
  return round(TOP_SPEED_MPS * robot.safety.speedLimitPercent / 100, 2);
}

/** The first sentence of `text` (up to its first ". "), at most 200 characters. */
export function firstSentence(text: string): string {
  const end = text.indexOf(". ");
  const sentence = end < 0 ? text : text.slice(0, end + 1);
  return sentence.length > 200 ? `${sentence.slice(0, 197)}...` : sentence;
}

/** One paragraph: what holds right now, for the model to rely on and tell the person. */
export function robotFacts(robot: ToolRobot): string {
  const c = connectionStatus(robot);
  const s = robot.rvr.safetyStatus();
  const which = robotIsSimulated(robot)
    ? "the built-in simulated RVR (nothing real moves: tell the person so)"
    : "a real RVR";
  const connection = c.status === "connected"
    ? `connected to ${which} on ${c.port}`
    : `${c.status} (port ${c.port}${
      c.error === null ? "" : `; last error: ${firstSentence(c.error)}`
    })`;
  const watchdog = s.commandTimeoutS > 0
    ? `the watchdog stops the robot ${s.commandTimeoutS} s after the last movement command`
    : "the watchdog is off";
  const estop = s.estop.latched
    ? `the emergency stop is LATCHED (${s.estop.reason ?? "no reason given"}): every movement ` +
      "is refused until it is cleared"
    : "the emergency stop is not latched";
  const battery = s.battery.percent === null
    ? "battery not read yet"
    : `battery ${s.battery.percent} % (${s.battery.state}${
      s.battery.critical ? ": critical, movement is refused" : ""
    })`;
  return `Right now: the robot is ${connection}; speed limit ${s.speedLimitPercent} % (moves ` +
    `faster than ${speedLimitMps(robot)} m/s are slowed to it); ${watchdog}; ${estop}; ` +
    `${battery}.`;
}
