/**
 * Applies one stored device report: reads what the planner needs, asks the pure domain for the
 * plan, and writes machine state, cycles, the room's course statistics, congestion and calibration
 * sums in one transaction, with what the change brings about: the finished cycles' notices
 * (store/notifications.ts) and the room queue's move (store/queue.ts), their inbox entries and
 * push documents included (store/notices.ts).
 *
 * Delivered any number of times, in any order, the result is that of delivering each report
 * once, in order, without an idempotency marker (docs/DECISIONS.md "Reports without markers"): a
 * report newer than every applied one is folded onto the machine's stored state (one read), any
 * other again with the stored reports around it, and only the difference from what is stored is
 * written. A redelivery of the machine's last reports applied is told from their kept ids.
 */
import {
  FieldValue,
  type Firestore,
  Timestamp,
  type Transaction,
  type DocumentData,
  type QueryDocumentSnapshot,
} from "firebase-admin/firestore";
import { cellField } from "../domain/congestion";
import { type PreviousCourse, earliestStartFor } from "../domain/course";
import {
  type ReportDecision,
  type ReportPlan,
  type StoredCycle,
  planReport,
} from "../domain/apply";
import { type MachineStatus, type MachineType, isRunning } from "../domain/status";
import type { DeviceReport } from "../domain/cycle";
import {
  type CourseHistograms,
  DEFAULT_COURSE,
  EMPTY_HISTOGRAMS,
  PRIOR_SAMPLES,
  addSample,
  courseStats,
  expectedEnd,
  filteredMean,
} from "../domain/stats";
import { str, toMillis, toTimestamp } from "../data/db";
import { type Machine, courseStatsId, reportConverter } from "../data/model";
import type { Invocation } from "../invocation";
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
const HALF_WINDOW = 250;

export interface ApplyResult {
  decision: ReportDecision;
  /** Cycles this delivery completed for the first time (FINISHED events to announce). */
  newCycles: StoredCycle[];
  statusBefore: MachineStatus;
  statusAfter: MachineStatus;
  /** Notices written (inbox entry + push document each). */
  notices: number;
  /** The queue offer this change made, to whom. */
  offeredTo: string | null;
}

