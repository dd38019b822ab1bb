/**
 * What the status routes and the tip read: rooms and machines (by id), course averages, watches,
 * congestion grids. http/views.ts shapes `GET /rooms` and `POST /load` from them.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { type WeekdayTable, gridToWeekdayTable } from "../domain/congestion";
import type { CourseStats } from "../domain/stats";
import type { MachineType } from "../domain/status";
import { type Machine, type Room, courseStatsId } from "../data/model";
import { getAll, refs } from "../data/refs";

/** Orders ids numerically when both are numbers, else as strings. */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function readRooms(db: Firestore): Promise<Room[]> {
  const snap = await refs(db).rooms.get();
  return snap.docs.map((d) => d.data()).sort((a, b) => compareIds(a.roomId, b.roomId));
}

/** Machines of one room, or of every room; by id. */
export async function readMachines(db: Firestore, roomId?: string): Promise<Machine[]> {
  const col = refs(db).machines;
  const snap = await (roomId === undefined ? col : col.where("roomId", "==", roomId)).get();
  return snap.docs.map((d) => d.data()).sort((a, b) => compareIds(a.machineId, b.machineId));
}

/** A course's figures in a room: its own statistics, else the fleet's, else null (defaults). */
export type FiguresLookup = (
  roomId: string | null,
  type: MachineType,
  course: string,
) => CourseStats | null;

/**
 * The figures of these (room, type, course key) triples, in two round trips at most: the rooms'
 * statistics documents, then the fleet's documents of the courses no room has figures for.
 */
export async function readStats(
  db: Firestore,
  keys: readonly { roomId: string | null; type: MachineType; course: string }[],
): Promise<FiguresLookup & { documentsRead: number }> {
  const roomIds = [...new Set(keys.flatMap((k) => (k.roomId === null ? [] : [k.roomId])))];
  const rooms = new Map(
    (await getAll(db, roomIds.map(refs(db).roomStats))).map((s) => [s.id, s.data()?.courses]),
  );
  const own = (roomId: string | null, type: MachineType, course: string) =>
    (roomId === null ? undefined : rooms.get(roomId)?.[courseStatsId(type, course)]?.stats) ?? null;
  const missing = new Map(
    keys
      .filter((k) => own(k.roomId, k.type, k.course) === null)
      .map((k) => [courseStatsId(k.type, k.course), k]),
  );
  const fleetRefs = [...missing.values()].map((k) => refs(db).courseStats(k.type, k.course));
  const fleet = new Map((await getAll(db, fleetRefs)).map((s) => [s.id, s.data() ?? null]));
  const lookup: FiguresLookup = (roomId, type, course) =>
    own(roomId, type, course) ?? fleet.get(courseStatsId(type, course)) ?? null;
  return Object.assign(lookup, { documentsRead: roomIds.length + missing.size });
}

/** Those of `ids` whose document `doc(id)` exists (a watch, a subscription), in one read. */
export async function existingIds(
  db: Firestore,
  ids: readonly string[],
  doc: (id: string) => DocumentReference,
): Promise<Set<string>> {
  const snaps = await getAll(db, ids.map(doc));
  return new Set(ids.filter((_, i) => snaps[i]?.exists));
}

/** `{"월":[24], …, "일":[24]}` of one room, or summed over every room. */
export async function congestionTable(db: Firestore, roomId?: string): Promise<WeekdayTable> {
  const col = refs(db).congestions;
  const docs = roomId === undefined ? (await col.get()).docs : [await col.doc(roomId).get()];
  return gridToWeekdayTable(docs.flatMap((d) => d.data() ?? []));
}
