/**
 * What the scheduled tick reads from Firestore, and how it counts its own reads and writes (the
 * benchmark reports them). The work per concern lives in timers.ts, presence.ts,
 * and reminders.ts beside this file; scheduled/tick.ts runs them in order.
 *
 * Reads per tick, whatever the number of rooms: one query for the running machines (timers,
 * presence while running and "finishing soon" all use it), one for the rooms whose timers are
 * shown (`timersActive == true`), the course averages those machines need, and two narrow
 * presence queries over idle machines that are usually empty.
 */
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import type { CourseStats } from "../../domain/stats";
import { type MachineStatus, type MachineType } from "../../domain/status";
import { courseOfMachineDoc, courseStatsId } from "../../store/applyReport";
import { COL, isAlreadyExists, toMillis } from "../../store/db";

export const RUNNING_STATUSES: MachineStatus[] = ["WASHING", "SPINNING", "DRYING"];
export const IDLE_STATUSES: MachineStatus[] = ["FINISHED", "OFF"];
/** Firestore's limit of writes in one batch. */
export const MAX_BATCH_WRITES = 500;

/** Documents read and writes issued by one tick. */
export interface TickCounters {
  reads: number;
  writes: number;
}

/** What every step of one tick works with. */
export interface TickContext {
  db: Firestore;
  /** The schedule time, truncated to the minute. */
  now: number;
  counters: TickCounters;
}

export function newCounters(): TickCounters {
  return { reads: 0, writes: 0 };
}

/** A machine document as the tick sees it (times in epoch ms). */
export interface TickMachine {
  machineId: string;
  roomId: string | null;
  name: string;
  type: MachineType;
  status: MachineStatus;
  course: string | null;
  cycleStartedAt: number | null;
  spinStartedAt: number | null;
  expectedEndAt: number | null;
  /** The high end of the expected-end range, epoch ms. */
  expectedEndHigh: number | null;
  lastSeenAt: number | null;
  /** The last liveness traffic (heartbeat, raw_data), epoch ms. */
  pingAt: number | null;
  online: boolean;
  /** The document's update time, the precondition of the tick's `online: false` write. */
  updateTime: Timestamp | null;
}

export function toTickMachine(doc: FirebaseFirestore.DocumentSnapshot): TickMachine {
  const d = doc.data() ?? {};
  return {
    machineId: doc.id,
    roomId: typeof d.roomId === "string" ? d.roomId : null,
    name: typeof d.name === "string" ? d.name : doc.id,
    type: d.type === "dryer" ? "dryer" : "washer",
    status: (d.status as MachineStatus | undefined) ?? "OFF",
    course: courseOfMachineDoc(d).course,
    cycleStartedAt: toMillis(d.cycleStartedAt),
    spinStartedAt: toMillis(d.spinStartedAt),
    expectedEndAt: toMillis(d.expectedEndAt),
    expectedEndHigh: toMillis((d.expectedEndRange as { high?: unknown } | null | undefined)?.high),
    lastSeenAt: toMillis(d.lastSeenAt),
    pingAt: toMillis(d.pingAt),
    online: d.online === true,
    updateTime: doc.updateTime ?? null,
  };
}

/** Every machine in the middle of a cycle. */
export async function readRunningMachines(
  db: Firestore,
  counters: TickCounters,
): Promise<TickMachine[]> {
  const snap = await db.collection(COL.machines).where("status", "in", RUNNING_STATUSES).get();
  counters.reads += Math.max(1, snap.size);
  return snap.docs.map(toTickMachine);
}

/** The course averages of these machines' current courses, keyed by `courseStatsId`. */
export async function readCourseStats(
  db: Firestore,
  ids: readonly string[],
  counters: TickCounters,
): Promise<Map<string, CourseStats>> {
  const out = new Map<string, CourseStats>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return out;
  const snaps = await db.getAll(...unique.map((id) => db.collection(COL.courseStats).doc(id)));
  counters.reads += snaps.length;
  for (const s of snaps) if (s.exists) out.set(s.id, s.data() as CourseStats);
  return out;
}

export { courseStatsId };

/** Deterministic markers (idempotency/{id}) expire this long after they were written. */
export const TICK_MARKER_TTL_MS = 7 * 24 * 3600_000;

/** `idempotency/tick-{key}`: written when every part of the tick for that minute succeeded. */
export function tickMarkerRef(db: Firestore, key: string) {
  return db.collection(COL.idempotency).doc(`tick-${key}`);
}

export function markerData(kind: string, now: number) {
  return {
    kind,
    createdAt: Timestamp.fromMillis(now),
    expireAt: Timestamp.fromMillis(now + TICK_MARKER_TTL_MS),
  };
}

/** Firestore's ALREADY_EXISTS (a `create()` on an existing document); re-exported from db.ts. */
export { isAlreadyExists };

/** `items` cut into consecutive slices of at most `size`. */
export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
