/**
 * The best-time tip without Gemini: computed from the congestion grid and the rooms' current
 * state, in Korean or English, with the same response shape as a Gemini tip. Used without a
 * key, on any Gemini or KMA failure, and (honestly saying so) before enough statistics exist.
 * Pure.
 */
import { z } from "zod";
import type { Locale } from "./messages";
import { KOREAN_WEEKDAYS, kstParts, HOUR_MS } from "./time";
import { type Weather, WeatherSchema } from "./weather";

/** `GET /tip` response body (but the seed PWA's `tip_message`), as cached. */
export const TipSchema = z.object({
  tip: z.string(),
  source: z.enum(["gemini", "statistics"]),
  /** The forecast the tip was made with, null without a key or when KMA failed. */
  weather: WeatherSchema.nullable(),
  /** When the tip was made, ISO 8601. */
  generatedAt: z.string(),
  /** The room asked about, null for all rooms. */
  roomId: z.string().nullable(),
});
export type TipResponse = z.infer<typeof TipSchema>;

/** A room right now, as the tip sees it. */
export interface RoomState {
  roomId: string;
  name: string;
  /** Machines idle and usable now (online, not out of order). */
  free: number;
  /** Machines running now. */
  busy: number;
  /** Minutes until the next machine is expected to free up; null when unknown or free now. */
  expectedWaitMinutes: number | null;
}

/** `{"월":[24 counts], …, "일":[…]}`, as `GET /statistics/congestion` returns it. */
export type CongestionTable = Record<string, readonly number[]>;

/** Grid total (cycle-hours) below which the statistics are too thin to name a quiet hour. */
export const MIN_STATISTICS_TOTAL = 50;
/** KST hours a tip may suggest (start hours, inclusive): nobody is sent to wash at 3 am. */
const ACTIVE_HOURS = { first: 7, last: 23 } as const;
/** How far ahead the quietest hour is looked for. */
const LOOKAHEAD_HOURS = 12;

/** What a tip is made from (the Gemini prompt adds the weather). */
export interface TipInput {
  now: number;
  rooms: readonly RoomState[];
  grid: CongestionTable;
  locale: Locale;
}

