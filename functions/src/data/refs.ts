/**
 * Every collection and document the functions touch, in one place: the layout of the database.
 * References of collections with a converter (data/model.ts) are typed: reading them gives the
 * decoded object. Write whole documents of a read-only collection through `.withConverter(null)`.
 * Clients may read only rooms, machines, congestion and their own users/{uid} (firestore.rules).
 */
import type { DocumentReference, DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import type { MachineType } from "../domain/status";
import {
  courseStatsConverter,
  courseStatsId,
  cycleConverter,
  inboxEntryConverter,
  machineConverter,
  pushConverter,
  reportConverter,
  roomConverter,
  roomStatsConverter,
} from "./model";

export function refs(db: Firestore) {
  const col = (path: string) => db.collection(path);
  const machines = col("machines").withConverter(machineConverter);
  const rooms = col("rooms").withConverter(roomConverter);
  const users = col("users");
  const cycles = col("cycles").withConverter(cycleConverter);
  return {
    machines,
    machine: (id: string) => machines.doc(id),
    /** machines/{id}/reports: the append-only device log, id `{timestamp}-{status}`. */
    reports: (machineId: string) =>
      machines.doc(machineId).collection("reports").withConverter(reportConverter),
    /** machines/{id}/rawData: 1 Hz samples while calibration is on. */
    rawData: (machineId: string) => machines.doc(machineId).collection("rawData"),
    /** machines/{id}/watchers/{uid}: one-shot watches (`notify_me`). */
    watchers: (machineId: string) => machines.doc(machineId).collection("watchers"),
    /** machines/{id}/brokenReports/{uid}: one report per user per outage (store/broken.ts). */
    brokenReports: (machineId: string) => machines.doc(machineId).collection("brokenReports"),
    brokenArchive: (machineId: string) => machines.doc(machineId).collection("brokenArchive"),
    /** brokenOutages/{machineId}-{outage}: the outage's tally of reporters (store/broken.ts). */
    brokenOutage: (machineId: string, outage: number) =>
      col("brokenOutages").doc(`${machineId}-${outage}`),
    rooms,
    room: (id: string) => rooms.doc(id),
    /** rooms/{id}/subscribers/{uid}: persistent room subscriptions (`device_subscribe`). */
    subscribers: (roomId: string) => rooms.doc(roomId).collection("subscribers"),
    cycles,
    cycle: (id: string) => cycles.doc(id),
    /** congestion/{roomId} read as the room's course statistics (`courses`, domain/stats.ts). */
    roomStatsAll: col("congestion").withConverter(roomStatsConverter),
    roomStats: (roomId: string) => col("congestion").withConverter(roomStatsConverter).doc(roomId),
    /** courseStats/{type}-{course}: the fleet's course figures, a new room's prior. */
    courseStatsAll: col("courseStats").withConverter(courseStatsConverter),
    courseStats: (type: MachineType, course: string) =>
      col("courseStats").withConverter(courseStatsConverter).doc(courseStatsId(type, course)),
    /**
     * congestion/{roomId}: the room's statistics, readable by residents: `w{weekday}h{hh}` cycle
     * counts and `courses` (each course's histograms and figures, written whole).
     */
    congestions: col("congestion"),
    congestion: (roomId: string) => col("congestion").doc(roomId),
    deviceSecrets: col("deviceSecrets"),
    deviceSecret: (machineId: string) => col("deviceSecrets").doc(machineId),
    /** courseChoices/{machineId}: who chose the course and who started the running cycle. */
    courseChoice: (machineId: string) => col("courseChoices").doc(machineId),
    /** machineConfigs/{machineId}: the room and out-of-order flag last applied (console). */
    machineConfig: (machineId: string) => col("machineConfigs").doc(machineId),
    /** provisioning/{machineId}: a console-made machine's secret, shown once (console). */
    provisioning: (machineId: string) => col("provisioning").doc(machineId),
    /** queues/{roomId}: the room's fair queue (store/queue.ts). */
    queues: col("queues"),
    queue: (roomId: string) => col("queues").doc(roomId),
    user: (uid: string) => users.doc(uid),
    tokens: (uid: string) => users.doc(uid).collection("tokens"),
    notifications: (uid: string) =>
      users.doc(uid).collection("notifications").withConverter(inboxEntryConverter),
    /** pushes/{noticeId}-{uid}: the push outbox (store/notices.ts, store/pushes.ts). */
    pushes: col("pushes"),
    push: (id: string) => col("pushes").withConverter(pushConverter).doc(id),
    /** cycleWatchers/{cycleId}: who watched a cycle when it finished (reminders). */
    cycleWatchers: (cycleId: string) => col("cycleWatchers").doc(cycleId),
    admins: col("admins"),
    admin: (uid: string) => col("admins").doc(uid),
    /** surveys/{uid}_{yyyymmdd}: satisfaction answers, one per user and KST day. */
    surveys: col("surveys"),
    /** idempotency/{id}: the tick's minute-done markers. */
    idempotency: (id: string) => col("idempotency").doc(id),
    /** caches/{id}: the tip and the weather. */
    cache: (id: string) => col("caches").doc(id),
  };
}

/** `db.getAll` (one round trip), keeping the references' converted type; [] for no references. */
export async function getAll<T>(
  db: Firestore,
  docs: readonly DocumentReference<T>[],
): Promise<DocumentSnapshot<T>[]> {
  if (docs.length === 0) return [];
  const untyped = docs as unknown as DocumentReference[];
  return (await db.getAll(...untyped)) as unknown as DocumentSnapshot<T>[];
}
