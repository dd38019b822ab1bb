/**
 * Time helpers in Asia/Seoul (KST, UTC+9, no daylight saving). Pure.
 */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
const KST_OFFSET_MS = 9 * HOUR_MS;

/** Weekday names as the API returns them, Monday first. */
export const KOREAN_WEEKDAYS = ["월", "화", "수", "목", "금", "토", "일"] as const;

/** The KST calendar fields of an instant: month 1–12, weekday 0 = Monday … 6 = Sunday. */
export function kstParts(epochMs: number) {
  const d = new Date(epochMs + KST_OFFSET_MS);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: (d.getUTCDay() + 6) % 7,
  };
}

/** The KST calendar day of an instant, `YYYYMMDD`. */
export function kstDate(epochMs: number): string {
  return new Date(epochMs + KST_OFFSET_MS).toISOString().slice(0, 10).replaceAll("-", "");
}

/** Start of the KST hour that contains `epochMs`. */
export function kstHourStart(epochMs: number): number {
  return Math.floor((epochMs + KST_OFFSET_MS) / HOUR_MS) * HOUR_MS - KST_OFFSET_MS;
}

/** Whole minutes between two instants, rounded to the nearest minute, never negative. */
export function minutesBetween(fromMs: number, toMs: number): number {
  return Math.max(0, Math.round((toMs - fromMs) / MINUTE_MS));
}

/** Whole minutes from `nowMs` until `endMs`, rounded up (30 s left is 1), never negative. */
export function minutesUntil(nowMs: number, endMs: number): number {
  return Math.max(0, Math.ceil((endMs - nowMs) / MINUTE_MS));
}
