/**
 * What the status routes and the tip read: rooms and machines (by id), course averages, watches,
 * congestion grids. http/views.ts shapes `GET /rooms` and `POST /load` from them.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { type WeekdayTable, gridToWeekdayTable } from "../domain/congestion";
import { type CourseStats, courseKey } from "../domain/stats";
import { type MachineType, isRunning } from "../domain/status";
import { type Machine, type Room, courseStatsId } from "../data/model";
import { getAll, refs } from "../data/refs";

/** Numeric document ids leave as the seed's integers, anything else as the string. */
export function idOut(id: string): number | string {
  return /^[1-9][0-9]{0,14}$/.test(id) ? Number(id) : id;
}

/** Orders ids numerically when both are numbers, else as strings. */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `out_of_order` wins; then running is `busy`; idle is `free` when online, else `offline`. */
export function availability(m: Machine): "free" | "busy" | "offline" | "out_of_order" {
  if (m.outOfOrder) return "out_of_order";
  if (isRunning(m.status)) return "busy";
  return m.online ? "free" : "offline";
}

/** The course name to show: the user's name while the stored key is still its key. */
export function displayCourse(m: Pick<Machine, "course" | "courseName">): string | null {
  if (m.course === null) return null;
  if (m.courseName !== null && courseKey(m.courseName) === m.course) return m.courseName;
  return m.course;
}

export async function readRooms(db: Firestore): Promise<Room[]> {
  const snap = await refs(db).rooms.get();
  return snap.docs.map((d) => d.data()).sort((a, b) => compareIds(a.roomId, b.roomId));
}

export async function readRoom(db: Firestore, roomId: string): Promise<Room | null> {
  return (await refs(db).room(roomId).get()).data() ?? null;
}

/** Machines of one room, or of every room; by id. */
export async function readMachines(db: Firestore, roomId?: string): Promise<Machine[]> {
  const col = refs(db).machines;
  const snap = await (roomId === undefined ? col : col.where("roomId", "==", roomId)).get();
  return snap.docs.map((d) => d.data()).sort((a, b) => compareIds(a.machineId, b.machineId));
}

/** Course averages by `courseStatsId`, for the given (type, course key) pairs. */
export async function readStats(
  db: Firestore,
  keys: readonly { type: MachineType; course: string }[],
): Promise<Map<string, CourseStats>> {
  const unique = new Map(keys.map((k) => [courseStatsId(k.type, k.course), k]));
  // One round trip for all of them (getAll), not one per course.
  const snaps = await getAll(
    db,
    [...unique.values()].map((k) => refs(db).courseStats(k.type, k.course)),
  );
  return new Map(
    snaps.flatMap((s) => {
      const d = s.data();
      return d ? [[s.id, d] as const] : [];
    }),
  );
}

/**
 * The figures a course runs by in a room: the room's own (blended with the fleet's while it has
 * few cycles), else the fleet's, else null (the type's defaults apply).
 */
export async function readCourseFigures(
  db: Firestore,
  roomId: string | null,
  type: MachineType,
  course: string,
): Promise<CourseStats | null> {
  const room = roomId === null ? undefined : (await refs(db).roomStats(roomId).get()).data();
  const own = room?.courses[courseStatsId(type, course)]?.stats;
  return own ?? (await refs(db).courseStats(type, course).get()).data() ?? null;
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
  if (roomId !== undefined) {
    const snap = await col.doc(roomId).get();
    return gridToWeekdayTable(snap.exists ? [snap.data() ?? {}] : []);
  }
  const all = await col.get();
  return gridToWeekdayTable(all.docs.map((d) => d.data()));
}
