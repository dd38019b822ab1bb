/**
 * Expected statistics written from DESIGN.md's rules, independently of the server's code (no
 * import from functions/src): the e2e day compares what the server stored with these.
 *
 * - Course averages (per room, over all its plausible cycles of the course; docs/DECISIONS.md
 *   "Course statistics"): each sample in whole seconds; once there are at least 3 samples, a
 *   sample whose whole minute is more than ±50 % away from the median sample's whole minute (the
 *   lower median) is skipped; the mean of the rest; the range is mean ± the kept samples'
 *   standard deviation, at least ±10 % of the mean, not below 0. One decimal. (No prior: the
 *   day's room is the fleet's only room, so there are no fleet figures to blend with.)
 * - Congestion: +1 in every Asia/Seoul (UTC+9, no DST) weekday × hour a cycle spanned, from the
 *   hour it started in up to the one it finished in (an end exactly on the hour does not count
 *   that hour); weekdays Monday (월) first.
 */
const HOUR = 3_600_000;
const KST = 9 * HOUR;
const WEEKDAYS = ["월", "화", "수", "목", "금", "토", "일"] as const;

export interface OracleCycle {
  finishedAt: number;
  startedAt: number;
  washMinutes: number | null;
  spinMinutes: number | null;
  totalMinutes: number;
}

function keptSamples(values: number[]): number[] {
  if (values.length < 3) return values;
  const minute = (x: number) => Math.floor(Math.round(x * 60) / 60);
  const sorted = [...values].sort((a, b) => a - b);
  const median = minute(sorted[Math.ceil(sorted.length / 2) - 1]);
  return values.filter((x) => Math.abs(minute(x) - median) <= 0.5 * median);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const oneDecimal = (x: number) => Math.round(x * 10) / 10;

export interface OracleStats {
  samples: number;
  avgTotalMinutes: number;
  avgWashMinutes: number | null;
  avgSpinMinutes: number | null;
  lowMinutes: number;
  highMinutes: number;
}

export function expectedCourseStats(cycles: readonly OracleCycle[]): OracleStats | null {
  const last = [...cycles];
  if (last.length === 0) return null;
  const totals = keptSamples(last.map((c) => c.totalMinutes));
  const wash = keptSamples(last.flatMap((c) => (c.washMinutes === null ? [] : [c.washMinutes])));
  const spin = keptSamples(last.flatMap((c) => (c.spinMinutes === null ? [] : [c.spinMinutes])));
  const m = mean(totals);
  const sd =
    totals.length > 1
      ? Math.sqrt(totals.reduce((a, x) => a + (x - m) ** 2, 0) / (totals.length - 1))
      : 0;
  const spread = Math.max(sd, 0.1 * m);
  return {
    samples: last.length,
    avgTotalMinutes: oneDecimal(m),
    avgWashMinutes: wash.length > 0 ? oneDecimal(mean(wash)) : null,
    avgSpinMinutes: spin.length > 0 ? oneDecimal(mean(spin)) : null,
    lowMinutes: oneDecimal(Math.max(0, m - spread)),
    highMinutes: oneDecimal(m + spread),
  };
}

/** `{"월":[24], …, "일":[24]}` of the cycles. */
export function expectedCongestion(cycles: readonly OracleCycle[]): Record<string, number[]> {
  const table: Record<string, number[]> = Object.fromEntries(
    WEEKDAYS.map((d) => [d, new Array<number>(24).fill(0)]),
  );
  for (const c of cycles) {
    const end = Math.max(c.finishedAt, c.startedAt + 1);
    for (let h = Math.floor((c.startedAt + KST) / HOUR) * HOUR; h < end + KST; h += HOUR) {
      const local = new Date(h);
      const weekday = WEEKDAYS[(local.getUTCDay() + 6) % 7];
      table[weekday][local.getUTCHours()] += 1;
    }
  }
  return table;
}
