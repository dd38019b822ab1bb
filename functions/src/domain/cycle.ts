/**
 * The machine cycle as a fold over device reports.
 *
 * A machine's state is a function of the *set* of its reports, not of the order they arrived
 * in: reports are sorted by (device timestamp, status rank) and folded. FINISHED and OFF are
 * boundaries (after one, no cycle is open), so the state after any boundary does not depend on
 * what came before it. The report trigger uses that to re-fold only the reports after the
 * newest boundary that precedes a new report, and to diff the cycles that fold yields against the
 * ones already stored. Pure: no firebase imports.
 */
import {
  type DeviceStatus,
  type MachineStatus,
  type MachineType,
  isRunning,
  STATUS_RANK,
} from "./status";
import { minutesBetween } from "./time";

/** Vibration magnitudes sent with FINISHED, used to calibrate the sensor thresholds. */
export interface Magnitudes {
  washAvg: number;
  washMax: number;
  spinMax: number;
}

/** One stored device report (already normalised for the machine's type). */
export interface DeviceReport {
  /** Deterministic: {@link reportId}. */
  id: string;
  status: DeviceStatus;
  /** Device clock, Unix seconds. */
  timestamp: number;
  magnitudes: Magnitudes | null;
}

/** The same machine, timestamp and status is the same report. */
export function reportId(timestamp: number, status: DeviceStatus): string {
  return `${timestamp}-${status}`;
}

export function compareReports(a: DeviceReport, b: DeviceReport): number {
  return a.timestamp - b.timestamp || STATUS_RANK[a.status] - STATUS_RANK[b.status];
}

export interface CycleState {
  status: MachineStatus;
  /** Epoch ms (device clock) the running cycle started, else null. */
  cycleStartedAt: number | null;
  /** Epoch ms the final spin of the running cycle started, else null. */
  spinStartedAt: number | null;
  /** Device timestamp (s) of the newest report folded in, else null. */
  newestReportTs: number | null;
}

export const IDLE_STATE: CycleState = {
  status: "OFF",
  cycleStartedAt: null,
  spinStartedAt: null,
  newestReportTs: null,
};

export interface CompletedCycle {
  /** `${machineId}-${finish timestamp}`: one FINISHED report closes at most one cycle. */
  id: string;
  machineId: string;
  type: MachineType;
  startedAt: number;
  spinStartedAt: number | null;
  finishedAt: number;
  /** Minutes before the final spin (washers); null for dryers. */
  washMinutes: number | null;
  /** Minutes of the final spin (washers); null for dryers. */
  spinMinutes: number | null;
  totalMinutes: number;
  magnitudes: Magnitudes | null;
}

export function cycleId(machineId: string, finishTimestamp: number): string {
  return `${machineId}-${finishTimestamp}`;
}

/**
 * Folds reports (any order, repeats allowed) onto `initial`, in the canonical order (sorted,
 * repeats removed); `cycles` are those completed inside the reports, oldest first.
 *
 * - WASHING/DRYING on a free machine starts a cycle; WASHING during a spin is a rinse and
 *   keeps the cycle going.
 * - SPINNING marks the start of the (final) spin; on a free machine it starts a cycle too.
 * - FINISHED closes a running cycle (and records it); OFF drops it (an aborted cycle has no
 *   statistics).
 * - EXT_VIBE (someone bumped the machine) changes nothing but the newest timestamp.
 */
export function foldReports(
  machineId: string,
  type: MachineType,
  initial: CycleState,
  reports: readonly DeviceReport[],
): { state: CycleState; cycles: CompletedCycle[] } {
  let state = { ...initial };
  const cycles: CompletedCycle[] = [];
  const canonical = [...new Map(reports.map((r) => [r.id, r])).values()].sort(compareReports);
  for (const r of canonical) {
    const at = r.timestamp * 1000;
    const running = isRunning(state.status);
    switch (r.status) {
      case "WASHING":
      case "DRYING":
        state = running
          ? { ...state, status: r.status }
          : { ...state, status: r.status, cycleStartedAt: at, spinStartedAt: null };
        break;
      case "SPINNING":
        if (!running)
          state = { ...state, status: "SPINNING", cycleStartedAt: at, spinStartedAt: at };
        else if (state.status !== "SPINNING")
          state = { ...state, status: "SPINNING", spinStartedAt: at };
        break;
      case "FINISHED":
        if (running && state.cycleStartedAt !== null) {
          cycles.push(completeCycle(machineId, type, state.cycleStartedAt, state.spinStartedAt, r));
        }
        state = { ...state, status: "FINISHED", cycleStartedAt: null, spinStartedAt: null };
        break;
      case "OFF":
        state = { ...state, status: "OFF", cycleStartedAt: null, spinStartedAt: null };
        break;
      case "EXT_VIBE":
        break;
    }
    state.newestReportTs = Math.max(state.newestReportTs ?? r.timestamp, r.timestamp);
  }
  return { state, cycles };
}

function completeCycle(
  machineId: string,
  type: MachineType,
  startedAt: number,
  spinAt: number | null,
  finish: DeviceReport,
): CompletedCycle {
  const finishedAt = finish.timestamp * 1000;
  const washer = type === "washer";
  const spinStartedAt = washer ? spinAt : null;
  // A washer that never spun washed all cycle long and spun 0 minutes.
  const washEnd = spinStartedAt ?? finishedAt;
  return {
    id: cycleId(machineId, finish.timestamp),
    machineId,
    type,
    startedAt,
    spinStartedAt,
    finishedAt,
    washMinutes: washer ? minutesBetween(startedAt, washEnd) : null,
    spinMinutes: washer ? minutesBetween(washEnd, finishedAt) : null,
    totalMinutes: minutesBetween(startedAt, finishedAt),
    magnitudes: finish.magnitudes,
  };
}
