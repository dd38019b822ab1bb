/**
 * What one device report does to the stored world. Pure: the report trigger reads the inputs,
 * calls {@link planReport}, and writes the plan in one transaction.
 */
import { type CalibrationSums, calibrationDelta } from "./calibration";
import {
  type CourseChoice,
  type PreviousCourse,
  type ResolvedCourse,
  firstEligibleStart,
  resolveCourse,
} from "./course";
import { type CellKey, congestionDelta } from "./congestion";
import {
  type CompletedCycle,
  type CycleState,
  type DeviceReport,
  IDLE_STATE,
  compareReports,
  foldReports,
} from "./cycle";
import { type MachineType, isBoundary } from "./status";

export type ReportDecision =
  /** Already applied (one of the machine's recent reports): nothing to do. */
  | "duplicate"
  /** Older than the machine's newest report: it may amend history, never the current state. */
  | "stale"
  /** The newest report: it moves the machine on. */
  | "apply";

/** A cycle as stored, with the course it was run on and who chose it (if anyone). */
export interface StoredCycle extends CompletedCycle {
  course: string;
  startedBy: string | null;
  /**
   * Outside the plausible bounds of its machine type (a device clock that jumped, a lost
   * FINISHED): kept for admins, left out of course averages, congestion and calibration.
   */
  implausible: boolean;
}

/** How long a real cycle of each machine type can be, in minutes. */
export type CycleBounds = Record<MachineType, { minMinutes: number; maxMinutes: number }>;

/**
 * Washers: the longest programmes (wool, heavy duty with pre-wash) stay under 4 h; dryers under
 * 5 h. Nothing real finishes within 5 minutes: the firmware reports FINISHED only after 5 quiet
 * minutes. Configurable (CYCLE_* params).
 */
export const DEFAULT_CYCLE_BOUNDS: CycleBounds = {
  washer: { minMinutes: 5, maxMinutes: 240 },
  dryer: { minMinutes: 5, maxMinutes: 300 },
};

export interface PlanInput {
  machineId: string;
  type: MachineType;
  /** The machine's latest course choice (start_course), or null. */
  choice: CourseChoice | null;
  /** Start of the first stored cycle that started at or after the choice's earliest start. */
  firstStoredStartAfterChoice: number | null;
  /** The running cycle's course as the trigger resolved it before, keyed by its start. */
  previousCourse: PreviousCourse | null;
  report: DeviceReport;
  /** The machine's stored state: a report newer than every applied one is folded onto it. */
  stored: CycleState;
  /** What any other report is folded with (the trigger reads it only for those); null in order. */
  around: Around | null;
  /** Plausible cycle lengths; cycles outside are stored but counted nowhere. */
  bounds: CycleBounds;
}

/** What a report not newer than every applied one is folded with. */
export interface Around {
  /** Newest stored boundary (FINISHED/OFF) sorting before the report, or null if none. */
  boundary: DeviceReport | null;
  /**
   * The stored reports after the boundary (the report itself may or may not be among them): all
   * of them, or, when there are more than the trigger reads, the oldest and the newest ones.
   */
  window: readonly DeviceReport[];
  /**
   * Set when `window` is cut: `from` is the newest report read from the oldest end, `to` the
   * oldest read from the newest end; the reports between them were not read. The machine's
   * stored state is kept when the fold cannot see far enough to recompute it.
   */
  gap: { from: DeviceReport; to: DeviceReport } | null;
  /** Stored cycles of this machine that finished after the boundary. */
  cycles: readonly StoredCycle[];
}

export interface ReportPlan {
  decision: Exclude<ReportDecision, "duplicate">;
  /** The machine's cycle state after the report. */
  state: CycleState;
  /** Cycles to create or overwrite. */
  upsertCycles: StoredCycle[];
  /** Cycle ids to delete (a late report showed they were not what we thought). */
  deleteCycleIds: string[];
  /** The running cycle's course after the report (null when nothing runs). */
  current: ResolvedCourse | null;
  /** The plausible cycles the plan adds and takes back: what statistics count (each as stored). */
  counted: { added: StoredCycle[]; removed: StoredCycle[] };
  congestion: Map<CellKey, number>;
  calibration: CalibrationSums;
}

/**
 * Which cycles a fold over a cut window can see, and whether it sees the current state.
 *
 * A report newer than the gap needs nothing: the window starts at the newest boundary before it,
 * so the gap holds no boundary, no cycle ends inside it, and the fold's end state is right.
 * A report older than the gap (a late report: a firmware buffer flush, a clock that fell back),
 * or inside it, may sit before any number of unread cycles. Its fold is right up to `gap.from`,
 * and again after the first boundary at or after `gap.to`; between them it is blind. So only
 * cycles ending by `gap.from` or starting after that boundary may be written or deleted, and
 * without such a boundary the current state is the stored one (only the newest timestamp moves).
 */
