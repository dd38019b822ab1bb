/**
 * What the status routes read: rooms, machines, course averages, the user's watches, congestion
 * grids, decoded into plain objects. The shapes of `GET /rooms` and `POST /load` are built from
 * them in http/views.ts.
 *
 * A machine is `free` when it is not running, online and not out of order; `busy` when running;
 * otherwise `offline` (idle and silent) or `out_of_order` (that flag wins over the others).
 */
import type { Firestore } from "firebase-admin/firestore";
import { type WeekdayTable, gridToWeekdayTable } from "../domain/congestion";
import { type CourseStats, courseKey } from "../domain/stats";
import { type MachineStatus, type MachineType, isRunning } from "../domain/status";
import { courseOfMachineDoc, courseStatsId } from "./applyReport";
import { COL, toMillis } from "./db";
import { WATCHERS } from "./notifications";

export interface RoomDoc {
  roomId: string;
  name: string;
}

export interface MachineDoc {
  machineId: string;
  roomId: string | null;
  name: string;
  type: MachineType;
  status: MachineStatus;
  /** Course key (see courseKey) of the running cycle; null = the default course. */
  course: string | null;
  /** The name the user gave with `/start_course`, shown while `course` is its key. */
  courseName: string | null;
  cycleStartedAt: number | null;
  spinStartedAt: number | null;
  expectedEndAt: number | null;
  online: boolean;
  outOfOrder: boolean;
}

export type Availability = "free" | "busy" | "offline" | "out_of_order";

/** Numeric document ids leave as the seed's integers, anything else as the string. */
export function idOut(id: string): number | string {
  return /^[1-9][0-9]{0,14}$/.test(id) ? Number(id) : id;
}

/** Orders ids numerically when both are numbers, else as strings. */
export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function availability(m: MachineDoc): Availability {
  if (m.outOfOrder) return "out_of_order";
  if (isRunning(m.status)) return "busy";
  return m.online ? "free" : "offline";
}

/** The course name to show: the user's name while the stored key is still its key. */
export function displayCourse(m: Pick<MachineDoc, "course" | "courseName">): string | null {
  if (m.course === null) return null;
  if (m.courseName !== null && courseKey(m.courseName) === m.course) return m.courseName;
  return m.course;
}

const STATUSES: readonly MachineStatus[] = ["WASHING", "SPINNING", "DRYING", "FINISHED", "OFF"];

export function toMachineDoc(doc: FirebaseFirestore.DocumentSnapshot): MachineDoc {
  const d = doc.data() ?? {};
  const status = STATUSES.includes(d.status as MachineStatus) ? (d.status as MachineStatus) : "OFF";
  return {
    machineId: doc.id,
    roomId: typeof d.roomId === "string" ? d.roomId : null,
    name: typeof d.name === "string" ? d.name : doc.id,
    type: d.type === "dryer" ? "dryer" : "washer",
    status,
    ...courseOfMachineDoc(d),
    cycleStartedAt: toMillis(d.cycleStartedAt),
    spinStartedAt: toMillis(d.spinStartedAt),
    expectedEndAt: toMillis(d.expectedEndAt),
    online: d.online === true,
    outOfOrder: d.outOfOrder === true,
  };
}

export async function readRooms(db: Firestore): Promise<RoomDoc[]> {
  const snap = await db.collection(COL.rooms).get();
  return snap.docs
    .map((d) => ({
      roomId: d.id,
      name: typeof d.get("name") === "string" ? (d.get("name") as string) : d.id,
    }))
    .sort((a, b) => compareIds(a.roomId, b.roomId));
}

export async function readRoom(db: Firestore, roomId: string): Promise<RoomDoc | null> {
  const snap = await db.collection(COL.rooms).doc(roomId).get();
  if (!snap.exists) return null;
  const name: unknown = snap.get("name");
  return { roomId, name: typeof name === "string" ? name : roomId };
}

/** Machines of one room, or of every room; by id. */
export async function readMachines(db: Firestore, roomId?: string): Promise<MachineDoc[]> {
  const col = db.collection(COL.machines);
  const snap = await (roomId === undefined ? col : col.where("roomId", "==", roomId)).get();
  return snap.docs.map(toMachineDoc).sort((a, b) => compareIds(a.machineId, b.machineId));
}

/** Course averages by `courseStatsId`, for the given (type, course key) pairs. */
export async function readStats(
  db: Firestore,
  keys: readonly { type: MachineType; course: string }[],
): Promise<Map<string, CourseStats>> {
  const ids = [...new Set(keys.map((k) => courseStatsId(k.type, k.course)))];
  const out = new Map<string, CourseStats>();
  if (ids.length === 0) return out;
  const snaps = await db.getAll(...ids.map((id) => db.collection(COL.courseStats).doc(id)));
  for (const s of snaps) if (s.exists) out.set(s.id, s.data() as CourseStats);
  return out;
}

/** Which of these machines the user watches (`machines/{id}/watchers/{uid}` exists). */
export async function watchedBy(
  db: Firestore,
  uid: string,
  machineIds: readonly string[],
): Promise<Set<string>> {
  if (machineIds.length === 0) return new Set();
  const refs = machineIds.map((id) =>
    db.collection(COL.machines).doc(id).collection(WATCHERS).doc(uid),
  );
  const snaps = await db.getAll(...refs);
  return new Set(machineIds.filter((_, i) => snaps[i]?.exists));
}

/** `{"월":[24], …, "일":[24]}` of one room, or summed over every room. */
export async function congestionTable(db: Firestore, roomId?: string): Promise<WeekdayTable> {
  const col = db.collection(COL.congestion);
  if (roomId !== undefined) {
    const snap = await col.doc(roomId).get();
    return gridToWeekdayTable(snap.exists ? [snap.data() ?? {}] : []);
  }
  const all = await col.get();
  return gridToWeekdayTable(all.docs.map((d) => d.data()));
}
