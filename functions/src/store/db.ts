/**
 * The Firestore handle and the collection layout, in one place. The admin app is created on
 * first use (not at module load) so cold starts stay cheap and tests can set the emulator host
 * first. With FIRESTORE_EMULATOR_HOST set, firebase-admin talks to that endpoint.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { type Firestore, Timestamp, getFirestore } from "firebase-admin/firestore";

let firestore: Firestore | undefined;

export function db(): Firestore {
  if (!firestore) {
    if (getApps().length === 0) initializeApp();
    firestore = getFirestore();
  }
  return firestore;
}

/** Collection names. Clients may read only rooms, machines, congestion and their own users/{uid}. */
export const COL = {
  rooms: "rooms",
  machines: "machines",
  /** machines/{id}/reports: the append-only device log. */
  reports: "reports",
  /** machines/{id}/rawData: 1 Hz samples while calibration is on. */
  rawData: "rawData",
  cycles: "cycles",
  courseStats: "courseStats",
  congestion: "congestion",
  machineCalibration: "machineCalibration",
  deviceSecrets: "deviceSecrets",
  /**
   * courseChoices/{machineId}: who chose the machine's course (`uid`, `setAt`) and who started
   * its running cycle (`startedBy`). Server-only: machine documents, which every resident reads,
   * carry no resident identifier.
   */
  courseChoices: "courseChoices",
  /** surveys/{uid}_{yyyymmdd}: residents' satisfaction answers, one per user and KST day. */
  surveys: "surveys",
  idempotency: "idempotency",
  users: "users",
  /** cycleWatchers/{cycleId}: who watched a cycle when it finished (for reminders). */
  cycleWatchers: "cycleWatchers",
  /** users/{uid}/notifications/{id}: the inbox (store/notices.ts). */
  notifications: "notifications",
  /** pushes/{noticeId}-{uid}: the push outbox, PENDING → PROCESSING → SENT / FAILED (store/pushes.ts). */
  pushes: "pushes",
  /** machineConfigs/{machineId}: the room and out-of-order flag last applied (store/console.ts). */
  machineConfigs: "machineConfigs",
} as const;

export function toTimestamp(ms: number | null): Timestamp | null {
  return ms === null ? null : Timestamp.fromMillis(ms);
}

export function toMillis(value: unknown): number | null {
  if (value instanceof Timestamp) return value.toMillis();
  if (typeof value === "number") return value;
  return null;
}

/** Firestore's ALREADY_EXISTS (gRPC code 6): a `create()` of a document that exists. */
export function isAlreadyExists(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 6;
}
