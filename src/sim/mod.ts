/** The simulated RVR: protocol front end, physics, world, power model and fault knobs. */
export * from "./faults.ts";
export * from "./body/mod.ts";
export * from "./power_model.ts";
export * from "./color.ts";
export * from "./world.ts";
export * from "./simulated_rvr.ts";
export {
  checkLineBaud,
  isLineBaud,
  LineRatePort,
  lineTimeMs,
  MAX_LINE_BAUD,
  MIN_LINE_BAUD,
} from "./line_rate.ts";
