/**
 * Device 0x13 power: sleep and wake (the power states live in ../_power.ts), battery and
 * current-sense readings. Battery reading type > 2 and amplifier id > 1 -> bad_data_value.
 */
import type { DeviceContext, DeviceHandlers } from "./_context.ts";

export function powerHandlers(r: DeviceContext): DeviceHandlers<"power"> {
  return {
    sleep: (_p, ctx) => {
      ctx.after = () => r.sleep("sleep command");
    },
    wake: (_p, ctx) => r.wake(ctx),
    get_battery_percentage: () => ({ percentage: r.battery.percentage }),
    get_battery_voltage_state: () => ({ state: r.battery.state }),
    enable_battery_voltage_state_change_notify: (p) => {
      r.switches.batteryState = p.is_enabled;
    },
    get_battery_voltage_in_volts: (p) => {
      if (p.reading_type > 2) {
        throw new RangeError(`reading_type ${p.reading_type} is not 0, 1 or 2.`);
      }
      return { voltage: r.battery.voltage(p.reading_type as 0 | 1 | 2) };
    },
    get_battery_voltage_state_thresholds: () => {
      const t = r.battery.thresholds;
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
      const current = r.body.motorCurrentA;
      return { amplifier_current: p.amplifier_id === 0 ? current.left : current.right };
    },
  };
}