export async function applyReport(
  { db, now, settings }: Invocation,
  machineId: string,
  reportSnap: QueryDocumentSnapshot,
): Promise<ApplyResult | null> {
  const r = refs(db);
  // The report as the device function created it: immutable, so the event's copy is the stored one.
  const report = reportConverter.fromFirestore(reportSnap);
  const machineRef = r.machine(machineId);

  return db.runTransaction(async (tx) => {
    const machineSnap = await tx.get(machineRef);
    const machine = machineSnap.data();
    // The machine is gone (deleted in the console): no retry can change that.
    if (!machine) return null;
    const { type, roomId, status: statusBefore, newestReportTs } = machine;
    if (machine.recentReports.includes(report.id)) {
      return {
        decision: "duplicate",
        newCycles: [],
        statusBefore,
        statusAfter: statusBefore,
        notices: 0,
        offeredTo: null,
      };
    }
    const inOrder = newestReportTs === null || report.timestamp > newestReportTs;
    const around = inOrder ? null : await readAround(db, tx, machineId, report);

    // Who chose the course, and who started the running cycle: server-only (data/refs.ts courseChoice).
    // Read only when a choice exists: a starter only ever comes from one.
    const who = machine.courseChoice
      ? ((await tx.get(r.courseChoice(machineId))).data() ?? {})
      : {};
    // The chooser's uid, when it belongs to this choice (same `setAt`).
    const choice = machine.courseChoice && {
      ...machine.courseChoice,
      uid: toMillis(who.setAt) === machine.courseChoice.setAt ? (str(who.uid) ?? "") : "",
    };
    const firstAfterChoice = choice
      ? await tx.get(
          r.cycles
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
      firstStoredStartAfterChoice: firstAfterChoice?.docs[0]?.data().startedAt ?? null,
      previousCourse: previousCourseOf(machine, who),
      report,
      stored: {
        status: statusBefore,
        cycleStartedAt: machine.cycleStartedAt,
        spinStartedAt: machine.spinStartedAt,
        newestReportTs,
      },
      around,
      bounds: settings.cycleBounds,
    });
    const { state } = plan;

    // The room each stored cycle was counted in: one is taken back only from that room.
    const countedIn = new Map(around?.cycles.map((c) => [c.id, c.roomId ?? null]));
    const stats = await planStats(db, tx, { roomId, type, plan, machine, countedIn });
    const newCycles = plan.upsertCycles.filter((c) => !countedIn.has(c.id));
    const at = now();

    // What the change brings about, read before the first write.
    const finished =
      newCycles.length > 0
        ? await planFinished(db, tx, {
            // Unnamed: null (not the converter's id), the message then says "Washer 3".
            machine: { id: machineId, name: str(machineSnap.get("name")), type },
            roomId,
            cycles: newCycles,
            now: at,
            watcherCount: machine.watcherCount,
            subscriberCount: stats.stored?.subscriberCount ?? null,
          })
        : null;
    // A machine freed (running → not) or started (not → running).
    const wasRunning = isRunning(statusBefore);
    const transition =
      wasRunning === isRunning(state.status) ? null : wasRunning ? "freed" : "started";
    // Nobody in the room's queue (its count, read with the room's statistics): nothing to offer
    // or claim, and no queue to read.
    const queue =
      roomId && transition && stats.stored?.queueLength !== 0
        ? await planMachineTransition(db, tx, {
            machineId,
            roomId,
            transition,
            outOfOrder: machine.outOfOrder,
            now: at,
            windowMinutes: settings.claimWindowMinutes,
          })
        : null;
    const notices = await readNotices(db, tx, [
      ...(finished?.notices ?? []),
      ...(queue?.notices ?? []),
    ]);

    const end = expectedEnd(type, state, stats.current);
    const receivedAt = toMillis(reportSnap.get("receivedAt")) ?? at;
    const battery: unknown = reportSnap.get("battery");
    tx.update(machineRef, {
      status: state.status,
      cycleStartedAt: toTimestamp(state.cycleStartedAt),
      spinStartedAt: toTimestamp(state.spinStartedAt),
      expectedEndAt: toTimestamp(end?.expectedEndAt ?? null),
      expectedEndRange: end ? { low: toTimestamp(end.low), high: toTimestamp(end.high) } : null,
      newestReportTs: state.newestReportTs,
      recentReports: [...machine.recentReports, report.id].slice(-RECENT_REPORTS),
      // The figures the running cycle is timed with, kept for its later reports (planStats).
      courseEstimate: stats.current
        ? { ...stats.current, cycleStartedAt: toTimestamp(state.cycleStartedAt) }
        : null,
      lastSeenAt: Timestamp.fromMillis(Math.max(machine.lastSeenAt ?? 0, receivedAt)),
      online: true,
      ...(plan.decision === "apply" && typeof battery === "number" ? { battery } : {}),
      // The running cycle's course, resolved from the user's choice (domain/course.ts).
      course: plan.current?.course ?? null,
      courseName: plan.current?.courseName ?? null,
      // The choice this resolution considered: /load and the tick trust it until a newer one.
      courseChoiceSeenAt: toTimestamp(choice?.setAt ?? null),
      // The calibration samples' sums (the device function answers thresholds from them).
      ...(plan.calibration.samples === 0
        ? {}
        : Object.fromEntries(
            Object.entries(plan.calibration).map(([k, n]: [string, number]) => [
              `calibrationSums.${k}`,
              FieldValue.increment(n),
            ]),
          )),
      // What this transaction learnt of the lists it read, for the counts kept beside them.
      ...(finished ? { watcherCount: finished.counts.watchers } : {}),
      updatedAt: FieldValue.serverTimestamp(),
    });
    // Who started the running cycle (reminders go to them), kept server-only; written on change.
    const startedBy = plan.current?.startedBy ?? null;
    const startedByCycleAt = startedBy === null ? null : state.cycleStartedAt;
    if (startedBy !== str(who.startedBy) || startedByCycleAt !== toMillis(who.startedByCycleAt)) {
      tx.set(
        r.courseChoice(machineId),
        { startedBy, startedByCycleAt: toTimestamp(startedByCycleAt) },
        { merge: true },
      );
    }
    for (const c of plan.upsertCycles) tx.set(r.cycle(c.id), { ...c, roomId });
    for (const id of plan.deleteCycleIds) tx.delete(r.cycle(id));
    // The room's statistics, one write: congestion cells and the changed courses' histograms.
    const subscribers = finished?.counts.subscribers ?? null;
    const roomWritten = roomId !== null && (stats.courses !== null || plan.congestion.size > 0);
    if (roomWritten) {
      const fields = {
        roomId,
        ...Object.fromEntries(
          [...plan.congestion].map(([cell, n]) => [cellField(cell), FieldValue.increment(n)]),
        ),
        // update() replaces the whole map, so buckets that emptied are gone too.
        ...(stats.courses ? { courses: stats.courses } : {}),
        ...(subscribers !== null ? { subscriberCount: subscribers } : {}),
        ...(queue ? { queueLength: queue.queue.entries.length } : {}),
        updatedAt: FieldValue.serverTimestamp(),
      };
      const ref = r.congestion(roomId);
      if (stats.courses && stats.stored) tx.update(ref, fields);
      else tx.set(ref, fields, { merge: true });
    }
    finished?.write(tx);
    // The room's document carries the queue's length when it was written above: one write, not two.
    queue?.write(tx, { roomCountWritten: roomWritten });
    writeNotices(db, tx, notices, at);
    return {
      decision: plan.decision,
      newCycles,
      statusBefore,
      statusAfter: state.status,
      notices: notices.length,
      offeredTo: queue?.announce?.[0]?.uid ?? null,
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
  const oldestSnap = await tx.get(windowBase.orderBy("timestamp").limit(HALF_WINDOW));
  const newestSnap = await tx.get(windowBase.orderBy("timestamp", "desc").limit(HALF_WINDOW));
  const window = new Map([...oldestSnap.docs, ...newestSnap.docs].map((d) => [d.id, d.data()]));
  // Both ends full and not meeting: there may be reports between them that were not read.
  const gap =
    window.size === 2 * HALF_WINDOW
      ? {
          from: oldestSnap.docs[HALF_WINDOW - 1].data(),
          to: newestSnap.docs[HALF_WINDOW - 1].data(),
        }
      : null;
  const cycles = await tx.get(
    refs(db)
      .cycles.where("machineId", "==", machineId)
      .where("finishedAt", ">", Timestamp.fromMillis((boundary?.timestamp ?? 0) * 1000)),
  );
  return { boundary, window: [...window.values()], gap, cycles: cycles.docs.map((d) => d.data()) };
}

/**
 * The room's course statistics after the plan: each changed course's histograms updated by the
 * cycles the plan adds and takes back (domain/stats.ts), and its figures recomputed, blended with
 * the fleet's while the room has few cycles of it. One read of the room's statistics document
 * (`congestion/{roomId}`) when a course changed or the machine starts running; the fleet's
 * document only while that prior counts.
 * A machine without a room counts nowhere and is timed by the fleet's figures.
 * Returns the room's `courses` to write (null: unchanged), its document as `stored` (with the
 * lists' counts) when read, and the `current` figures of the running course (null: defaults).
 */
async function planStats(
  db: Firestore,
  tx: Transaction,
  a: {
    roomId: string | null;
    type: MachineType;
    plan: ReportPlan;
    machine: Machine;
    countedIn: ReadonlyMap<string, string | null>;
  },
) {
  const { plan, type } = a;
  const course = plan.current?.course ?? DEFAULT_COURSE;
  const running = plan.state.cycleStartedAt !== null;
  // A cycle stored in another room (the machine moved since) stays in that room's figures.
  const removed = plan.counted.removed.filter((c) => a.countedIn.get(c.id) === a.roomId);
  const counted = [...plan.counted.added, ...removed];
  const changed = a.roomId !== null && counted.length > 0;
  if (!changed && !running) return { courses: null, stored: null, current: null };
  // While the same cycle runs the course (the SPINNING), the figures it started with still hold:
  // the estimate is written with the cycle's start, by the same update() (so it is the machine's).
  const e = a.machine.estimate;
  const carried =
    e?.course === course &&
    e.type === type &&
    a.machine.cycleStartedAt === plan.state.cycleStartedAt;
  if (!changed && carried) return { courses: null, stored: null, current: e };

  const stored = a.roomId ? ((await tx.get(refs(db).roomStats(a.roomId))).data() ?? null) : null;
  const courses = { ...stored?.courses };
  // The fleet's figures of a course, read only while the room's own do not carry the weight, and
  // outside the transaction: they change once a day, and every room's transactions would
  // otherwise contend for the one document.
  const prior = async (course: string, h: CourseHistograms) =>
    (filteredMean(h.total)?.kept ?? 0) >= PRIOR_SAMPLES
      ? null
      : ((await refs(db).courseStats(type, course).get()).data() ?? null);
  if (changed) {
    for (const k of new Set(counted.map((c) => c.course))) {
      const key = courseStatsId(type, k);
      let h = courses[key]?.histograms ?? EMPTY_HISTOGRAMS;
      for (const c of removed) if (c.course === k) h = addSample(h, c, -1);
      for (const c of plan.counted.added) if (c.course === k) h = addSample(h, c, 1);
      courses[key] = { histograms: h, stats: courseStats(type, k, h, await prior(k, h)) };
    }
  }
  const mine = courses[courseStatsId(type, course)];
  const current = !running
    ? null
    : (mine?.stats ??
      courseStats(type, course, EMPTY_HISTOGRAMS, await prior(course, EMPTY_HISTOGRAMS)));
  return { courses: changed ? courses : null, stored, current };
}

/** The running cycle's course as the trigger resolved it on an earlier delivery. */
function previousCourseOf(m: Machine, who: DocumentData): PreviousCourse | null {
  const { cycleStartedAt, storedCourse } = m;
  if (cycleStartedAt === null || storedCourse === null) return null;
  // `startedBy` is kept for the cycle it was resolved for.
  const sameCycle = toMillis(who.startedByCycleAt) === cycleStartedAt;
  return { cycleStartedAt, ...storedCourse, startedBy: sameCycle ? str(who.startedBy) : null };
}
