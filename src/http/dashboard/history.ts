/**
 * What the page remembers between frames: the x/y path it draws and the rolling samples of its
 * charts. Pure (no DOM).
 *
 * @module
 */

/** Points closer than this to the last one (in both x and y) are not added. */
export const MIN_STEP_M = 0.002;
/** Above this many points, every other point is dropped (the last one kept). */
export const MAX_PATH_POINTS = 20000;
/** The charts show this much time. */
export const CHART_WINDOW_MS = 30000;
/** A chart keeps at most this many samples. */
export const MAX_SAMPLES = 4000;

/** The extent of every point added since the last clear. */
export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** The robot's x/y path, thinned to at most {@link MAX_PATH_POINTS}. */
export class PathTrace {
  points: [number, number][] = [];
  bounds: Bounds | null = null;

  add(x: number | null, y: number | null): void {
    if (x === null || y === null) return;
    const last = this.points[this.points.length - 1];
    if (last && Math.abs(last[0] - x) < MIN_STEP_M && Math.abs(last[1] - y) < MIN_STEP_M) return;
    this.points.push([x, y]);
    if (this.points.length > MAX_PATH_POINTS) {
      const kept: [number, number][] = [];
      for (let i = 0; i < this.points.length; i += 2) kept.push(this.points[i]);
      const newest = this.points[this.points.length - 1];
      if (kept[kept.length - 1] !== newest) kept.push(newest);
      this.points = kept;
    }
    const b = this.bounds;
    if (b === null) this.bounds = { minX: x, maxX: x, minY: y, maxY: y };
    else {
      b.minX = Math.min(b.minX, x);
      b.maxX = Math.max(b.maxX, x);
      b.minY = Math.min(b.minY, y);
      b.maxY = Math.max(b.maxY, y);
    }
  }

  clear(): void {
    this.points = [];
    this.bounds = null;
  }
}

/** One chart sample: three values (null = unknown) at epoch ms `t`. */
export interface Sample {
  t: number;
  v: [number | null, number | null, number | null];
}

/**
 * Adds a sample to a chart's list (unless all three values are unknown) and drops the ones older
 * than 1.5 windows or beyond {@link MAX_SAMPLES}.
 */
export function pushSample(list: Sample[], at: number, values: Sample["v"]): void {
  if (values[0] === null && values[1] === null && values[2] === null) return;
  list.push({ t: at, v: values });
  const cutoff = at - CHART_WINDOW_MS * 1.5;
  let drop = 0;
  while (drop < list.length && list[drop].t < cutoff) drop++;
  if (list.length - drop > MAX_SAMPLES) drop = list.length - MAX_SAMPLES;
  if (drop > 0) list.splice(0, drop);
}
