/**
 * Expected statistics written from DESIGN.md's rules, independently of the server's code (no
 * import from functions/src): the e2e day compares what the server stored with these.
 *
 * - Course averages: of a course's last 50 finished cycles, in finishing order, a running mean
 *   that skips a sample more than ±50 % away from the mean of the samples kept so far, once at
 *   least 3 are kept; the range is mean ± the kept samples' standard deviation, at least ±10 %
 *   of the mean, not below 0. One decimal.
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
  const kept: number[] = [];
  for (const x of values) {
    const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
    if (kept.length >= 3 && Math.abs(x - mean) > 0.5 * mean) continue;
    kept.push(x);
  }
  return kept;
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
  const last = [...cycles].sort((a, b) => a.finishedAt - b.finishedAt).slice(-50);
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
