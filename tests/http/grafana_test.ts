/**
 * deploy/grafana/rvr-mcp.json: valid JSON of a Grafana dashboard with a Prometheus datasource
 * variable, panels laid out on the 24-column grid without overlap, and every metric it queries
 * registered by the program (histograms through _bucket, counters through rate/increase).
 */
import assert from "node:assert/strict";
import { parseMetrics } from "../_helpers/mod.ts";
import { programMetrics } from "../../main.ts";

const PATH = new URL("../../deploy/grafana/rvr-mcp.json", import.meta.url);

interface Target {
  expr: string;
  refId: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { type: string; name: string; query: unknown }[] };
}

/** Metric name to Prometheus type, from the registry's own text. */
async function registeredTypes(): Promise<ReadonlyMap<string, string>> {
  return parseMetrics(await programMetrics().text()).types;
}

Deno.test("the Grafana dashboard", async (t) => {
  const dash = JSON.parse(await Deno.readTextFile(PATH)) as Dashboard;
  const queried = dash.panels.filter((p) => p.type !== "row");
  const exprs = queried.flatMap((p) => (p.targets ?? []).map((x) => ({ panel: p, expr: x.expr })));

  await t.step("is a Grafana dashboard of schema ~39 with a Prometheus datasource variable", () => {
    assert.equal(dash.title, "rvr-mcp");
    assert.equal(dash.uid, "rvr-mcp");
    assert.ok(dash.schemaVersion >= 36 && dash.schemaVersion <= 41, `${dash.schemaVersion}`);
    const ds = dash.templating.list.find((v) => v.type === "datasource");
    assert.ok(ds, "a datasource variable");
    assert.equal(ds.query, "prometheus");
    for (const name of ["job", "instance"]) {
      assert.ok(dash.templating.list.some((v) => v.name === name), `a ${name} variable`);
    }
    assert.ok(queried.length >= 30, `${queried.length} panels`);
    for (const p of queried) {
      assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" }, p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
      for (const target of p.targets ?? []) {
        assert.equal(target.datasource?.uid, "${datasource}", `${p.title} ${target.refId}`);
      }
    }
  });

  await t.step("panel ids are unique and panels tile the 24-column grid without overlap", () => {
    const ids = dash.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "unique ids");
    const taken = new Map<string, string>();
    for (const p of dash.panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0 && y >= 0, `${p.title} at ${x},${y}`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const other = taken.get(`${i},${j}`);
          assert.equal(other, undefined, `${p.title} overlaps ${other} at ${i},${j}`);
          taken.set(`${i},${j}`, p.title);
        }
      }
    }
  });

  await t.step("every query is scoped by $job and $instance with balanced brackets", () => {
    for (const { panel, expr } of exprs) {
      for (const [open, close] of [["(", ")"], ["{", "}"], ["[", "]"]]) {
        assert.equal(
          expr.split(open).length,
          expr.split(close).length,
          `${panel.title}: unbalanced ${open}${close} in ${expr}`,
        );
      }
      const selectors = expr.match(/rvr_[a-z0-9_]+\{[^}]*\}/g) ?? [];
      const names = expr.match(/rvr_[a-z0-9_]+/g) ?? [];
      assert.equal(selectors.length, names.length, `${panel.title}: unscoped metric in ${expr}`);
      for (const s of selectors) {
        assert.match(s, /job=~"\$job",instance=~"\$instance"/, `${panel.title}: ${s}`);
      }
    }
  });

  await t.step("every metric queried exists in the registry, used as its type allows", async () => {
    const types = await registeredTypes();
    const used = new Set<string>();
    for (const { panel, expr } of exprs) {
      for (const m of expr.matchAll(/(rvr_[a-z0-9_]+)\{[^}]*\}(\[[^\]]+\])?/g)) {
        const [, name, range] = m;
        const before = expr.slice(0, m.index);
        const bucket = /^(.+)_bucket$/.exec(name);
        if (bucket) {
          assert.equal(types.get(bucket[1]), "histogram", `${panel.title}: ${name}`);
          assert.match(
            before,
            /histogram_quantile\([^,]+, sum by \([^)]*le[^)]*\) \(rate\($/,
            name,
          );
          used.add(bucket[1]);
          continue;
        }
        const type = types.get(name);
        assert.ok(type, `${panel.title}: ${name} is not a registered metric`);
        assert.notEqual(type, "histogram", `${panel.title}: query ${name}_bucket, not ${name}`);
        if (type === "counter") {
          assert.ok(range, `${panel.title}: counter ${name} needs a range for rate/increase`);
          assert.match(before, /(rate|increase)\($/, `${panel.title}: ${name} not under rate()`);
        } else {
          assert.equal(range, undefined, `${panel.title}: gauge ${name} with a range`);
        }
        used.add(name);
      }
    }
    // The metrics the issue names are all on the dashboard.
    for (
      const name of [
        "rvr_commands_total",
        "rvr_command_duration_seconds",
        "rvr_queue_depth",
        "rvr_link_bytes_total",
        "rvr_link_frames_total",
        "rvr_link_frames_dropped_total",
        "rvr_breaker_state",
        "rvr_connection_state",
        "rvr_safety_emergency_stops_total",
        "rvr_safety_auto_stops_total",
        "rvr_battery_percent",
        "rvr_motor_temperature_celsius",
        "rvr_sensor_rate_hz",
        "rvr_sensor_data_age_seconds",
        "rvr_sensor_drops_total",
        "rvr_telemetry_clients",
        "rvr_telemetry_ws_dropped_total",
        "rvr_process_resident_memory_bytes",
        "rvr_process_cpu_seconds_total",
      ]
    ) assert.ok(used.has(name), `${name} is not on the dashboard`);
    // And every program metric (not the runtime's generic ones) has a panel.
    const missing = [...types.keys()].filter((n) =>
      !n.startsWith("rvr_process_") && !n.startsWith("rvr_nodejs_") && !used.has(n)
    );
    assert.deepEqual(missing, [], "registered metrics without a panel");
  });
});
