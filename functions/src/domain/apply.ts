/**
 * What one device report does to the stored world. Pure: the report trigger reads the inputs,
 * calls {@link planReport}, and writes the plan in one transaction with its idempotency marker.
 */
import { type CalibrationSums, calibrationDelta } from "./calibration";
import {
  type CourseChoice,
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
import type { MachineType } from "./status";

export type ReportDecision =
  /** Already applied: nothing to do. */
  | "duplicate"
  /** Older than the machine's newest report: it may amend history, never the current state. */
  | "stale"
  /** The newest report: it moves the machine on. */
  | "apply";

export function decideReport(
  report: DeviceReport,
  alreadyApplied: boolean,
  newestReportTs: number | null,
): ReportDecision {
  if (alreadyApplied) return "duplicate";
  if (newestReportTs !== null && report.timestamp < newestReportTs) return "stale";
  return "apply";
}

/** A cycle as stored, with the course it was run on and who chose it (if anyone). */
export interface StoredCycle extends CompletedCycle {
  course: string;
  startedBy: string | null;
}

/** The course of the cycle running after the report, resolved from the choice. */
export interface CurrentCourse {
  course: string;
  courseName: string | null;
  startedBy: string | null;
}

export interface PlanInput {
  machineId: string;
  type: MachineType;
  /** The machine's latest course choice (start_course), or null. */
  choice: CourseChoice | null;
  /** Start of the first stored cycle that started at or after the choice's earliest start. */
  firstStoredStartAfterChoice: number | null;
  /** The running cycle's course as the trigger resolved it before, keyed by its start. */
  previousCourse: (ResolvedCourse & { cycleStartedAt: number }) | null;
  report: DeviceReport;
  alreadyApplied: boolean;
  newestReportTs: number | null;
  /** Newest stored boundary (FINISHED/OFF) sorting before the report, or null if none. */
  boundary: DeviceReport | null;
  /** Every stored report after the boundary (the report itself may or may not be among them). */
  window: readonly DeviceReport[];
  /** Stored cycles of this machine that finished after the boundary. */
  existingCycles: readonly StoredCycle[];
}

export interface ReportPlan {
  decision: ReportDecision;
  /** The machine's cycle state after the report. */
  state: CycleState;
  /** Cycles to create or overwrite. */
  upsertCycles: StoredCycle[];
  /** Cycle ids to delete (a late report showed they were not what we thought). */
  deleteCycleIds: string[];
  /** The running cycle's course after the report (null when nothing runs). */
  current: CurrentCourse | null;
  /** Per course key: did the set of its cycles change (so its averages need recomputing)? */
  touchedCourses: string[];
  congestion: Map<CellKey, number>;
  calibration: CalibrationSums;
}

export function planReport(input: PlanInput): ReportPlan {
  const decision = decideReport(input.report, input.alreadyApplied, input.newestReportTs);
  const after = input.window.filter(
    (r) => !input.boundary || compareReports(r, input.boundary) > 0,
  );
  const initial: CycleState = input.boundary
    ? {
        ...IDLE_STATE,
        status: input.boundary.status === "OFF" ? "OFF" : "FINISHED",
        newestReportTs: input.boundary.timestamp,
      }
    : IDLE_STATE;
  const folded = foldReports(input.machineId, input.type, initial, [...after, input.report]);

  const running = folded.state.cycleStartedAt;
  const first = firstEligibleStart(input.choice, [
    ...folded.cycles.map((c) => c.startedAt),
    ...(running !== null ? [running] : []),
    ...(input.firstStoredStartAfterChoice !== null ? [input.firstStoredStartAfterChoice] : []),
  ]);
  const courseFor = (startedAt: number) =>
    resolveCourse(input.choice, startedAt, first, input.previousCourse);

  const existing = new Map(input.existingCycles.map((c) => [c.id, c]));
  const upsertCycles: StoredCycle[] = [];
  const removed: StoredCycle[] = [];
  const seen = new Set<string>();
  for (const c of folded.cycles) {
    seen.add(c.id);
    const old = existing.get(c.id);
    const chosen = courseFor(c.startedAt);
    const next: StoredCycle = {
      ...c,
      course: old?.course ?? chosen.course,
      startedBy: old ? old.startedBy : chosen.startedBy,
    };
    if (!old) upsertCycles.push(next);
    else if (!sameCycle(old, next)) {
      upsertCycles.push(next);
      removed.push(old);
    }
  }
  const deleted = input.existingCycles.filter((c) => !seen.has(c.id));
  removed.push(...deleted);

  const touched = new Set([...upsertCycles, ...removed].map((c) => c.course));
  return {
    decision,
    state: folded.state,
    upsertCycles,
    deleteCycleIds: deleted.map((c) => c.id),
    current: running === null ? null : courseFor(running),
    touchedCourses: [...touched].sort(),
    congestion: congestionDelta(removed, upsertCycles),
    calibration: calibrationDelta(
      removed.map((c) => c.magnitudes),
      upsertCycles.map((c) => c.magnitudes),
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
    JSON.stringify(a.magnitudes) === JSON.stringify(b.magnitudes)
  );
}
