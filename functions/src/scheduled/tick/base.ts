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
import type { MachineStatus } from "../../domain/status";
import { isAlreadyExists } from "../../data/db";
import type { Machine } from "../../data/model";
import { refs } from "../../data/refs";

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

/** Every machine in the middle of a cycle. */
export async function readRunningMachines(
  db: Firestore,
  counters: TickCounters,
): Promise<Machine[]> {
  const snap = await refs(db).machines.where("status", "in", RUNNING_STATUSES).get();
  counters.reads += Math.max(1, snap.size);
  return snap.docs.map((d) => d.data());
}

/** Deterministic markers (idempotency/{id}) expire this long after they were written. */
export const TICK_MARKER_TTL_MS = 7 * 24 * 3600_000;

/** `idempotency/tick-{key}`: written when every part of the tick for that minute succeeded. */
export function tickMarkerRef(db: Firestore, key: string) {
  return refs(db).idempotency(`tick-${key}`);
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
