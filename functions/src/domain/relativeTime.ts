/**
 * "Last seen" text shared by the API and the PWA: 방금 전 / N분 전 / N시간 전 / N일 전, or
 * "just now" / "N minutes ago" / "N hours ago" / "N days ago". Pure.
 *
 * Whole units, rounded down (59 s is 방금 전, 119 s is 1분 전). A time in the future (a device
 * clock slightly ahead) reads as "just now".
 */
import { DAY_MS, HOUR_MS, MINUTE_MS } from "./time";

export type Locale = "ko" | "en";

export function relativeTime(thenMs: number, nowMs: number, locale: Locale = "ko"): string {
  const ago = nowMs - thenMs;
  if (!(ago >= MINUTE_MS)) return locale === "ko" ? "방금 전" : "just now";
  if (ago < HOUR_MS) return phrase(Math.floor(ago / MINUTE_MS), "분", "minute", locale);
  if (ago < DAY_MS) return phrase(Math.floor(ago / HOUR_MS), "시간", "hour", locale);
  return phrase(Math.floor(ago / DAY_MS), "일", "day", locale);
}

function phrase(n: number, ko: string, en: string, locale: Locale): string {
  if (locale === "ko") return `${n}${ko} 전`;
  return `${n} ${en}${n === 1 ? "" : "s"} ago`;
}
