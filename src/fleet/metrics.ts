/**
 * The gateway's Prometheus instruments, every one with a `robot` label, registered on the
 * program's registry (src/core/metrics.ts holds it; each layer declares its own instruments).
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "../core/mod.ts";

export class FleetMetrics {
  readonly callsTotal: Counter<"robot" | "tool" | "outcome">;
  readonly callSeconds: Histogram<"robot" | "tool">;
  readonly retriesTotal: Counter<"robot" | "tool">;
  readonly robotOnline: Gauge<"robot">;
  readonly batteryPercent: Gauge<"robot">;
  readonly breakerState: Gauge<"robot">;
  readonly telemetryBatchesTotal: Counter<"robot">;
  readonly telemetryLostTotal: Counter<"robot">;
  readonly estopsTotal: Counter<"robot" | "confirmed">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.callsTotal = new Counter({
      name: "rvr_fleet_calls_total",
      help: "Tool calls the gateway sent, by robot, tool and outcome (ok or an error code).",
      labelNames: ["robot", "tool", "outcome"],
      registers,
    });
    this.callSeconds = new Histogram({
      name: "rvr_fleet_call_seconds",
      help: "Time from the gateway's call to the robot's answer.",
      labelNames: ["robot", "tool"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.retriesTotal = new Counter({
      name: "rvr_fleet_retries_total",
      help: "Read-only calls retried after a timeout or no responders.",
      labelNames: ["robot", "tool"],
      registers,
    });
    this.robotOnline = new Gauge({
      name: "rvr_fleet_robot_online",
      help: "1 while the robot answers discovery, 0 once it went silent.",
      labelNames: ["robot"],
      registers,
    });
    this.batteryPercent = new Gauge({
      name: "rvr_fleet_battery_percent",
      help: "The robot's battery as it last reported it.",
      labelNames: ["robot"],
      registers,
    });
    this.breakerState = new Gauge({
      name: "rvr_fleet_breaker_state",
      help: "The gateway's circuit to the robot: 0 closed, 1 half-open, 2 open.",
      labelNames: ["robot"],
      registers,
    });
    this.telemetryBatchesTotal = new Counter({
      name: "rvr_fleet_telemetry_batches_total",
      help: "Telemetry batches received from the robot.",
      labelNames: ["robot"],
      registers,
    });
    this.telemetryLostTotal = new Counter({
      name: "rvr_fleet_telemetry_lost_total",
      help: "Telemetry batches missing from the robot's sequence (lost on the way).",
      labelNames: ["robot"],
      registers,
    });
    this.estopsTotal = new Counter({
      name: "rvr_fleet_estops_total",
      help: "Emergency stops sent to the robot, by whether it confirmed.",
      labelNames: ["robot", "confirmed"],
      registers,
    });
  }
}
