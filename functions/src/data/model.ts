/**
 * The documents as the code reads them: one `FirestoreDataConverter` per collection, decoding a
 * stored document (Timestamps, missing fields, old shapes) into a plain typed object once, here.
 * Every reader goes through these (data/refs.ts hands out the converted references); nothing
 * else decodes `snap.data()` by hand. Converters for collections written whole (cycles) encode
 * too; documents written field by field (machines: `update()`) are read-only here, and their
 * `toFirestore` refuses, so a write cannot silently go through the wrong shape.
 */
import {
  type DocumentData,
  type FirestoreDataConverter,
  type QueryDocumentSnapshot,
  Timestamp,
} from "firebase-admin/firestore";
import type { StoredCycle } from "../domain/apply";
import type { CalibrationSums } from "../domain/calibration";
import { type CourseChoice, effectiveCourse } from "../domain/course";
import type { DeviceReport, Magnitudes } from "../domain/cycle";
import type { QueueEntry, QueueOffer, RoomQueue } from "../domain/queue";
import {
  type CourseHistograms,
  type CourseStats,
  DEFAULT_COURSE,
  EMPTY_HISTOGRAMS,
} from "../domain/stats";
import { MACHINE_STATUSES, type MachineType } from "../domain/status";
import { num, str, toMillis, toTimestamp } from "./db";

type Data = DocumentData;

/** A converter for documents the code only reads. */
function reader<T>(
  decode: (id: string, d: Data, snap: QueryDocumentSnapshot) => T,
): FirestoreDataConverter<T> {
  return {
    toFirestore() {
      throw new Error("read-only converter: write this collection with untyped references");
    },
    fromFirestore: (snap) => decode(snap.id, snap.data(), snap),
  };
}

// ------------------------------------------------------------------------------ machines

/** A stored machine type: anything but a dryer is a washer. */
const toMachineType = (v: unknown): MachineType => (v === "dryer" ? "dryer" : "washer");

/** A machine document as the code reads it (times as epoch ms). */
export type Machine = ReturnType<typeof machineConverter.fromFirestore>;

export const machineConverter = reader((id, d, snap) => ({
  machineId: id,
  roomId: str(d.roomId),
  /** The machine's name, its id when unnamed. */
  name: str(d.name) ?? id,
  type: toMachineType(d.type),
  status: MACHINE_STATUSES.find((s) => s === d.status) ?? "OFF",
  /**
   * `course`: the course key of the running cycle as shown and timed (domain/course.ts), null: the
   * default; `courseName`: the name the user gave with `/start_course`, shown while `course` is its key.
   */
  ...courseOfMachineDoc(d),
  /** The running cycle's course as the report trigger resolved it (`course` may be a newer choice). */
  storedCourse:
    typeof d.course === "string" ? { course: d.course, courseName: str(d.courseName) } : null,
  /** The latest `/start_course` choice; its chooser is server-only (`courseChoices/`): `uid` "". */
  courseChoice: toCourseChoice(d.courseChoice),
  cycleStartedAt: toMillis(d.cycleStartedAt),
  spinStartedAt: toMillis(d.spinStartedAt),
  expectedEndAt: toMillis(d.expectedEndAt),
  /** The high end of the expected-end range. */
  expectedEndHigh: toMillis((d.expectedEndRange as { high?: unknown } | null)?.high),
  /** The course figures the running cycle is timed with (store/applyReport.ts); null when idle. */
  estimate: d.courseEstimate ? decodeCourseStats(d.courseEstimate as Data) : null,
  /** Device timestamp (s) of the newest report applied, and the ids of the last ones applied. */
  newestReportTs: num(d.newestReportTs),
  recentReports: Array.isArray(d.recentReports)
    ? d.recentReports.filter((id): id is string => typeof id === "string")
    : [],
  /** How many one-shot watches the machine has (`watchers/`); null when not known yet. */
  watcherCount: countOf(d.watcherCount),
  /** The last device traffic of any kind. */
  lastSeenAt: toMillis(d.lastSeenAt),
  /** The last liveness traffic (heartbeat, raw_data). */
  pingAt: toMillis(d.pingAt),
  online: d.online === true,
  outOfOrder: d.outOfOrder === true,
  calibration: d.calibration === true,
  /** The sums of the FINISHED magnitudes the board's thresholds come from. */
  calibrationSums: (d.calibrationSums as CalibrationSums | undefined) ?? null,
  /** The machine type its board last claimed unlike the registered one (recorded once per type). */
  reportedType: str((d.reportedType as { type?: unknown } | undefined)?.type),
  /** The document's update time: the precondition of writes that answer what was read. */
  updateTime: (snap.updateTime as Timestamp | undefined) ?? null,
}));

