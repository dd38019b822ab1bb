/**
 * Applies one stored device report: reads what the planner needs, asks the pure domain for the
 * plan, and writes machine state, cycles, course averages, congestion and calibration sums in one
 * transaction together with the report's idempotency marker, and with what the change brings
 * about: the finished cycles' notices (store/notifications.ts) and the room queue's move
 * (store/queue.ts), their inbox entries and push documents included (store/notices.ts).
 * Delivered any number of times, in any order, the result is that of delivering each report
 * once, in order; nothing is left owed after the commit.
 */
import { FieldValue, type Firestore, Timestamp, type Transaction } from "firebase-admin/firestore";
import { cellField } from "../domain/congestion";
import {
  type CourseChoice,
  type ResolvedCourse,
  earliestStartFor,
  effectiveCourse,
} from "../domain/course";
import {
  type CycleBounds,
  type ReportDecision,
  type ReportPlan,
  type StoredCycle,
  planReport,
} from "../domain/apply";
import type { DeviceReport, Magnitudes } from "../domain/cycle";
import { type MachineStatus, type MachineType, isRunning } from "../domain/status";
import {
  COURSE_WINDOW,
  type CourseStats,
  DEFAULT_COURSE,
  courseStats,
  expectedEnd,
} from "../domain/stats";
import { COL, toMillis, toTimestamp } from "./db";
import { readNotices, writeNotices } from "./notices";
import { planFinished } from "./notifications";
import { planMachineTransition } from "./queue";

/** Idempotency markers expire (TTL policy on `expireAt`) after this long. */
export const MARKER_TTL_MS = 30 * 24 * 3600_000;
/**
 * Reports read from each end of the window after the newest boundary (a stuck machine has more;
 * planReport is told about the cut, see its `gap`).
 */
export const HALF_WINDOW = 250;

export interface ApplyResult {
  decision: ReportDecision;
  machineId: string;
  roomId: string | null;
  type: MachineType;
  /** Cycles this delivery completed for the first time (FINISHED events to announce). */
  newCycles: StoredCycle[];
  statusBefore: MachineStatus | null;
  statusAfter: MachineStatus | null;
  /** Notices written (inbox entry + push document each). */
  notices: number;
  /** The queue offer this change made, to whom. */
  offeredTo: string | null;
}

/** What the rules the trigger applies are configured to. */
export interface ApplySettings {
  bounds: CycleBounds;
  claimWindowMinutes: number;
}

/**
 * The report or its machine is gone (a machine deleted in the console, a report removed by
 * hand): a permanent condition, which no retry of the trigger can change.
 */
export class MissingReportError extends Error {
  constructor(
    readonly machineId: string,
    readonly reportId: string,
    readonly machineMissing: boolean,
  ) {
    super(
      `${machineMissing ? "machine" : "report"} ${machineMissing ? machineId : `${machineId}/${reportId}`} does not exist`,
    );
  }
}

