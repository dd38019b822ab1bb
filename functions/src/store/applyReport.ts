/**
 * Applies one stored device report: reads what the planner needs, asks the pure domain for the
 * plan, and writes machine state, cycles, the room's course statistics, congestion and calibration
 * sums in one transaction, with what the change brings about: the finished cycles' notices
 * (store/notifications.ts) and the room queue's move (store/queue.ts), their inbox entries and
 * push documents included (store/notices.ts).
 *
 * Delivered any number of times, in any order, the result is that of delivering each report
 * once, in order, without an idempotency marker: a report newer than every applied one is folded
 * onto the machine's stored state (the common case: one read); any other is folded again with the
 * stored reports around it, and the plan writes only the difference from what is stored, so a
 * repeat changes nothing. The machine keeps the ids of its last reports applied, so a
 * redelivery of those is recognised with no further read (docs/DECISIONS.md "Reports without
 * markers").
 */
import {
  FieldValue,
  type Firestore,
  Timestamp,
  type Transaction,
  type DocumentData,
  type QueryDocumentSnapshot,
} from "firebase-admin/firestore";
import type { CalibrationSums } from "../domain/calibration";
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
import type { DeviceReport } from "../domain/cycle";
import {
  type CourseHistograms,
  type CourseStats,
  DEFAULT_COURSE,
  EMPTY_HISTOGRAMS,
  PRIOR_SAMPLES,
  addSample,
  courseStats,
  expectedEnd,
  filteredMean,
} from "../domain/stats";
import { toMillis, toTimestamp } from "../data/db";
import {
  type RoomStats,
  countOf,
  courseStatsId,
  reportConverter,
  toCourseChoice,
} from "../data/model";
import { readNotices, writeNotices } from "./notices";
import { planFinished } from "./notifications";
import { planMachineTransition } from "./queue";
import { refs } from "../data/refs";

/** How many of its last applied report ids a machine keeps (`recentReports`). */
const RECENT_REPORTS = 12;
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
 * The report's machine is gone (deleted in the console): a permanent condition, which no retry
 * of the trigger can change.
 */
export class MissingMachineError extends Error {
  constructor(readonly machineId: string) {
    super(`machine ${machineId} does not exist`);
  }
}

export async function applyReport(
  db: Firestore,
  machineId: string,
  reportSnap: QueryDocumentSnapshot,
  now: () => number,
  settings: ApplySettings,
): Promise<ApplyResult> {
  const { bounds } = settings;
  // The report as the device function created it: immutable, so the event's copy is the stored one.
  const report = reportConverter.fromFirestore(reportSnap);
  // The machine's stored fold (newestReportTs, courseChoice…), as written: this is its writer.
  const machineRef = refs(db).machine(machineId).withConverter(null);

  return db.runTransaction(async (tx) => {
    const machineSnap = await tx.get(machineRef);
    if (!machineSnap.exists) throw new MissingMachineError(machineId);
    const machine = machineSnap.data() ?? {};
    const type: MachineType = machine.type === "dryer" ? "dryer" : "washer";
    const roomId = typeof machine.roomId === "string" ? machine.roomId : null;
    const statusBefore = (machine.status as MachineStatus | undefined) ?? null;
    const base = { machineId, roomId, type, statusBefore };
    const recent = Array.isArray(machine.recentReports) ? (machine.recentReports as unknown[]) : [];
    if (recent.includes(report.id)) {
      return {
        ...base,
        decision: "duplicate" as const,
        newCycles: [],
        statusAfter: statusBefore,
        notices: 0,
        offeredTo: null,
      };
    }
    const newestReportTs =
      typeof machine.newestReportTs === "number" ? machine.newestReportTs : null;
    const inOrder = newestReportTs === null || report.timestamp > newestReportTs;
    const around = inOrder ? null : await readAround(db, tx, machineId, report);

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
      newestReportTs,
      inOrder,
      boundary: around?.boundary ?? null,
      window: around?.window ?? [],
      gap: around?.gap ?? null,
      stored: {
        status: (machine.status as MachineStatus | undefined) ?? "OFF",
        cycleStartedAt: toMillis(machine.cycleStartedAt),
        spinStartedAt: toMillis(machine.spinStartedAt),
        newestReportTs,
      },
      existingCycles: around?.cycles ?? [],
      bounds,
    });

    const course = plan.current?.course ?? DEFAULT_COURSE;
    // The room each stored cycle was counted in: one is taken back only from that room.
    const countedIn = new Map(around?.cycles.map((c) => [c.id, c.roomId ?? null]));
    const stats = await planStats(db, tx, { roomId, type, plan, course, machine, countedIn });
    const existingIds = new Set(around?.cycles.map((c) => c.id));
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
            watcherCount: countOf(machine.watcherCount),
            subscriberCount: stats.counts?.subscriberCount ?? null,
          })
        : null;
    const transition = transitionOf(statusBefore, plan.state.status);
    // Nobody in the room's queue (its count, read with the room's statistics): nothing to offer
    // or claim, and no queue to read.
    const queue =
      roomId && transition && stats.counts?.queueLength !== 0
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

    const roomWritten = writePlan(db, tx, {
      machineId,
      roomId,
      type,
      machine,
      who: whoData,
      plan,
      stats,
      // What this transaction learnt of the lists it read, for the counts kept beside them.
      counts: {
        watchers: finished ? finished.counts.watchers : null,
        subscribers: finished?.counts.subscribers ?? null,
        queue: queue ? queue.queue.entries.length : null,
      },
      report: reportSnap,
      recentReports: [...recent.filter((id) => typeof id === "string"), report.id].slice(
        -RECENT_REPORTS,
      ),
      now: at,
    });
    finished?.write(tx);
    // The room's document carries the queue's length when writePlan wrote it: one write, not two.
    queue?.write(tx, { roomCountWritten: roomWritten });
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

