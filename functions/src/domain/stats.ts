/**
 * Course statistics of a room, per machine type and course, and the expected end of a running
 * cycle. Pure.
 *
 * A course's durations are kept as histograms (one per measure: total, wash, spin) of whole
 * minutes, each bucket holding [samples, Σ seconds, Σ seconds²] as integers. Adding a finished
 * cycle or taking a deleted one back is one exact update, so the statistics are a function of the
 * set of cycles whatever the order of the updates, and a finished cycle costs one document read,
 * not a re-read of the history (docs/DECISIONS.md "Course statistics").
 *
 * The averages drop outliers (a door left open, a sensor that missed FINISHED): once there are
 * {@link MIN_SAMPLES_FOR_FILTER} samples, a sample whose minute is more than ±50 % away from the
 * median sample's minute is left out. A room with few cycles of a course borrows the fleet's
 * figures (the prior): each of its first {@link PRIOR_SAMPLES} kept cycles moves a share of the
 * weight to its own.
 */
import type { CycleState } from "./cycle";
import type { MachineType } from "./status";
import { MINUTE_MS } from "./time";

const MIN_SAMPLES_FOR_FILTER = 3;
const OUTLIER_TOLERANCE = 0.5;
/** Kept cycles after which a room's own figures carry the whole weight. */
export const PRIOR_SAMPLES = 5;
export const DEFAULT_COURSE = "standard";

/** Whole minutes of duration → [samples, Σ seconds, Σ seconds²]. */
export type Histogram = Record<string, [number, number, number]>;

/** What a room (or the fleet) has measured of one course. */
export interface CourseHistograms {
  total: Histogram;
  wash: Histogram;
  spin: Histogram;
}

export const EMPTY_HISTOGRAMS: CourseHistograms = { total: {}, wash: {}, spin: {} };

export interface CourseSample {
  washMinutes: number | null;
  spinMinutes: number | null;
  totalMinutes: number;
}

/** The histograms with one cycle added (`sign` 1) or taken back (`sign` -1). */
export function addSample(h: CourseHistograms, c: CourseSample, sign: 1 | -1): CourseHistograms {
  return {
    total: addTo(h.total, c.totalMinutes, sign),
    wash: addTo(h.wash, c.washMinutes, sign),
    spin: addTo(h.spin, c.spinMinutes, sign),
  };
}

/** The sum of several rooms' histograms (the fleet's). */
export function mergeHistograms(all: readonly CourseHistograms[]): CourseHistograms {
  const out: CourseHistograms = { total: {}, wash: {}, spin: {} };
  for (const h of all) {
    for (const m of ["total", "wash", "spin"] as const) {
      for (const [k, [n, s, q]] of Object.entries(h[m])) {
        const [n0, s0, q0] = out[m][k] ?? [0, 0, 0];
        out[m][k] = [n0 + n, s0 + s, q0 + q];
      }
    }
  }
  return out;
}

function addTo(h: Histogram, minutes: number | null, sign: 1 | -1): Histogram {
  if (minutes === null) return h;
  const seconds = Math.round(minutes * 60);
  const key = String(Math.floor(seconds / 60));
  const [n, s, q] = h[key] ?? [0, 0, 0];
  const next: [number, number, number] = [n + sign, s + sign * seconds, q + sign * seconds ** 2];
  const out = { ...h };
  if (next[0] <= 0) delete out[key];
  else out[key] = next;
  return out;
}

/**
 * Mean and standard deviation (minutes) of a histogram's samples, outliers (±50 % off the median)
 * left out, and how many samples were kept.
 */
export function filteredMean(h: Histogram): { mean: number; kept: number; stddev: number } | null {
  const buckets = Object.entries(h)
    .map(([k, v]) => [Number(k), ...v] as const)
    .sort((a, b) => a[0] - b[0]);
  const samples = buckets.reduce((a, b) => a + b[1], 0);
  if (samples === 0) return null;
  let median = 0;
  for (let seen = 0, i = 0; seen < Math.ceil(samples / 2); i++) {
    seen += buckets[i][1];
    median = buckets[i][0];
  }
  const keep = (minute: number) =>
    samples < MIN_SAMPLES_FOR_FILTER || Math.abs(minute - median) <= OUTLIER_TOLERANCE * median;
  const kept = buckets.filter(([minute]) => keep(minute));
  const n = kept.reduce((a, b) => a + b[1], 0);
  const sum = kept.reduce((a, b) => a + b[2], 0);
  const sq = kept.reduce((a, b) => a + b[3], 0);
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sq - (sum * sum) / n) / (n - 1)) : 0;
  return { mean: mean / 60, kept: n, stddev: Math.sqrt(variance) / 60 };
}

export interface CourseStats {
  type: MachineType;
  course: string;
  /** Cycles measured (before the outlier filter). */
  samples: number;
  avgTotalMinutes: number;
  avgWashMinutes: number | null;
  avgSpinMinutes: number | null;
  /** A likely range of the total: mean ± one standard deviation, at least ±10 %. */
  lowMinutes: number;
  highMinutes: number;
}

/**
 * A course's figures from what was measured, blended with the prior (the fleet's figures) while
 * fewer than {@link PRIOR_SAMPLES} cycles are kept. Null when neither has anything.
 */
export function courseStats(
  type: MachineType,
  course: string,
  h: CourseHistograms,
  prior: CourseStats | null = null,
): CourseStats | null {
  const total = filteredMean(h.total);
  const samples = Object.values(h.total).reduce((a, [n]) => a + n, 0);
  if (!total) return prior && { ...prior, type, course, samples: 0 };
  const wash = filteredMean(h.wash);
  const spin = filteredMean(h.spin);
  const spread = Math.max(total.stddev, total.mean * 0.1);
  const w = prior ? Math.min(1, total.kept / PRIOR_SAMPLES) : 1;
  // The room's own figure blended with the prior's (when there is one), to a tenth of a minute.
  const blend = (mine: number, theirs: number | null = null) =>
    round1(theirs === null ? mine : w * mine + (1 - w) * theirs);
  const blendOrNull = (mine: number | null, theirs: number | null = null) =>
    mine !== null ? blend(mine, theirs) : theirs === null ? null : round1(theirs);
  return {
    type,
    course,
    samples,
    avgTotalMinutes: blend(total.mean, prior?.avgTotalMinutes),
    avgWashMinutes: blendOrNull(wash?.mean ?? null, prior?.avgWashMinutes),
    avgSpinMinutes: blendOrNull(spin?.mean ?? null, prior?.avgSpinMinutes),
    lowMinutes: blend(Math.max(0, total.mean - spread), prior?.lowMinutes),
    highMinutes: blend(total.mean + spread, prior?.highMinutes),
  };
}

/** What a course takes when nothing has been measured yet. */
export const DEFAULT_MINUTES: Record<MachineType, { total: number; spin: number | null }> = {
  washer: { total: 50, spin: 10 },
  dryer: { total: 60, spin: null },
};

/**
 * When a running cycle should end. During the final spin the spin average is the better guide;
 * before it, the start plus the course's total average. Null when nothing is running.
 */
export function expectedEnd(
  type: MachineType,
  state: Pick<CycleState, "status" | "cycleStartedAt" | "spinStartedAt">,
  stats: CourseStats | null,
): { expectedEndAt: number; low: number; high: number } | null {
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

const round1 = (x: number) => Math.round(x * 10) / 10;
