/**
 * The page's canvases: the x/y path with the robot and its heading, the heading dial and the
 * rolling 30 s line charts. Each canvas is sized to its CSS box at the device's pixel ratio.
 *
 * @module
 */
import { CHART_WINDOW_MS, type PathTrace, type Sample } from "./history.ts";

interface Prepared {
  ctx: CanvasRenderingContext2D;
  w: number;
  h: number;
}

/** Sizes the canvas backing store to its CSS box; returns the cleared 2D context in CSS pixels. */
function prep(canvas: HTMLCanvasElement): Prepared {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth);
  const h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  if (ctx === null) throw new Error(`canvas #${canvas.id} has no 2D context`);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** A round grid step for about six lines over `span`. */
function niceStep(span: number): number {
  const raw = span / 6;
  const mag = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/** A grid label for `v` with as many decimals as `step` needs. */
function label(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-6) v = 0;
  const digits = Math.max(0, -Math.floor(Math.log(step) / Math.LN10 + 1e-9));
  return v.toFixed(Math.min(4, digits));
}

/** The path (auto-scaled, metres grid), its start, and the robot at (x, y) facing `yaw`. */
export function drawPath(
  canvas: HTMLCanvasElement,
  trace: PathTrace,
  x: number | null,
  y: number | null,
  yaw: number | null,
): void {
  const p = prep(canvas);
  const ctx = p.ctx;
  const path = trace.points;
  let minX = 0, maxX = 0, minY = 0, maxY = 0;
  const b = trace.bounds;
  if (b) {
    minX = Math.min(minX, b.minX);
    maxX = Math.max(maxX, b.maxX);
    minY = Math.min(minY, b.minY);
    maxY = Math.max(maxY, b.maxY);
  }
  if (x !== null && y !== null) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const pad = 36;
  const span = Math.max(maxX - minX, maxY - minY, 0.5) * 1.15;
  const scale = Math.min(p.w - 2 * pad, p.h - 2 * pad) / span;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const sx = (v: number) => p.w / 2 + (v - cx) * scale;
  const sy = (v: number) => p.h / 2 - (v - cy) * scale;

  const step = niceStep(Math.max(p.w, p.h) / scale);
  const x0 = cx - p.w / 2 / scale, x1 = cx + p.w / 2 / scale;
  const y0 = cy - p.h / 2 / scale, y1 = cy + p.h / 2 / scale;
  ctx.lineWidth = 1;
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#6b7686";
  ctx.strokeStyle = "#1f2732";
  ctx.beginPath();
  for (let gx = Math.ceil(x0 / step) * step; gx <= x1; gx += step) {
    ctx.moveTo(Math.round(sx(gx)) + 0.5, 0);
    ctx.lineTo(Math.round(sx(gx)) + 0.5, p.h);
  }
  for (let gy = Math.ceil(y0 / step) * step; gy <= y1; gy += step) {
    ctx.moveTo(0, Math.round(sy(gy)) + 0.5);
    ctx.lineTo(p.w, Math.round(sy(gy)) + 0.5);
  }
  ctx.stroke();
  for (let gx = Math.ceil(x0 / step) * step; gx <= x1; gx += step) {
    const tx = label(gx, step);
    if (sx(gx) + 3 + ctx.measureText(tx).width < p.w - 2) ctx.fillText(tx, sx(gx) + 3, p.h - 5);
  }
  for (let gy = Math.ceil(y0 / step) * step; gy <= y1; gy += step) {
    if (sy(gy) - 3 > 12) ctx.fillText(label(gy, step), 4, sy(gy) - 3);
  }
  ctx.strokeStyle = "#364252";
  ctx.beginPath();
  ctx.moveTo(sx(0), 0);
  ctx.lineTo(sx(0), p.h);
  ctx.moveTo(0, sy(0));
  ctx.lineTo(p.w, sy(0));
  ctx.stroke();
  ctx.fillStyle = "#8b97a7";
  ctx.fillText("+y forward", sx(0) + 4, 14);
  ctx.fillText("+x right", p.w - 52, sy(0) - 5);

  if (path.length > 1) {
    ctx.strokeStyle = "#4fc3f7";
    ctx.lineWidth = 2.5;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(sx(path[0][0]), sy(path[0][1]));
    for (let i = 1; i < path.length; i++) ctx.lineTo(sx(path[i][0]), sy(path[i][1]));
    ctx.stroke();
  }
  if (path.length > 0) {
    ctx.fillStyle = "#4caf50";
    ctx.beginPath();
    ctx.arc(sx(path[0][0]), sy(path[0][1]), 4, 0, Math.PI * 2);
    ctx.fill();
  }
  if (x !== null && y !== null) {
    const a = (yaw === null ? 0 : yaw) * Math.PI / 180;
    // yaw is counter-clockwise from +y: the nose points along (-sin a, cos a).
    const dx = -Math.sin(a), dy = Math.cos(a);
    const px = sx(x), py = sy(y);
    const size = 13;
    ctx.fillStyle = "#ffffff";
    ctx.strokeStyle = "#0b0f14";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px + dx * size, py - dy * size);
    ctx.lineTo(px - dx * size * 0.6 + dy * size * 0.6, py + dy * size * 0.6 + dx * size * 0.6);
    ctx.lineTo(px - dx * size * 0.6 - dy * size * 0.6, py + dy * size * 0.6 - dx * size * 0.6);
    ctx.closePath();
    ctx.stroke();
    ctx.fill();
  }
}

