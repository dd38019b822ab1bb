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

/**
 * Stored shape: one top-level number field per cell, `w{weekday}h{hour}` (e.g. `w0h09`), bumped
 * with a plain increment; clients read the document as it is.
 */
export function cellField(cell: CellKey): string {
  const [d = "0", h = "0"] = cell.split(".");
  return `w${d}h${h.padStart(2, "0")}`;
}

export type WeekdayTable = Record<(typeof KOREAN_WEEKDAYS)[number], number[]>;

/** `{"월":[24 counts], …, "일":[…]}` as the API returns it; sums several rooms' documents. */
export function gridToWeekdayTable(docs: readonly Record<string, unknown>[]): WeekdayTable {
  const hours = (d: number) =>
    Array.from({ length: 24 }, (_, h) =>
      docs.reduce((sum, doc) => {
        const v = doc[cellField(`${d}.${h}`)];
        return sum + (typeof v === "number" ? v : 0);
      }, 0),
    );
  return Object.fromEntries(KOREAN_WEEKDAYS.map((day, d) => [day, hours(d)])) as WeekdayTable;
}
