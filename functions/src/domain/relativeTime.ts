/**
 * "Last seen" text shared by the API and the PWA: 방금 전 / N분 전 / N시간 전 / N일 전, or
 * "just now" / "N minutes ago" / "N hours ago" / "N days ago". Pure.
 *
 * Whole units, rounded down (59 s is 방금 전, 119 s is 1분 전). A time in the future (a device
 * clock slightly ahead) reads as "just now".
 */
import { DEFAULT_LOCALE, type Locale, countEn } from "./messages";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "./time";

export function relativeTime(
  thenMs: number,
  nowMs: number,
  locale: Locale = DEFAULT_LOCALE,
): string {
  const ago = nowMs - thenMs;
  if (!(ago >= MINUTE_MS)) return locale === "ko" ? "방금 전" : "just now";
  if (ago < HOUR_MS) return phrase(Math.floor(ago / MINUTE_MS), "분", "minute", locale);
  if (ago < DAY_MS) return phrase(Math.floor(ago / HOUR_MS), "시간", "hour", locale);
  return phrase(Math.floor(ago / DAY_MS), "일", "day", locale);
}

function phrase(n: number, ko: string, en: string, locale: Locale): string {
  return locale === "ko" ? `${n}${ko} 전` : `${countEn(n, en)} ago`;
}