function visibility(
  report: DeviceReport,
  around: Around | null,
): { sees: (c: { startedAt: number; finishedAt: number }) => boolean; seesState: boolean } {
  const gap = around?.gap;
  if (!around || !gap || compareReports(report, gap.to) >= 0) {
    return { sees: () => true, seesState: true };
  }
  const resumeAt = around.window
    .filter((r) => isBoundary(r.status) && compareReports(r, gap.to) >= 0)
    .sort(compareReports)[0];
  const blindFrom = gap.from.timestamp * 1000;
  const blindUntil = resumeAt ? resumeAt.timestamp * 1000 : Number.POSITIVE_INFINITY;
  return {
    sees: (c) => c.finishedAt <= blindFrom || c.startedAt >= blindUntil,
    seesState: resumeAt !== undefined,
  };
}

export function planReport(input: PlanInput): ReportPlan {
  const { machineId, type, report, around } = input;
  const newest = input.stored.newestReportTs;
  const decision = newest !== null && report.timestamp < newest ? "stale" : "apply";
  const { sees, seesState } = visibility(report, around);
  // In order, the stored state is the fold of every earlier report (a cut window's unread
  // middle included: its SPINNING, say), so the report is applied to it. Otherwise the fold
  // starts at the boundary (which closes whatever ran before it) with the reports after it.
  const boundary = around?.boundary;
  const fold = !around
    ? foldReports(machineId, type, input.stored, [report])
    : foldReports(machineId, type, IDLE_STATE, [
        ...(boundary ? [boundary] : []),
        ...around.window.filter((r) => !boundary || compareReports(r, boundary) > 0),
        report,
      ]);
  const state: CycleState = seesState
    ? fold.state
    : {
        ...input.stored,
        newestReportTs: Math.max(newest ?? report.timestamp, report.timestamp),
      };
  const cycles = fold.cycles.filter(sees);
  const visibleExisting = (around?.cycles ?? []).filter(sees);

  const running = state.cycleStartedAt;
  const first = firstEligibleStart(input.choice, [
    ...cycles.map((c) => c.startedAt),
    ...(running !== null ? [running] : []),
    ...(input.firstStoredStartAfterChoice !== null ? [input.firstStoredStartAfterChoice] : []),
  ]);
  const courseFor = (startedAt: number) =>
    resolveCourse(input.choice, startedAt, first, input.previousCourse);

  const existing = new Map(visibleExisting.map((c) => [c.id, c]));
  const { minMinutes, maxMinutes } = input.bounds[type];
  const upsertCycles: StoredCycle[] = [];
  const removed: StoredCycle[] = [];
  for (const c of cycles) {
    const old = existing.get(c.id);
    const chosen = courseFor(c.startedAt);
    const next: StoredCycle = {
      ...c,
      course: old?.course ?? chosen.course,
      startedBy: old ? old.startedBy : chosen.startedBy,
      implausible: c.totalMinutes < minMinutes || c.totalMinutes > maxMinutes,
    };
    if (!old) upsertCycles.push(next);
    else if (!sameCycle(old, next)) {
      upsertCycles.push(next);
      removed.push(old);
    }
  }
  const foldedIds = new Set(cycles.map((c) => c.id));
  const deleted = visibleExisting.filter((c) => !foldedIds.has(c.id));
  removed.push(...deleted);

  // Statistics count only plausible cycles, each as it was counted when written.
  const countedRemoved = removed.filter((c) => !c.implausible);
  const countedAdded = upsertCycles.filter((c) => !c.implausible);
  return {
    decision,
    state,
    upsertCycles,
    deleteCycleIds: deleted.map((c) => c.id),
    current: running === null ? null : courseFor(running),
    counted: { added: countedAdded, removed: countedRemoved },
    congestion: congestionDelta(countedRemoved, countedAdded),
    calibration: calibrationDelta(
      countedRemoved.map((c) => c.magnitudes),
      countedAdded.map((c) => c.magnitudes),
    ),
  };
}

function sameCycle(a: StoredCycle, b: StoredCycle): boolean {
  return (
    a.startedAt === b.startedAt &&
    a.spinStartedAt === b.spinStartedAt &&
    a.finishedAt === b.finishedAt &&
    a.totalMinutes === b.totalMinutes &&
    a.washMinutes === b.washMinutes &&
    a.spinMinutes === b.spinMinutes &&
    a.implausible === b.implausible &&
    JSON.stringify(a.magnitudes) === JSON.stringify(b.magnitudes)
  );
}
