/**
 * Sensor tools: streaming (start_sensor_streaming, stop_sensor_streaming, get_sensor_data:
 * sensor_streaming.ts) and one-shot readings (get_ambient_light, get_color_detection,
 * get_battery_status, get_motor_temperatures, get_encoder_counts, get_magnetometer,
 * calibrate_magnetometer, get_ir_readings: sensor_readings.ts), and the whole telemetry state
 * (get_telemetry: telemetry_state.ts), listed in that order.
 *
 * @module
 */
import {
  calibrateMagnetometer,
  getAmbientLight,
  getBatteryStatus,
  getColorDetection,
  getEncoderCounts,
  getIrReadings,
  getMagnetometer,
  getMotorTemperatures,
} from "./sensor_readings.ts";
import { getSensorData, startSensorStreaming, stopSensorStreaming } from "./sensor_streaming.ts";
export { telemetryStateNow } from "./telemetry_state.ts";
import { getTelemetry } from "./telemetry_state.ts";

export {
  compassHeadingDeg,
  decodeIrReadings,
  getBatteryStatus,
  getColorDetection,
} from "./sensor_readings.ts";
export {
  readingShape,
  readingView,
  type SensorDataView,
  sensorDataView,
} from "./sensor_streaming.ts";

export const SENSOR_TOOLS = [
  startSensorStreaming,
  stopSensorStreaming,
  getSensorData,
  getAmbientLight,
  getColorDetection,
  getBatteryStatus,
  getMotorTemperatures,
  getEncoderCounts,
  getMagnetometer,
  calibrateMagnetometer,
  getIrReadings,
  getTelemetry,
] as const;
