/**
 * The fleet's course figures, `courseStats/{type}-{course}`: every room's histograms summed
 * (domain/stats.ts), the prior a room leans on while it has few cycles of a course. Recomputed
 * whole from the rooms' `congestion/{roomId}.courses` once a day, so no finished cycle writes a fleet-wide document (at a
 * cycle a second across the fleet that document would be hot). A course whose figures did not
 * change is not written; a course no room has any more is deleted.
 */
import { isDeepStrictEqual } from "node:util";
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { type CourseHistograms, courseStats, mergeHistograms } from "../domain/stats";
import type { MachineType } from "../domain/status";
import { refs } from "../data/refs";

/** Rooms read per page (each room's document holds all its courses). */
const PAGE = 300;

export async function rollupFleetStats(db: Firestore) {
  const r = refs(db);
  const byCourse = new Map<string, CourseHistograms[]>();
  const query = r.roomStatsAll.orderBy("__name__").limit(PAGE);
  let rooms = 0;
  for (let page = await query.get(); ; page = await query.startAfter(page.docs[PAGE - 1]).get()) {
    rooms += page.size;
    for (const d of page.docs) {
      for (const [key, c] of Object.entries(d.data().courses)) {
        byCourse.set(key, [...(byCourse.get(key) ?? []), c.histograms]);
      }
    }
    if (page.size < PAGE) break;
  }

  const stored = new Map((await r.courseStatsAll.get()).docs.map((d) => [d.id, d.data()]));
  const writes: { key: string; data: object | null }[] = [];
  for (const [key, hs] of byCourse) {
    const [type, ...rest] = key.split("-");
    const stats = courseStats(type as MachineType, rest.join("-"), mergeHistograms(hs));
    if (stats && isDeepStrictEqual(stored.get(key), stats)) continue;
    writes.push({ key, data: stats && { ...stats, rooms: hs.length } });
  }
  for (const key of stored.keys()) if (!byCourse.has(key)) writes.push({ key, data: null });

  const writer = db.bulkWriter({ throttling: false });
  // Handlers attached before close(): a failed write fails the run (the scheduler retries it).
  const done = Promise.all(
    writes.map((w) => {
      const ref = r.courseStatsAll.doc(w.key).withConverter(null);
      return w.data
        ? writer.set(ref, { ...w.data, updatedAt: FieldValue.serverTimestamp() })
        : writer.delete(ref);
    }),
  );
  await writer.close();
  await done;
  return {
    rooms,
    courses: byCourse.size,
    written: writes.filter((w) => w.data).length,
    deleted: writes.filter((w) => !w.data).length,
  };
}
