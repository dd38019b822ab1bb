/**
 * Applies one stored device report: reads what the planner needs, asks the pure domain for the
 * plan, and writes machine state, cycles, course averages, congestion and calibration sums in one
 * transaction together with the report's idempotency marker, and with what the change brings
 * about: the finished cycles' notices (store/notifications.ts) and the room queue's move
 * (store/queue.ts), their inbox entries and push documents included (store/notices.ts).
 * Delivered any number of times, in any order, the result is that of delivering each report
 * once, in order; nothing is left owed after the commit.
 */
import {
  FieldValue,
  type Firestore,
  Timestamp,
  type Transaction,
  type DocumentData,
  type DocumentSnapshot,
} from "firebase-admin/firestore";
import { cellField } from "../domain/congestion";
import { type PreviousCourse, earliestStartFor } from "../domain/course";
import {
  type CycleBounds,
  type ReportDecision,
  type ReportPlan,
  type StoredCycle,
  planReport,
} from "../domain/apply";
import { type MachineStatus, type MachineType, isRunning } from "../domain/status";
import {
  COURSE_WINDOW,
  type CourseStats,
  DEFAULT_COURSE,
  courseStats,
  expectedEnd,
} from "../domain/stats";
import { toMillis, toTimestamp } from "../data/db";
import { toCourseChoice } from "../data/model";
import { readNotices, writeNotices } from "./notices";
import { planFinished } from "./notifications";
import { planMachineTransition } from "./queue";
import { refs } from "../data/refs";

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
  // The machine's stored fold (newestReportTs, courseChoice…), as written: this is its writer.
  const machineRef = refs(db).machine(machineId).withConverter(null);
  const reportsCol = refs(db).reports(machineId);
  const markerRef = refs(db).idempotency(`report-${machineId}-${reportId}`);

  return db.runTransaction(async (tx) => {
    const [[marker, machineSnap], reportSnap] = await Promise.all([
      tx.getAll(markerRef, machineRef),
      tx.get(reportsCol.doc(reportId)),
    ]);
    const report = reportSnap.data();
    if (!machineSnap?.exists || !report) {
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

    const boundarySnap = await tx.get(
      reportsCol
        .where("boundary", "==", true)
        .where("timestamp", "<", report.timestamp)
        .orderBy("timestamp", "desc")
        .limit(1),
    );
    const boundary = boundarySnap.docs[0]?.data() ?? null;
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
      [...oldestSnap.docs, ...newestSnap.docs].map((d) => [d.id, d.data()]),
    );
    // Both ends full and not meeting: there may be reports between them that were not read.
    const cut =
      oldestSnap.size === HALF_WINDOW &&
      newestSnap.size === HALF_WINDOW &&
      windowDocs.size === 2 * HALF_WINDOW;
    const gap = cut
      ? {
          from: oldestSnap.docs[oldestSnap.size - 1].data(),
          to: newestSnap.docs[newestSnap.size - 1].data(),
        }
      : null;
    const cyclesSnap = await tx.get(
      refs(db)
        .cycles.where("machineId", "==", machineId)
        .where("finishedAt", ">", Timestamp.fromMillis((boundary?.timestamp ?? 0) * 1000)),
    );
    // Who chose the course, and who started the running cycle: server-only (data/refs.ts courseChoice).
    const who =
      // Read only when a choice exists: a starter only ever comes from one.
      machine.courseChoice ? await tx.get(refs(db).courseChoice(machineId)) : null;
    const whoData = who?.data() ?? {};
    const choice = toCourseChoice(machine.courseChoice, whoData);
    const firstAfterChoice = choice
      ? await tx.get(
          refs(db)
            .cycles.where("machineId", "==", machineId)
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
      existingCycles: cyclesSnap.docs.map((d) => d.data()),
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
      refs(db)
        .cycles.where("type", "==", type)
        .where("course", "==", course)
        .orderBy("finishedAt", "desc")
        .limit(COURSE_WINDOW),
    );
    const byId = new Map<string, StoredCycle>(snap.docs.map((d) => [d.id, d.data()]));
    plan.deleteCycleIds.forEach((id) => byId.delete(id));
    plan.upsertCycles.filter((c) => c.course === course).forEach((c) => byId.set(c.id, c));
    const counted = [...byId.values()].filter((c) => !c.implausible);
    result.set(course, courseStats(type, course, counted));
  }
  if (!result.has(currentCourse)) {
    const snap = await tx.get(refs(db).courseStats(type, currentCourse));
    result.set(currentCourse, snap.data() ?? null);
  }
  return result;
}

function writePlan(
  db: Firestore,
  tx: Transaction,
  a: {
    machineId: string;
    roomId: string | null;
    type: MachineType;
    course: string;
    machine: DocumentData;
    /** courseChoices/{machineId}, as read. */
    who: DocumentData;
    plan: ReportPlan;
    stats: Map<string, CourseStats | null>;
    reportSnap: DocumentSnapshot;
    now: number;
  },
): void {
  const { plan } = a;
  const state = plan.state;
  const end = expectedEnd(a.type, state, a.stats.get(a.course) ?? null);
  const receivedAt = toMillis(a.reportSnap.get("receivedAt")) ?? a.now;
  const lastSeen = Math.max(toMillis(a.machine.lastSeenAt) ?? 0, receivedAt);
  tx.update(refs(db).machine(a.machineId), {
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
      refs(db).courseChoice(a.machineId),
      { startedBy, startedByCycleAt: toTimestamp(startedByCycleAt) },
      { merge: true },
    );
  }
  for (const c of plan.upsertCycles) tx.set(refs(db).cycle(c.id), { ...c, roomId: a.roomId });
  for (const id of plan.deleteCycleIds) tx.delete(refs(db).cycle(id));
  for (const course of plan.touchedCourses) {
    const stats = a.stats.get(course) ?? null;
    const ref = refs(db).courseStats(a.type, course).withConverter(null);
    if (stats) tx.set(ref, { ...stats, updatedAt: FieldValue.serverTimestamp() });
    else tx.delete(ref);
  }
  if (a.roomId && plan.congestion.size > 0) {
    const cells: Record<string, FieldValue> = {};
    for (const [cell, n] of plan.congestion) cells[cellField(cell)] = FieldValue.increment(n);
    tx.set(
      refs(db).congestion(a.roomId),
      { roomId: a.roomId, ...cells, updatedAt: FieldValue.serverTimestamp() },
      { merge: true },
    );
  }
  if (plan.calibration.samples !== 0) {
    const c = plan.calibration;
    tx.set(
      refs(db).machineCalibration(a.machineId),
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

/** A machine document written before the chooser's uid moved to courseChoices/{id}. */
function hasLegacyChooser(machine: DocumentData): boolean {
  const c = machine.courseChoice as unknown;
  return typeof c === "object" && c !== null && "uid" in c;
}

/** The running cycle's course as the trigger resolved it on an earlier delivery. */
function previousCourseOf(d: DocumentData, who: DocumentData): PreviousCourse | null {
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
