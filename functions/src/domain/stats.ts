/**
 * Course averages per machine type and the expected end of a running cycle. Pure.
 *
 * Averages are a running mean over the cycles in the order they finished; once there are
 * {@link MIN_SAMPLES_FOR_FILTER} samples, a sample more than ±50 % away from the current mean is
 * dropped as an outlier (a door left open, a sensor that missed FINISHED). Recomputed from the
 * stored cycles, so the result depends on the set of cycles only, never on delivery order.
 */
import type { CycleState } from "./cycle";
import type { MachineType } from "./status";
import { MINUTE_MS } from "./time";

const MIN_SAMPLES_FOR_FILTER = 3;
const OUTLIER_TOLERANCE = 0.5;
/** How many of the most recent cycles of a course feed its averages. */
export const COURSE_WINDOW = 50;
export const DEFAULT_COURSE = "standard";

export interface FilteredMean {
  mean: number;
  /** Samples kept after the outlier filter. */
  kept: number;
  /** Standard deviation of the kept samples. */
  stddev: number;
}

/** Running mean that drops outliers, over `values` in the given (chronological) order. */
export function filteredMean(values: readonly number[]): FilteredMean | null {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (const x of values) {
    if (n >= MIN_SAMPLES_FOR_FILTER && Math.abs(x - mean) > OUTLIER_TOLERANCE * mean) continue;
    n += 1;
    const d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  if (n === 0) return null;
  return { mean, kept: n, stddev: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0 };
}

export interface CourseSample {
  finishedAt: number;
  washMinutes: number | null;
  spinMinutes: number | null;
  totalMinutes: number;
}

export interface CourseStats {
  type: MachineType;
  course: string;
  /** Cycles considered (before the outlier filter). */
  samples: number;
  avgTotalMinutes: number;
  avgWashMinutes: number | null;
  avgSpinMinutes: number | null;
  /** A likely range of the total: mean ± one standard deviation, at least ±10 %. */
  lowMinutes: number;
  highMinutes: number;
}

export function courseStats(
  type: MachineType,
  course: string,
  samples: readonly CourseSample[],
): CourseStats | null {
  const ordered = [...samples].sort((a, b) => a.finishedAt - b.finishedAt).slice(-COURSE_WINDOW);
  const total = filteredMean(ordered.map((s) => s.totalMinutes));
  if (!total) return null;
  const wash = filteredMean(measured(ordered.map((s) => s.washMinutes)));
  const spin = filteredMean(measured(ordered.map((s) => s.spinMinutes)));
  const spread = Math.max(total.stddev, total.mean * 0.1);
  return {
    type,
    course,
    samples: ordered.length,
    avgTotalMinutes: round1(total.mean),
    avgWashMinutes: wash ? round1(wash.mean) : null,
    avgSpinMinutes: spin ? round1(spin.mean) : null,
    lowMinutes: round1(Math.max(0, total.mean - spread)),
    highMinutes: round1(total.mean + spread),
  };
}

/** What a course takes when nothing has been measured yet. */
export const DEFAULT_MINUTES: Record<MachineType, { total: number; spin: number | null }> = {
  washer: { total: 50, spin: 10 },
  dryer: { total: 60, spin: null },
};

export interface ExpectedEnd {
  expectedEndAt: number;
  low: number;
  high: number;
}

/**
 * When a running cycle should end. During the final spin the spin average is the better guide;
 * before it, the start plus the course's total average. Null when nothing is running.
 */
export function expectedEnd(
  type: MachineType,
  state: Pick<CycleState, "status" | "cycleStartedAt" | "spinStartedAt">,
  stats: CourseStats | null,
): ExpectedEnd | null {
  const start = state.cycleStartedAt;
  if (start === null) return null;
  const spin = stats?.avgSpinMinutes ?? DEFAULT_MINUTES[type].spin;
  if (state.status === "SPINNING" && state.spinStartedAt !== null && spin !== null) {
    const end = state.spinStartedAt + spin * MINUTE_MS;
    return {
      expectedEndAt: end,
      low: Math.min(end, state.spinStartedAt + spin * 0.8 * MINUTE_MS),
      high: end + spin * 0.2 * MINUTE_MS,
    };
  }
  const total = stats?.avgTotalMinutes ?? DEFAULT_MINUTES[type].total;
  return {
    expectedEndAt: start + total * MINUTE_MS,
    low: start + (stats?.lowMinutes ?? total * 0.8) * MINUTE_MS,
    high: start + (stats?.highMinutes ?? total * 1.2) * MINUTE_MS,
  };
}

/** Firestore-safe key of a course name. */
export function courseKey(course: string | null | undefined): string {
  const k = (course ?? "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-");
  return k.replace(/^-+|-+$/g, "") || DEFAULT_COURSE;
}

function measured(values: readonly (number | null)[]): number[] {
  return values.filter((x): x is number => x !== null);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