export async function applyReport(
  db: Firestore,
  machineId: string,
  reportId: string,
  now: () => number,
  settings: ApplySettings,
): Promise<ApplyResult> {
  const { bounds } = settings;
  const machineRef = db.collection(COL.machines).doc(machineId);
  const reportsCol = machineRef.collection(COL.reports);
  const markerRef = db.collection(COL.idempotency).doc(`report-${machineId}-${reportId}`);

  return db.runTransaction(async (tx) => {
    const [marker, machineSnap, reportSnap] = await tx.getAll(
      markerRef,
      machineRef,
      reportsCol.doc(reportId),
    );
    if (!machineSnap?.exists || !reportSnap?.exists) {
      throw new MissingReportError(machineId, reportId, !machineSnap?.exists);
    }
    const machine = machineSnap.data() ?? {};
    const type: MachineType = machine.type === "dryer" ? "dryer" : "washer";
    const roomId = typeof machine.roomId === "string" ? machine.roomId : null;
    const statusBefore = (machine.status as MachineStatus | undefined) ?? null;
    const base = { machineId, roomId, type, statusBefore };
    if (marker?.exists) {
      return {
        ...base,
        decision: "duplicate" as const,
        newCycles: [],
        statusAfter: statusBefore,
        notices: 0,
        offeredTo: null,
      };
    }
    const report = toReport(reportSnap);

    const boundarySnap = await tx.get(
      reportsCol
        .where("boundary", "==", true)
        .where("timestamp", "<", report.timestamp)
        .orderBy("timestamp", "desc")
        .limit(1),
    );
    const boundary = boundarySnap.empty ? null : toReport(boundarySnap.docs[0]);
    // Newest first, so a flood of reports (EXT_VIBE spam) loses its oldest, not the newest.
    // Both ends of the window: its start (the cycle's WASHING) and its newest reports. A flood
    // of reports (EXT_VIBE spam) beyond 2 × HALF_WINDOW loses only the ones in the middle.
    const windowBase = boundary
      ? reportsCol.where("timestamp", ">=", boundary.timestamp)
      : reportsCol;
    const [oldestSnap, newestSnap] = [
      await tx.get(windowBase.orderBy("timestamp").limit(HALF_WINDOW)),
      await tx.get(windowBase.orderBy("timestamp", "desc").limit(HALF_WINDOW)),
    ];
    const windowDocs = new Map(
      [...oldestSnap.docs, ...newestSnap.docs].map((d) => [d.id, toReport(d)]),
    );
    // Both ends full and not meeting: there may be reports between them that were not read.
    const cut =
      oldestSnap.size === HALF_WINDOW &&
      newestSnap.size === HALF_WINDOW &&
      windowDocs.size === 2 * HALF_WINDOW;
    const gap = cut
      ? {
          from: toReport(oldestSnap.docs[oldestSnap.size - 1]),
          to: toReport(newestSnap.docs[newestSnap.size - 1]),
        }
      : null;
    const cyclesSnap = await tx.get(
      db
        .collection(COL.cycles)
        .where("machineId", "==", machineId)
        .where("finishedAt", ">", Timestamp.fromMillis((boundary?.timestamp ?? 0) * 1000)),
    );
    // Who chose the course, and who started the running cycle: server-only (see COL.courseChoices).
    const who =
      // Read only when a choice exists: a starter only ever comes from one.
      machine.courseChoice ? await tx.get(db.collection(COL.courseChoices).doc(machineId)) : null;
    const whoData = who?.data() ?? {};
    const choice = toCourseChoice(machine.courseChoice, whoData);
    const firstAfterChoice = choice
      ? await tx.get(
          db
            .collection(COL.cycles)
            .where("machineId", "==", machineId)
            .where("startedAt", ">=", Timestamp.fromMillis(earliestStartFor(choice)))
            .orderBy("startedAt")
            .limit(1),
        )
      : null;
    const plan = planReport({
      machineId,
      type,
      choice,
      firstStoredStartAfterChoice: firstAfterChoice?.empty
        ? null
        : toMillis(firstAfterChoice?.docs[0]?.get("startedAt")),
      previousCourse: previousCourseOf(machine, whoData),
      report,
      alreadyApplied: false,
      newestReportTs: typeof machine.newestReportTs === "number" ? machine.newestReportTs : null,
      boundary,
      window: [...windowDocs.values()],
      gap,
      stored: {
        status: (machine.status as MachineStatus | undefined) ?? "OFF",
        cycleStartedAt: toMillis(machine.cycleStartedAt),
        spinStartedAt: toMillis(machine.spinStartedAt),
        newestReportTs: typeof machine.newestReportTs === "number" ? machine.newestReportTs : null,
      },
      existingCycles: cyclesSnap.docs.map(toStoredCycle),
      bounds,
    });

    const course = plan.current?.course ?? DEFAULT_COURSE;
    const stats = await recomputeCourseStats(db, tx, type, plan, course);
    const existingIds = new Set(cyclesSnap.docs.map((d) => d.id));
    const newCycles = plan.upsertCycles.filter((c) => !existingIds.has(c.id));
    const at = now();

    // What the change brings about, read before the first write.
    const name: unknown = machine.name;
    const finished =
      newCycles.length > 0
        ? await planFinished(db, tx, {
            machine: { id: machineId, name: typeof name === "string" ? name : null, type },
            roomId,
            cycles: newCycles,
            now: at,
          })
        : null;
    const transition = transitionOf(statusBefore, plan.state.status);
    const queue =
      roomId && transition
        ? await planMachineTransition(db, tx, {
            machineId,
            roomId,
            transition,
            outOfOrder: machine.outOfOrder === true,
            now: at,
            windowMinutes: settings.claimWindowMinutes,
          })
        : null;
    const notices = await readNotices(db, tx, [
      ...(finished?.notices ?? []),
      ...(queue?.notices ?? []),
    ]);

    tx.create(markerRef, {
      kind: "report",
      createdAt: FieldValue.serverTimestamp(),
      expireAt: Timestamp.fromMillis(at + MARKER_TTL_MS),
    });
    writePlan(db, tx, {
      machineId,
      roomId,
      type,
      course,
      machine,
      who: whoData,
      plan,
      stats,
      reportSnap,
      now: at,
    });
    finished?.write(tx);
    queue?.write(tx);
    writeNotices(db, tx, notices, at);
    const offer = queue?.announce?.[0] ?? null;
    return {
      ...base,
      decision: plan.decision,
      newCycles,
      statusAfter: plan.state.status,
      notices: notices.toWrite.length,
      offeredTo: offer?.uid ?? null,
    };
  });
}

