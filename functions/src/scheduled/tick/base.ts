/**
 * What every step of one tick (timers.ts, presence.ts, reminders.ts; scheduled/tick.ts runs them)
 * works with. The tick counts its own reads and writes; the benchmark reports them.
 */
import type { Firestore } from "firebase-admin/firestore";

export interface TickContext {
  db: Firestore;
  /** The schedule time, truncated to the minute. */
  now: number;
  counters: { reads: number; writes: number };
}