/**
 * What a report older than the newest applied one is folded with: the newest boundary before it,
 * the stored reports after that boundary (both ends of the window, see HALF_WINDOW), and the
 * machine's stored cycles that finished after it.
 */
async function readAround(db: Firestore, tx: Transaction, machineId: string, report: DeviceReport) {
  const reportsCol = refs(db).reports(machineId);
  const boundarySnap = await tx.get(
    reportsCol
      .where("boundary", "==", true)
      .where("timestamp", "<", report.timestamp)
      .orderBy("timestamp", "desc")
      .limit(1),
  );
  const boundary = boundarySnap.docs[0]?.data() ?? null;
  // Both ends of the window: its start (the cycle's WASHING) and its newest reports. A flood
  // of reports (EXT_VIBE spam) beyond 2 × HALF_WINDOW loses only the ones in the middle.
  const windowBase = boundary
    ? reportsCol.where("timestamp", ">=", boundary.timestamp)
    : reportsCol;
  const [oldestSnap, newestSnap] = [
    await tx.get(windowBase.orderBy("timestamp").limit(HALF_WINDOW)),
    await tx.get(windowBase.orderBy("timestamp", "desc").limit(HALF_WINDOW)),
  ];
  const window = new Map([...oldestSnap.docs, ...newestSnap.docs].map((d) => [d.id, d.data()]));
  // Both ends full and not meeting: there may be reports between them that were not read.
  const cut =
    oldestSnap.size === HALF_WINDOW &&
    newestSnap.size === HALF_WINDOW &&
    window.size === 2 * HALF_WINDOW;
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
  return {
    boundary,
    window: [...window.values()],
    gap,
    cycles: cyclesSnap.docs.map((d) => d.data()),
  };
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

interface PlannedStats {
  /** The room's courses to write (a course's set of cycles changed), else null. */
  room: { courses: RoomStats["courses"]; exists: boolean } | null;
  /** The room document's queue and subscriber counts, when it was read. */
  counts: Pick<RoomStats, "queueLength" | "subscriberCount"> | null;
  /** The figures of the course the machine runs (its expected end), null: the defaults. */
  current: CourseStats | null;
}

/**
 * The room's course statistics after the plan: each changed course's histograms updated by the
 * cycles the plan adds and takes back (domain/stats.ts), and its figures recomputed, blended with
 * the fleet's while the room has few cycles of it. One read of the room's statistics document
 * (`congestion/{roomId}`) when a course changed or the machine starts running; the fleet's
 * document only while that prior counts.
 * A machine without a room counts nowhere and is timed by the fleet's figures.
 */
async function planStats(
  db: Firestore,
  tx: Transaction,
  a: {
    roomId: string | null;
    type: MachineType;
    plan: ReportPlan;
    course: string;
    machine: DocumentData;
    countedIn: ReadonlyMap<string, string | null>;
  },
): Promise<PlannedStats> {
  const { plan, type } = a;
  const running = plan.state.cycleStartedAt !== null;
  // A cycle stored in another room (the machine moved since) stays in that room's figures.
  const removed = plan.counted.removed.filter((c) => a.countedIn.get(c.id) === a.roomId);
  const counted = [...plan.counted.added, ...removed];
  const changed = a.roomId !== null && counted.length > 0;
  if (!changed && !running) return { room: null, counts: null, current: null };
  // While the same cycle runs the course (the SPINNING), the figures it started with still hold.
  const carried = carriedEstimate(a.machine, plan, a.course, type);
  if (!changed && carried) return { room: null, counts: null, current: carried };

  const snap = a.roomId ? await tx.get(refs(db).roomStats(a.roomId)) : null;
  const courses = { ...snap?.data()?.courses };
  // The fleet's figures of a course, read only while the room's own do not carry the weight, and
  // outside the transaction: they change once a day, and every room's transactions would
  // otherwise contend for the one document.
  const prior = async (course: string, h: CourseHistograms) =>
    (filteredMean(h.total)?.kept ?? 0) >= PRIOR_SAMPLES
      ? null
      : ((await refs(db).courseStats(type, course).get()).data() ?? null);
  if (changed) {
    for (const course of new Set(counted.map((c) => c.course))) {
      const key = courseStatsId(type, course);
      let h = courses[key]?.histograms ?? EMPTY_HISTOGRAMS;
      for (const c of removed) if (c.course === course) h = addSample(h, c, -1);
      for (const c of plan.counted.added) if (c.course === course) h = addSample(h, c, 1);
      courses[key] = { histograms: h, stats: courseStats(type, course, h, await prior(course, h)) };
    }
  }
  const mine = courses[courseStatsId(type, a.course)];
  const current = !running
    ? null
    : (mine?.stats ??
      courseStats(type, a.course, EMPTY_HISTOGRAMS, await prior(a.course, EMPTY_HISTOGRAMS)));
  const stored = snap?.data();
  return {
    room: changed ? { courses, exists: snap?.exists === true } : null,
    counts: stored
      ? { queueLength: stored.queueLength, subscriberCount: stored.subscriberCount }
      : null,
    current,
  };
}

/** The figures the running cycle was timed with, when the same cycle still runs the same course. */
function carriedEstimate(
  machine: DocumentData,
  plan: ReportPlan,
  course: string,
  type: MachineType,
): CourseStats | null {
  const e = machine.courseEstimate as
    (CourseStats & { cycleStartedAt?: unknown }) | null | undefined;
  if (!e || e.course !== course || e.type !== type) return null;
  return toMillis(e.cycleStartedAt) === plan.state.cycleStartedAt ? e : null;
}

/** Writes the plan; true when it wrote the room's document (`congestion/{roomId}`). */
function writePlan(
  db: Firestore,
  tx: Transaction,
  a: {
    machineId: string;
    roomId: string | null;
    type: MachineType;
    machine: DocumentData;
    /** courseChoices/{machineId}, as read. */
    who: DocumentData;
    plan: ReportPlan;
    stats: PlannedStats;
    counts: { watchers: number | null; subscribers: number | null; queue: number | null };
    report: QueryDocumentSnapshot;
    recentReports: string[];
    now: number;
  },
): boolean {
  const { plan } = a;
  const state = plan.state;
  const end = expectedEnd(a.type, state, a.stats.current);
  const receivedAt = toMillis(a.report.get("receivedAt")) ?? a.now;
  const lastSeen = Math.max(toMillis(a.machine.lastSeenAt) ?? 0, receivedAt);
  tx.update(refs(db).machine(a.machineId), {
    status: state.status,
    cycleStartedAt: toTimestamp(state.cycleStartedAt),
    spinStartedAt: toTimestamp(state.spinStartedAt),
    expectedEndAt: toTimestamp(end?.expectedEndAt ?? null),
    expectedEndRange: end ? { low: toTimestamp(end.low), high: toTimestamp(end.high) } : null,
    newestReportTs: state.newestReportTs,
    recentReports: a.recentReports,
    // The figures the running cycle is timed with, kept for its later reports (planStats).
    courseEstimate: a.stats.current
      ? { ...a.stats.current, cycleStartedAt: toTimestamp(state.cycleStartedAt) }
      : null,
    lastSeenAt: Timestamp.fromMillis(lastSeen),
    online: true,
    ...(plan.decision === "apply" && typeof a.report.get("battery") === "number"
      ? { battery: a.report.get("battery") as number }
      : {}),
    // The running cycle's course, resolved from the user's choice (domain/course.ts).
    course: plan.current?.course ?? null,
    courseName: plan.current?.courseName ?? null,
    // The choice this resolution considered: /load and the tick trust it until a newer one.
    courseChoiceSeenAt: toTimestamp(toCourseChoice(a.machine.courseChoice)?.setAt ?? null),
    // The calibration samples' sums (the device function answers thresholds from them).
    ...(plan.calibration.samples !== 0 ? calibrationIncrements(plan.calibration) : {}),
    ...(a.counts.watchers !== null ? { watcherCount: a.counts.watchers } : {}),
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
  // The room's statistics, one write: congestion cells and the changed courses' histograms.
  if (a.roomId && (a.stats.room || plan.congestion.size > 0)) {
    const cells: Record<string, FieldValue> = {};
    for (const [cell, n] of plan.congestion) cells[cellField(cell)] = FieldValue.increment(n);
    const fields = {
      roomId: a.roomId,
      ...cells,
      // update() replaces the whole map, so buckets that emptied are gone too.
      ...(a.stats.room ? { courses: a.stats.room.courses } : {}),
      ...(a.counts.subscribers !== null ? { subscriberCount: a.counts.subscribers } : {}),
      ...(a.counts.queue !== null ? { queueLength: a.counts.queue } : {}),
      updatedAt: FieldValue.serverTimestamp(),
    };
    const ref = refs(db).congestion(a.roomId);
    if (a.stats.room?.exists) tx.update(ref, fields);
    else tx.set(ref, fields, { merge: true });
    return true;
  }
  return false;
}

function calibrationIncrements(c: CalibrationSums) {
  return {
    "calibrationSums.samples": FieldValue.increment(c.samples),
    "calibrationSums.washAvgSum": FieldValue.increment(c.washAvgSum),
    "calibrationSums.washMaxSum": FieldValue.increment(c.washMaxSum),
    "calibrationSums.spinMaxSum": FieldValue.increment(c.spinMaxSum),
  };
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