/** A machine freed (running → not) or started (not → running) by a report; else null. */
export function transitionOf(
  before: MachineStatus | null,
  after: MachineStatus,
): "freed" | "started" | null {
  const wasRunning = before !== null && isRunning(before);
  const running = isRunning(after);
  return wasRunning === running ? null : wasRunning ? "freed" : "started";
}

/** Averages of every course whose set of cycles changed, plus the machine's current course. */
async function recomputeCourseStats(
  db: Firestore,
  tx: Transaction,
  type: MachineType,
  plan: ReportPlan,
  currentCourse: string,
): Promise<Map<string, CourseStats | null>> {
  const result = new Map<string, CourseStats | null>();
  for (const course of plan.touchedCourses) {
    const snap = await tx.get(
      db
        .collection(COL.cycles)
        .where("type", "==", type)
        .where("course", "==", course)
        .orderBy("finishedAt", "desc")
        .limit(COURSE_WINDOW),
    );
    const byId = new Map(snap.docs.map((d) => [d.id, toStoredCycle(d)]));
    plan.deleteCycleIds.forEach((id) => byId.delete(id));
    plan.upsertCycles.filter((c) => c.course === course).forEach((c) => byId.set(c.id, c));
    const counted = [...byId.values()].filter((c) => !c.implausible);
    result.set(course, courseStats(type, course, counted));
  }
  if (!result.has(currentCourse)) {
    const snap = await tx.get(
      db.collection(COL.courseStats).doc(courseStatsId(type, currentCourse)),
    );
    result.set(currentCourse, snap.exists ? (snap.data() as CourseStats) : null);
  }
  return result;
}

export function courseStatsId(type: MachineType, course: string): string {
  return `${type}-${course}`;
}

