/**
 * Device 0x18 sensor, the streaming commands (the engine is ../streaming.ts) and the live values
 * each stream service reads (sec. 10.2). Encoders stream as raw u32 (two's complement);
 * CoreTimeLower/Upper (0x05/0x09) as the low/high words of the up time. ColorDetection streams
 * zeros with index 0xFF while colour detection is off.
 */
import type { DeviceContext, HandlerGroup } from "./_context.ts";

type StreamingCommand =
  | "configure_streaming_service"
  | "start_streaming_service"
  | "stop_streaming_service"
  | "clear_streaming_service";

export function streamingHandlers(r: DeviceContext): HandlerGroup<StreamingCommand> {
  return {
    configure_streaming_service: (p, ctx) =>
      r.streaming.configure(ctx.node, p.token, p.configuration),
    start_streaming_service: (p, ctx) => r.streaming.start(ctx.node, p.period),
    stop_streaming_service: (_p, ctx) => r.streaming.stop(ctx.node),
    clear_streaming_service: (_p, ctx) => r.streaming.clear(ctx.node),
  };
}

/** Live values of one stream service, keyed by attribute name (sec. 10.2). */
export function streamValues(r: DeviceContext, key: string): Record<string, number> {
  const b = r.body;
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
      const c = r.color.detection
        ? r.color.sample()
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
      return { Time: Math.floor(r.upTimeMs()) % 0x1_0000_0000 };
    case "core_time_upper":
      return { Time: Math.floor(Math.floor(r.upTimeMs()) / 0x1_0000_0000) };
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
      return { Light: r.member.ambientLightLux() };
    case "encoders": {
      const e = b.encoders;
      return { LeftTicks: e.left >>> 0, RightTicks: e.right >>> 0 };
    }
    default:
      throw new Error(`No live value for stream service "${key}"; add it to streamValues.`);
  }
}
