/**
 * Sensor calibration from the magnitudes sent with FINISHED reports. Pure.
 * wash threshold = mean(wash_avg) · 0.7; spin threshold = (mean(wash_max) + mean(spin_max)) / 2.
 */
import type { Magnitudes } from "./cycle";

export interface CalibrationSums {
  samples: number;
  washAvgSum: number;
  washMaxSum: number;
  spinMaxSum: number;
}

export interface Thresholds {
  wash: number;
  spin: number;
}

export function thresholds(sums: CalibrationSums | null): Thresholds | null {
  if (!sums || sums.samples <= 0) return null;
  const n = sums.samples;
  return {
    wash: round3((sums.washAvgSum / n) * 0.7),
    spin: round3((sums.washMaxSum / n + sums.spinMaxSum / n) / 2),
  };
}

/** Change of the sums when the samples `removed` are replaced by `added`. */
export function calibrationDelta(
  removed: readonly (Magnitudes | null)[],
  added: readonly (Magnitudes | null)[],
): CalibrationSums {
  const d: CalibrationSums = { samples: 0, washAvgSum: 0, washMaxSum: 0, spinMaxSum: 0 };
  const bump = (m: Magnitudes | null, by: number) => {
    if (!m) return;
    d.samples += by;
    d.washAvgSum += by * m.washAvg;
    d.washMaxSum += by * m.washMax;
    d.spinMaxSum += by * m.spinMax;
  };
  removed.forEach((m) => bump(m, -1));
  added.forEach((m) => bump(m, 1));
  return d;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