function writePlan(
  db: Firestore,
  tx: Transaction,
  a: {
    machineId: string;
    roomId: string | null;
    type: MachineType;
    course: string;
    machine: FirebaseFirestore.DocumentData;
    /** courseChoices/{machineId}, as read. */
    who: FirebaseFirestore.DocumentData;
    plan: ReportPlan;
    stats: Map<string, CourseStats | null>;
    reportSnap: FirebaseFirestore.DocumentSnapshot;
    now: number;
  },
): void {
  const { plan } = a;
  const state = plan.state;
  const end = expectedEnd(a.type, state, a.stats.get(a.course) ?? null);
  const receivedAt = toMillis(a.reportSnap.get("receivedAt")) ?? a.now;
  const lastSeen = Math.max(toMillis(a.machine.lastSeenAt) ?? 0, receivedAt);
  tx.update(db.collection(COL.machines).doc(a.machineId), {
    status: state.status,
    cycleStartedAt: toTimestamp(state.cycleStartedAt),
    spinStartedAt: toTimestamp(state.spinStartedAt),
    expectedEndAt: toTimestamp(end?.expectedEndAt ?? null),
    expectedEndRange: end ? { low: toTimestamp(end.low), high: toTimestamp(end.high) } : null,
    newestReportTs: state.newestReportTs,
    lastSeenAt: Timestamp.fromMillis(lastSeen),
    online: true,
    ...(plan.decision === "apply" && typeof a.reportSnap.get("battery") === "number"
      ? { battery: a.reportSnap.get("battery") as number }
      : {}),
    // The running cycle's course, resolved from the user's choice (domain/course.ts).
    course: plan.current?.course ?? null,
    courseName: plan.current?.courseName ?? null,
    // Machines carried the starter's and the chooser's uid before they moved to courseChoices/{id}.
    courseStartedBy: FieldValue.delete(),
    ...(hasLegacyChooser(a.machine) ? { "courseChoice.uid": FieldValue.delete() } : {}),
    // The choice this resolution considered: /load and the tick trust it until a newer one.
    courseChoiceSeenAt: toTimestamp(toCourseChoice(a.machine.courseChoice)?.setAt ?? null),
    updatedAt: FieldValue.serverTimestamp(),
  });
  // Who started the running cycle (reminders go to them), kept server-only; written on change.
  const startedBy = plan.current?.startedBy ?? null;
  const startedByCycleAt = startedBy === null ? null : state.cycleStartedAt;
  const knownBy = typeof a.who.startedBy === "string" ? a.who.startedBy : null;
  if (startedBy !== knownBy || startedByCycleAt !== toMillis(a.who.startedByCycleAt)) {
    tx.set(
      db.collection(COL.courseChoices).doc(a.machineId),
      { startedBy, startedByCycleAt: toTimestamp(startedByCycleAt) },
      { merge: true },
    );
  }
  for (const c of plan.upsertCycles) {
    tx.set(db.collection(COL.cycles).doc(c.id), {
      machineId: c.machineId,
      roomId: a.roomId,
      type: c.type,
      course: c.course,
      startedBy: c.startedBy,
      startedAt: Timestamp.fromMillis(c.startedAt),
      spinStartedAt: toTimestamp(c.spinStartedAt),
      finishedAt: Timestamp.fromMillis(c.finishedAt),
      washMinutes: c.washMinutes,
      spinMinutes: c.spinMinutes,
      totalMinutes: c.totalMinutes,
      implausible: c.implausible,
      magnitudes: c.magnitudes,
    });
  }
  for (const id of plan.deleteCycleIds) tx.delete(db.collection(COL.cycles).doc(id));
  for (const course of plan.touchedCourses) {
    const stats = a.stats.get(course) ?? null;
    const ref = db.collection(COL.courseStats).doc(courseStatsId(a.type, course));
    if (stats) tx.set(ref, { ...stats, updatedAt: FieldValue.serverTimestamp() });
    else tx.delete(ref);
  }
  if (a.roomId && plan.congestion.size > 0) {
    const cells: Record<string, FieldValue> = {};
    for (const [cell, n] of plan.congestion) cells[cellField(cell)] = FieldValue.increment(n);
    tx.set(
      db.collection(COL.congestion).doc(a.roomId),
      { roomId: a.roomId, ...cells, updatedAt: FieldValue.serverTimestamp() },
      { merge: true },
    );
  }
  if (plan.calibration.samples !== 0) {
    const c = plan.calibration;
    tx.set(
      db.collection(COL.machineCalibration).doc(a.machineId),
      {
        samples: FieldValue.increment(c.samples),
        washAvgSum: FieldValue.increment(c.washAvgSum),
        washMaxSum: FieldValue.increment(c.washMaxSum),
        spinMaxSum: FieldValue.increment(c.spinMaxSum),
      },
      { merge: true },
    );
  }
}