/** A compass dial (0 up, clockwise) with a needle at `heading`, none when null. */
export function drawDial(canvas: HTMLCanvasElement, heading: number | null): void {
  const p = prep(canvas);
  const ctx = p.ctx;
  const c = Math.min(p.w, p.h) / 2;
  const r = c - 8;
  ctx.strokeStyle = "#364252";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(c, c, r, 0, Math.PI * 2);
  ctx.stroke();
  ctx.lineWidth = 1;
  for (let d = 0; d < 360; d += 30) {
    const t = d * Math.PI / 180;
    const inner = d % 90 === 0 ? r - 9 : r - 5;
    ctx.beginPath();
    ctx.moveTo(c + Math.sin(t) * inner, c - Math.cos(t) * inner);
    ctx.lineTo(c + Math.sin(t) * r, c - Math.cos(t) * r);
    ctx.stroke();
  }
  ctx.fillStyle = "#8b97a7";
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.fillText("0", c, c - r + 20);
  ctx.fillText("90", c + r - 19, c + 4);
  ctx.fillText("180", c, c + r - 13);
  ctx.fillText("270", c - r + 20, c + 4);
  ctx.textAlign = "start";
  if (heading === null) return;
  const h = heading * Math.PI / 180;
  ctx.strokeStyle = "#4fc3f7";
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.beginPath();
  ctx.moveTo(c, c);
  ctx.lineTo(c + Math.sin(h) * (r - 32), c - Math.cos(h) * (r - 32));
  ctx.stroke();
  ctx.fillStyle = "#4fc3f7";
  ctx.beginPath();
  ctx.arc(c, c, 4, 0, Math.PI * 2);
  ctx.fill();
}

/** Three lines over the last {@link CHART_WINDOW_MS} of `samples`, auto-scaled, with a grid. */
export function drawChart(
  canvas: HTMLCanvasElement,
  samples: readonly Sample[],
  colors: readonly [string, string, string],
  unit: string,
): void {
  const p = prep(canvas);
  const ctx = p.ctx;
  ctx.font = "11px system-ui, sans-serif";
  if (samples.length === 0) {
    ctx.fillStyle = "#6b7686";
    ctx.fillText("waiting for data", 12, p.h / 2);
    return;
  }
  const tMax = samples[samples.length - 1].t;
  const tMin = tMax - CHART_WINDOW_MS;
  let lo = Infinity, hi = -Infinity;
  let first = 0;
  while (first < samples.length - 1 && samples[first].t < tMin) first++;
  for (let i = first; i < samples.length; i++) {
    for (const v of samples[i].v) {
      if (v === null) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) {
    lo = -1;
    hi = 1;
  }
  if (hi - lo < 1e-6) {
    lo -= 0.5;
    hi += 0.5;
  }
  const padV = (hi - lo) * 0.08;
  lo -= padV;
  hi += padV;
  const left = 48, right = 8, top = 6, bottom = 18;
  const w = p.w - left - right, h = p.h - top - bottom;
  const sx = (t: number) => left + (t - tMin) / CHART_WINDOW_MS * w;
  const sy = (v: number) => top + (hi - v) / (hi - lo) * h;
  const step = niceStep(hi - lo);
  ctx.strokeStyle = "#1f2732";
  ctx.fillStyle = "#6b7686";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let gv = Math.ceil(lo / step) * step; gv <= hi; gv += step) {
    const yy = Math.round(sy(gv)) + 0.5;
    ctx.moveTo(left, yy);
    ctx.lineTo(p.w - right, yy);
    ctx.fillText(label(gv, step) + unit, 4, yy + 4);
  }
  for (let s = 0; s <= CHART_WINDOW_MS; s += 5000) {
    const xx = Math.round(sx(tMin + s)) + 0.5;
    ctx.moveTo(xx, top);
    ctx.lineTo(xx, top + h);
    const txt = s === CHART_WINDOW_MS ? "now" : "-" + (CHART_WINDOW_MS - s) / 1000 + " s";
    ctx.fillText(txt, Math.min(xx - 10, p.w - 28), p.h - 4);
  }
  ctx.stroke();
  ctx.lineWidth = 1.8;
  ctx.lineJoin = "round";
  for (let k = 0; k < 3; k++) {
    ctx.strokeStyle = colors[k];
    ctx.beginPath();
    let pen = false;
    for (let i = first; i < samples.length; i++) {
      const val = samples[i].v[k];
      if (val === null) {
        pen = false;
        continue;
      }
      const X = Math.max(left, sx(samples[i].t)), Y = sy(val);
      if (pen) ctx.lineTo(X, Y);
      else {
        ctx.moveTo(X, Y);
        pen = true;
      }
    }
    ctx.stroke();
  }
}