/** `machines/{id}.courseChoice`, written by start_course, without its chooser (`uid` ""). */
function toCourseChoice(value: unknown): CourseChoice | null {
  const v = (value ?? {}) as Record<string, unknown>;
  const setAt = toMillis(v.setAt);
  if (typeof v.course !== "string" || setAt === null) return null;
  return { course: v.course, courseName: str(v.courseName) ?? v.course, setAt, uid: "" };
}

/** The course a machine document's running cycle is shown and timed with (domain/course.ts). */
function courseOfMachineDoc(d: Data): { course: string | null; courseName: string | null } {
  const resolved = effectiveCourse({
    course: typeof d.course === "string" && d.course !== "" ? d.course : null,
    courseName: str(d.courseName),
    cycleStartedAt: toMillis(d.cycleStartedAt),
    courseChoice: toCourseChoice(d.courseChoice),
    choiceSeenAt: toMillis(d.courseChoiceSeenAt),
  });
  // null stands for the default course, as everywhere the machine document is read.
  if (!resolved || resolved.course === DEFAULT_COURSE) return { course: null, courseName: null };
  return resolved;
}

// ------------------------------------------------------------------------------ rooms

export type Room = ReturnType<typeof roomConverter.fromFirestore>;

/** A room: its id, and its name (its id when unnamed). */
export const roomConverter = reader((id, d) => ({ roomId: id, name: str(d.name) ?? id }));

// ------------------------------------------------------------------------------ reports, cycles

export const reportConverter = reader<DeviceReport>((id, d) => ({
  id,
  status: d.status as DeviceReport["status"],
  timestamp: d.timestamp as number,
  magnitudes: (d.magnitudes as Magnitudes | null | undefined) ?? null,
}));

/** `cycles/{id}`: a StoredCycle and the room it ran in, written whole by the report trigger. */
export type CycleDoc = StoredCycle & { roomId?: string | null };

export const cycleConverter: FirestoreDataConverter<CycleDoc> = {
  // Every field but the id, times as Timestamps.
  toFirestore: ({ id: _id, ...c }) => ({
    ...c,
    roomId: c.roomId ?? null,
    startedAt: Timestamp.fromMillis(c.startedAt as number),
    spinStartedAt: toTimestamp((c.spinStartedAt as number | null) ?? null),
    finishedAt: Timestamp.fromMillis(c.finishedAt as number),
  }),
  fromFirestore: (snap) => {
    const d = snap.data();
    return {
      id: snap.id,
      machineId: d.machineId as string,
      roomId: str(d.roomId),
      type: d.type as MachineType,
      course: d.course as string,
      startedBy: str(d.startedBy),
      startedAt: toMillis(d.startedAt) ?? 0,
      spinStartedAt: toMillis(d.spinStartedAt),
      finishedAt: toMillis(d.finishedAt) ?? 0,
      washMinutes: num(d.washMinutes),
      spinMinutes: num(d.spinMinutes),
      totalMinutes: d.totalMinutes as number,
      implausible: d.implausible === true,
      magnitudes: (d.magnitudes as Magnitudes | null | undefined) ?? null,
    };
  },
};

/** The id of a course's statistics document (and its key in maps of them). */
export function courseStatsId(type: MachineType, course: string): string {
  return `${type}-${course}`;
}

/** `courseStats/{type}-{course}`: the fleet's figures, the prior of a new room (roll-up). */
export const courseStatsConverter = reader<CourseStats>((_id, d) => decodeCourseStats(d));