/** `machines/{id}.courseChoice`, written by start_course. */
/** A machine document written before the chooser's uid moved to courseChoices/{id}. */
function hasLegacyChooser(machine: FirebaseFirestore.DocumentData): boolean {
  const c = machine.courseChoice as unknown;
  return typeof c === "object" && c !== null && "uid" in c;
}

/**
 * The machine's course choice; the chooser's uid comes from the server-only
 * `courseChoices/{machineId}` (`who`) when it belongs to this choice (same `setAt`).
 */
export function toCourseChoice(
  value: unknown,
  who: FirebaseFirestore.DocumentData = {},
): CourseChoice | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const setAt = toMillis(v.setAt);
  if (typeof v.course !== "string" || setAt === null) return null;
  const uid = typeof who.uid === "string" && toMillis(who.setAt) === setAt ? who.uid : "";
  return {
    course: v.course,
    courseName: typeof v.courseName === "string" ? v.courseName : v.course,
    setAt,
    uid,
  };
}

/** The course a machine document's running cycle is shown and timed with (domain/course.ts). */
export function courseOfMachineDoc(d: FirebaseFirestore.DocumentData): {
  course: string | null;
  courseName: string | null;
} {
  const resolved = effectiveCourse({
    course: typeof d.course === "string" && d.course !== "" ? d.course : null,
    courseName: typeof d.courseName === "string" ? d.courseName : null,
    cycleStartedAt: toMillis(d.cycleStartedAt),
    courseChoice: toCourseChoice(d.courseChoice),
    choiceSeenAt: toMillis(d.courseChoiceSeenAt),
  });
  // null stands for the default course, as everywhere the machine document is read.
  if (!resolved || resolved.course === DEFAULT_COURSE) return { course: null, courseName: null };
  return resolved;
}

/** The running cycle's course as the trigger resolved it on an earlier delivery. */
function previousCourseOf(
  d: FirebaseFirestore.DocumentData,
  who: FirebaseFirestore.DocumentData,
): (ResolvedCourse & { cycleStartedAt: number }) | null {
  const cycleStartedAt = toMillis(d.cycleStartedAt);
  if (cycleStartedAt === null || typeof d.course !== "string") return null;
  // `startedBy` is kept for the cycle it was resolved for.
  const sameCycle = toMillis(who.startedByCycleAt) === cycleStartedAt;
  return {
    cycleStartedAt,
    course: d.course,
    courseName: typeof d.courseName === "string" ? d.courseName : null,
    startedBy: sameCycle && typeof who.startedBy === "string" ? who.startedBy : null,
  };
}

export function toReport(doc: FirebaseFirestore.DocumentSnapshot): DeviceReport {
  const d = doc.data() ?? {};
  return {
    id: doc.id,
    status: d.status as DeviceReport["status"],
    timestamp: d.timestamp as number,
    magnitudes: (d.magnitudes as Magnitudes | null | undefined) ?? null,
  };
}

function toStoredCycle(doc: FirebaseFirestore.DocumentSnapshot): StoredCycle {
  const d = doc.data() ?? {};
  return {
    id: doc.id,
    machineId: d.machineId as string,
    type: d.type as MachineType,
    course: d.course as string,
    startedBy: typeof d.startedBy === "string" ? d.startedBy : null,
    startedAt: toMillis(d.startedAt) ?? 0,
    spinStartedAt: toMillis(d.spinStartedAt),
    finishedAt: toMillis(d.finishedAt) ?? 0,
    washMinutes: (d.washMinutes as number | null) ?? null,
    spinMinutes: (d.spinMinutes as number | null) ?? null,
    totalMinutes: d.totalMinutes as number,
    implausible: d.implausible === true,
    magnitudes: (d.magnitudes as Magnitudes | null | undefined) ?? null,
  };
}
