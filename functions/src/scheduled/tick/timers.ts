/**
 * Room timer snapshots, `rooms/{id}.timers` and `timersAt`: written by the tick only, and only
 * when a value changed. `timersActive` is true exactly while `timers` is non-empty, so one query
 * finds every room that shows timers and idle rooms are never read: a room gone idle gets one
 * last write (`{}`) and then none until a machine runs again. A late re-run of an older minute
 * leaves rooms with a newer `timersAt` alone, so timers never move backwards.
 */
import { type DocumentData as Data, Timestamp } from "firebase-admin/firestore";
import { courseKey } from "../../domain/stats";
import { type MachineTimer, type RoomTimers, roomTimers, timersChanged } from "../../domain/timers";
import { isNotFound, toMillis } from "../../data/db";
import type { Machine } from "../../data/model";
import type { TickContext } from "./base";
import { refs } from "../../data/refs";
import { readStats } from "../../store/status";

/** A stored timer map back to numbers, for the value comparison (of the timer fields only). */
function storedTimers(value: unknown): Record<string, Partial<MachineTimer>> {
  const stored = (typeof value === "object" && value !== null ? value : {}) as Record<string, Data>;
  return mapValues(stored, (t) => ({
    ...t,
    expectedEndAt: toMillis(t?.expectedEndAt) ?? undefined,
  }));
}

/** The timer map as stored: `expectedEndAt` as a Timestamp, like the machine documents. */
function timersForStore(timers: RoomTimers) {
  return mapValues(timers, (t) => ({ ...t, expectedEndAt: Timestamp.fromMillis(t.expectedEndAt) }));
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

/** How many rooms' timers were written, and the timers of each room with running machines. */
export async function updateRoomTimers(
  { db, now, counters }: TickContext,
  running: readonly Machine[],
) {
  const [activeSnap, figures] = await Promise.all([
    refs(db).rooms.where("timersActive", "==", true).get(),
    readStats(
      db,
      running
        // The trigger stored the figures each running cycle is timed with; older documents lack them.
        .filter((m) => m.cycleStartedAt !== null && m.estimate === null)
        .map((m) => ({ roomId: m.roomId, type: m.type, course: courseKey(m.course) })),
    ),
  ]);
  counters.reads += Math.max(1, activeSnap.size) + figures.documentsRead;
  const stored = new Map(activeSnap.docs.map((d) => [d.id, d]));

  const timers = new Map<string, RoomTimers>();
  const writes: { roomId: string; timers: RoomTimers }[] = [];
  // Each room's running machines, grouped in one pass (a filter per room would grow as
  // rooms × machines at 10,000 rooms).
  const byRoom = new Map<string, Machine[]>();
  for (const m of running) {
    if (m.roomId !== null) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m]);
  }
  for (const roomId of new Set([...byRoom.keys(), ...stored.keys()])) {
    const inRoom = byRoom.get(roomId) ?? [];
    const next = roomTimers(inRoom, (type, course) => figures(roomId, type, course), now);
    if (inRoom.length > 0) timers.set(roomId, next);
    const prev = stored.get(roomId);
    const prevAt = toMillis(prev?.get("timersAt"));
    if (prevAt !== null && prevAt > now) continue; // a newer tick wrote it
    if (!timersChanged(storedTimers(prev?.get("timers")), next)) continue;
    writes.push({ roomId, timers: next });
  }

  // update() replaces the whole `timers` map, and never brings back a room deleted in the
  // console while one of its machines ran (a set would recreate it without a name).
  const at = Timestamp.fromMillis(now);
  const writer = db.bulkWriter({ throttling: false });
  const updates = writes.map((w) =>
    writer
      .update(refs(db).room(w.roomId), {
        timers: timersForStore(w.timers),
        timersAt: at,
        timersActive: Object.keys(w.timers).length > 0,
      })
      .then(
        () => void (counters.writes += 1),
        (err: unknown) => {
          if (!isNotFound(err)) throw err; // a room deleted meanwhile is left alone
        },
      ),
  );
  await Promise.all([...updates, writer.close()]);
  return { roomsWritten: writes.length, timers };
}