function decodeCourseStats(d: Data): CourseStats {
  return {
    type: toMachineType(d.type),
    course: String(d.course),
    samples: Number(d.samples ?? 0),
    avgTotalMinutes: Number(d.avgTotalMinutes),
    avgWashMinutes: num(d.avgWashMinutes),
    avgSpinMinutes: num(d.avgSpinMinutes),
    lowMinutes: Number(d.lowMinutes),
    highMinutes: Number(d.highMinutes),
  };
}

/** A list's size kept on a document (watcherCount, subscriberCount…): a number ≥ 0, else unknown. */
function countOf(v: unknown): number | null {
  return typeof v === "number" && v >= 0 ? v : null;
}

/**
 * The course statistics of `congestion/{roomId}` (its `courses` map, keyed by `courseStatsId`;
 * the same document's cells are the congestion grid). Written by the report trigger.
 */
export const roomStatsConverter = reader((id, d) => ({
  roomId: id,
  /** Each course: what was measured and the figures derived from it (with the prior). */
  courses: Object.fromEntries(
    Object.entries((d.courses ?? {}) as Record<string, Data>).map(([key, c]) => {
      const histograms = { ...EMPTY_HISTOGRAMS, ...(c.histograms as Partial<CourseHistograms>) };
      return [key, { histograms, stats: c.stats ? decodeCourseStats(c.stats as Data) : null }];
    }),
  ),
  /**
   * People in the room's queue and subscribers to its FINISHED events, kept exact in the
   * transactions that change them (store/queue.ts, store/notifications.ts) so the report trigger
   * need not query an empty list; null when not known yet (the trigger then reads the list).
   */
  queueLength: countOf(d.queueLength),
  subscriberCount: countOf(d.subscriberCount),
}));

// ------------------------------------------------------------------------------ queues

function toOffer(x: unknown): QueueOffer | null {
  const o = (x ?? {}) as Record<string, unknown>;
  const [machineId, offeredAt, expiresAt] = [str(o.machineId), num(o.offeredAt), num(o.expiresAt)];
  return machineId !== null && offeredAt !== null && expiresAt !== null
    ? { machineId, offeredAt, expiresAt }
    : null;
}

/** A stored queue entry, none when malformed. */
function toEntry(x: unknown): QueueEntry[] {
  const e = (x ?? {}) as Record<string, unknown>;
  const [uid, joinedAt] = [str(e.uid), num(e.joinedAt)];
  if (uid === null || joinedAt === null) return [];
  const offer = toOffer(e.offer);
  return [{ uid, joinedAt, passes: num(e.passes) ?? 0, ...(offer ? { offer } : {}) }];
}

/** A stored `queues/{roomId}` document (missing → empty) as the domain's RoomQueue. */
export function toRoomQueue(data: Data | undefined): RoomQueue {
  const raw: unknown = data?.entries;
  return { entries: Array.isArray(raw) ? raw.flatMap(toEntry) : [] };
}

// ------------------------------------------------------------------------------ inbox

export type InboxEntry = ReturnType<typeof inboxEntryConverter.fromFirestore>;

export const inboxEntryConverter = reader((id, d) => ({
  id,
  title: String(d.title ?? ""),
  body: String(d.body ?? ""),
  type: String(d.type ?? ""),
  machineId: str(d.machineId),
  roomId: str(d.roomId),
  createdAt: toMillis(d.createdAt),
  readAt: toMillis(d.readAt),
}));

// ------------------------------------------------------------------------------ pushes

/** `pushes/{noticeId}-{uid}`: one push of the outbox (store/notices.ts writes, store/pushes.ts sends). */
export const pushConverter = reader((_id, d) => ({
  uid: String(d.uid ?? ""),
  notificationId: String(d.notificationId ?? ""),
  title: String(d.title ?? ""),
  body: String(d.body ?? ""),
  /** The push's `data.type`. */
  type: String(d.type ?? ""),
  machineId: String(d.machineId ?? ""),
  roomId: str(d.roomId),
  state: String(d.state ?? ""),
  /** The end of its time to live: FCM would not deliver it later. */
  expiresAt: (toMillis(d.createdAt) ?? 0) + Number(d.ttlSeconds ?? 0) * 1000,
  leaseExpireAt: toMillis(d.leaseExpireAt),
}));
