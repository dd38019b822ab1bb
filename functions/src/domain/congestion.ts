/**
 * The congestion grid: for each room, weekday (Mon = 0) × KST hour, how many cycles were running.
 * A cycle adds 1 to every KST hour it spanned. Pure.
 */
import { HOUR_MS, KOREAN_WEEKDAYS, kstHourStart, kstParts } from "./time";

/** Cell key `${weekday}.${hour}`, e.g. "0.13" is Monday 13:00–14:00 KST. */
export type CellKey = `${number}.${number}`;

/** The KST hour cells a cycle from `startedAt` to `finishedAt` (epoch ms) spans. */
export function hoursSpanned(startedAt: number, finishedAt: number): CellKey[] {
  const cells: CellKey[] = [];
  const end = Math.max(finishedAt, startedAt + 1);
  for (let h = kstHourStart(startedAt); h < end; h += HOUR_MS) {
    const p = kstParts(h);
    cells.push(`${p.weekday}.${p.hour}`);
  }
  return cells;
}

/** Net change of the grid when cycles `removed` are replaced by cycles `added`. */
export function congestionDelta(
  removed: readonly { startedAt: number; finishedAt: number }[],
  added: readonly { startedAt: number; finishedAt: number }[],
): Map<CellKey, number> {
  const delta = new Map<CellKey, number>();
  const bump = (c: { startedAt: number; finishedAt: number }, by: number) => {
    for (const cell of hoursSpanned(c.startedAt, c.finishedAt)) {
      delta.set(cell, (delta.get(cell) ?? 0) + by);
    }
  };
  removed.forEach((c) => bump(c, -1));
  added.forEach((c) => bump(c, 1));
  for (const [k, v] of delta) if (v === 0) delta.delete(k);
  return delta;
}

/** Stored grid shape: `grid[weekday][hour]` counts, keys as decimal strings. */
export type StoredGrid = Record<string, Record<string, number>>;

/** `{"월":[24 counts], …, "일":[…]}` as the API returns it; sums several rooms' grids. */
export function gridToWeekdayTable(grids: readonly StoredGrid[]): Record<string, number[]> {
  const table: Record<string, number[]> = {};
  KOREAN_WEEKDAYS.forEach((name, d) => {
    table[name] = Array.from({ length: 24 }, (_, h) =>
      grids.reduce((sum, g) => sum + (g[String(d)]?.[String(h)] ?? 0), 0),
    );
  });
  return table;
}