/** The grid's count for a weekday (0 = Monday) and KST hour; 0 where it holds no number. */
export function gridCount(grid: CongestionTable, weekday: number, hour: number): number {
  const v = grid[KOREAN_WEEKDAYS[weekday]]?.[hour];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

export function gridTotal(grid: CongestionTable): number {
  let total = 0;
  for (let d = 0; d < 7; d++) for (let h = 0; h < 24; h++) total += gridCount(grid, d, h);
  return total;
}

/** True when the grid holds enough cycles for a statistics-based suggestion. */
export function hasEnoughStatistics(grid: CongestionTable): boolean {
  return gridTotal(grid) >= MIN_STATISTICS_TOTAL;
}

/** Mean count over the active hours of a weekday. */
function activeMean(grid: CongestionTable, weekday: number): number {
  let sum = 0;
  for (let h = ACTIVE_HOURS.first; h <= ACTIVE_HOURS.last; h++) sum += gridCount(grid, weekday, h);
  return sum / (ACTIVE_HOURS.last - ACTIVE_HOURS.first + 1);
}

/** The current KST hour is at or below its weekday's typical (mean active-hour) use. */
export function isQuietHour(grid: CongestionTable, now: number): boolean {
  const p = kstParts(now);
  return gridCount(grid, p.weekday, p.hour) <= activeMean(grid, p.weekday);
}

/**
 * The quietest active hour in the next {@link LOOKAHEAD_HOURS} hours (the current hour
 * excluded); the earliest one on a tie.
 */
export function quietestUpcomingHour(grid: CongestionTable, now: number) {
  const today = kstParts(now);
  const slots = Array.from({ length: LOOKAHEAD_HOURS }, (_, i) => kstParts(now + (i + 1) * HOUR_MS))
    .filter((p) => p.hour >= ACTIVE_HOURS.first && p.hour <= ACTIVE_HOURS.last)
    .map((p) => ({
      hour: p.hour,
      weekday: p.weekday,
      count: gridCount(grid, p.weekday, p.hour),
      /** The hour is on the next KST day. */
      tomorrow: p.day !== today.day,
    }));
  if (slots.length === 0) return null;
  const best = slots.reduce((b, s, i) => (s.count < slots[b].count ? i : b), 0);
  const chosen = slots[best];
  const mean = activeMean(grid, chosen.weekday);
  /** Every later hour of that day within the look-ahead is quiet too ("after 21:00"). */
  const staysQuiet = slots
    .slice(best + 1)
    .filter((s) => s.tomorrow === chosen.tomorrow)
    .every((s) => s.count <= mean);
  return { ...chosen, staysQuiet };
}

/** Over `rooms`: any known, machines free, the shortest expected wait (null when unknown). */
function totals(rooms: readonly RoomState[]) {
  const free = rooms.reduce((n, r) => n + Math.max(0, r.free), 0);
  const waits = rooms
    .map((r) => r.expectedWaitMinutes)
    .filter((w): w is number => w !== null && Number.isFinite(w) && w >= 0);
  return {
    known: rooms.length > 0,
    free,
    wait: waits.length > 0 ? Math.max(1, Math.round(Math.min(...waits))) : null,
  };
}

type QuietHour = NonNullable<ReturnType<typeof quietestUpcomingHour>>;

const machinesEn = (n: number) => (n === 1 ? "1 machine is" : `${n} machines are`);
const hhmm = (h: number) => `${String(h).padStart(2, "0")}:00`;

function quietPhrase(q: QuietHour, locale: Locale): string {
  if (locale === "ko") {
    const when = `${q.tomorrow ? "내일 " : ""}${q.hour}시${q.staysQuiet ? " 이후가" : "쯤이"}`;
    return `보통 ${when} 가장 한산해요`;
  }
  const when = `${q.staysQuiet ? "after" : "around"} ${hhmm(q.hour)}${q.tomorrow ? " tomorrow" : ""}`;
  return `it's usually quietest ${when}`;
}

function allBusyPhrase(wait: number | null, locale: Locale, capital = true): string {
  if (locale === "ko") {
    return wait === null
      ? "지금은 모두 사용 중이에요"
      : `지금은 모두 사용 중이고 약 ${wait}분 후 빌 예정이에요`;
  }
  const all = capital ? "All" : "all";
  return wait === null
    ? `${all} machines are busy right now`
    : `${all} machines are busy right now, one should be free in about ${wait} min`;
}

/** One sentence, from the grid and the rooms' state only. */
export function statisticsTip(input: TipInput): string {
  const { now, rooms, grid, locale } = input;
  const ko = locale === "ko";
  const state = totals(rooms);

  if (!hasEnoughStatistics(grid)) {
    if (!state.known) {
      return ko
        ? "아직 이용 통계가 부족해 한산한 시간을 알려드리기 어려워요."
        : "There isn't enough usage data yet to tell when it's quiet.";
    }
    if (state.free > 0) {
      return ko
        ? `아직 이용 통계가 부족하지만 지금 빈 기계가 ${state.free}대 있어요.`
        : `There isn't enough usage data yet, but ${machinesEn(state.free)} free right now.`;
    }
    return ko
      ? `아직 이용 통계가 부족해요, ${allBusyPhrase(state.wait, locale)}.`
      : `There isn't enough usage data yet; ${allBusyPhrase(state.wait, locale, false)}.`;
  }

  const quietNow = isQuietHour(grid, now);
  if (quietNow && (!state.known || state.free > 0)) {
    if (!state.known) return ko ? "지금은 보통 한산한 시간이에요." : "This hour is usually quiet.";
    return ko
      ? `지금은 한산해요, 빈 기계가 ${state.free}대 있어요.`
      : `It's quiet now: ${machinesEn(state.free)} free.`;
  }

  const best = quietestUpcomingHour(grid, now);
  const lead =
    state.known && state.free === 0
      ? allBusyPhrase(state.wait, locale)
      : ko
        ? "지금은 붐비는 시간이에요"
        : "It's usually busy at this hour";
  if (!best) return `${lead}.`;
  return ko ? `${lead}, ${quietPhrase(best, locale)}.` : `${lead}; ${quietPhrase(best, locale)}.`;
}

/** A tip in the `GET /tip` response shape (use it for Gemini's sentence too). */
export function tipResponse(
  tip: string,
  source: TipResponse["source"],
  context: { now: number; weather?: Weather | null; roomId?: string | null },
): TipResponse {
  return {
    tip,
    source,
    weather: context.weather ?? null,
    generatedAt: new Date(context.now).toISOString(),
    roomId: context.roomId ?? null,
  };
}

/**
 * "en" when the Accept-Language header prefers English over Korean, else "ko"; null when it
 * names neither (the caller then falls back to the user's choice).
 */
export function localeFromAcceptLanguage(header: string | null | undefined): Locale | null {
  if (!header || !/(^|,)\s*(ko|en)\b/i.test(header)) return null;
  let best: { locale: Locale; q: number } | null = null;
  for (const part of header.split(",")) {
    const [tag, ...params] = part.trim().toLowerCase().split(";");
    const lang = tag.trim().split("-")[0];
    if (lang !== "en" && lang !== "ko") continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { locale: lang, q };
  }
  return best?.locale ?? "ko";
}
