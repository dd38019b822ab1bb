/**
 * Room timer snapshots: `rooms/{id}.timers` (`{machineId: {status, remainingMinutes,
 * expectedEndAt, finishing}}`) and `timersAt`, written by the tick only, and only when a value
 * changed (domain `timersChanged`).
 *
 * `rooms/{id}.timersActive` is true exactly while `timers` is non-empty. It lets one query
 * (`timersActive == true`) fetch the stored timers of every room that shows any, so the tick
 * never reads idle rooms: a room not in that query has `{}` stored (or none), which is what its
 * timers are compared with. A room whose machines all went idle gets one last write (`{}`,
 * `timersActive: false`) and then none until a machine runs again.
 *
 * A late re-run of an older minute (a scheduler retry after the next minute ran) leaves rooms
 * whose `timersAt` is newer than its `now` alone, so timers never move backwards.
 */
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import { courseKey } from "../../domain/stats";
import { type MachineTimer, type RoomTimers, roomTimers, timersChanged } from "../../domain/timers";
import type { MachineStatus } from "../../domain/status";
import { isNotFound, toMillis } from "../../data/db";
import type { Machine } from "../../data/model";
import type { TickCounters } from "./base";
import { refs } from "../../data/refs";
import { readStats } from "../../store/status";

export interface TimersResult {
  /** Rooms whose timers were written. */
  roomsWritten: number;
  /** Rooms with running machines or shown timers that were compared. */
  roomsChecked: number;
  /** The timers computed for each room with running machines (reminders use them). */
  timers: Map<string, RoomTimers>;
}

/** A stored timer map back to numbers, for the value comparison. */
export function storedTimers(value: unknown): Record<string, Partial<MachineTimer>> {
  const out: Record<string, Partial<MachineTimer>> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [id, raw] of Object.entries(value as Record<string, unknown>)) {
    const t = (raw ?? {}) as Record<string, unknown>;
    out[id] = {
      status: t.status as MachineStatus,
      remainingMinutes: t.remainingMinutes as number,
      expectedEndAt: toMillis(t.expectedEndAt) ?? undefined,
      finishing: t.finishing as boolean,
    };
  }
  return out;
}

/** The timer map as stored: `expectedEndAt` as a Timestamp, like the machine documents. */
export function timersForStore(timers: RoomTimers): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, t] of Object.entries(timers)) {
    out[id] = {
      status: t.status,
      remainingMinutes: t.remainingMinutes,
      expectedEndAt: Timestamp.fromMillis(t.expectedEndAt),
      finishing: t.finishing,
    };
  }
  return out;
}

export async function updateRoomTimers(
  db: Firestore,
  running: readonly Machine[],
  now: number,
  counters: TickCounters,
): Promise<TimersResult> {
  const byRoom = new Map<string, Machine[]>();
  for (const m of running) {
    if (m.roomId === null) continue;
    const list = byRoom.get(m.roomId) ?? [];
    list.push(m);
    byRoom.set(m.roomId, list);
  }

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
  const stored = new Map<string, { timers: unknown; timersAt: number | null }>();
  for (const d of activeSnap.docs) {
    stored.set(d.id, { timers: d.get("timers"), timersAt: toMillis(d.get("timersAt")) });
  }

  const timers = new Map<string, RoomTimers>();
  const writes: { roomId: string; timers: RoomTimers }[] = [];
  const roomIds = new Set([...byRoom.keys(), ...stored.keys()]);
  for (const roomId of roomIds) {
    const statsFor = (type: Machine["type"], course: string) => figures(roomId, type, course);
    const next = roomTimers(byRoom.get(roomId) ?? [], statsFor, now);
    if (byRoom.has(roomId)) timers.set(roomId, next);
    const prev = stored.get(roomId);
    if (prev && prev.timersAt !== null && prev.timersAt > now) continue; // a newer tick wrote it
    if (!timersChanged(storedTimers(prev?.timers), next)) continue;
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
  return { roomsWritten: writes.length, roomsChecked: roomIds.size, timers };
}
