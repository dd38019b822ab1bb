import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KOREAN_WEEKDAYS } from "../../functions/src/domain/time";
import {
  MIN_STATISTICS_TOTAL,
  gridTotal,
  hasEnoughStatistics,
  isQuietHour,
  localeFromAcceptLanguage,
  quietestUpcomingHour,
  statisticsTip,
  tipResponse,
  type CongestionTable,
  type RoomState,
} from "../../functions/src/domain/tip";
import type { Weather } from "../../functions/src/domain/weather";
import { sanitizeTip } from "../../functions/src/services/gemini/sanitize";

/** Epoch ms of a KST wall-clock time. */
const kst = (y: number, mo: number, d: number, h: number, mi = 0) =>
  Date.UTC(y, mo - 1, d, h - 9, mi);

// A dormitory week: quiet at night, busy 17–20, quiet again from 21.
const DAY = [0, 0, 0, 0, 0, 0, 0, 2, 3, 4, 5, 5, 4, 4, 3, 3, 4, 6, 9, 10, 9, 1, 1, 1];
const WEEK: CongestionTable = Object.fromEntries(KOREAN_WEEKDAYS.map((d) => [d, DAY]));
const THIN: CongestionTable = Object.fromEntries(
  KOREAN_WEEKDAYS.map((d, i) => [d, DAY.map((_, h) => (i === 0 && h === 19 ? 10 : 0))]),
);

const SAT_1430 = kst(2025, 11, 15, 14, 30);
const SAT_1910 = kst(2025, 11, 15, 19, 10);
const SAT_2320 = kst(2025, 11, 15, 23, 20);

const room = (free: number, busy: number, wait: number | null = null): RoomState => ({
  roomId: "1",
  name: "1층 세탁실",
  free,
  busy,
  expectedWaitMinutes: wait,
});

describe("statistics", () => {
  it("counts the grid and needs MIN_STATISTICS_TOTAL cycle-hours", () => {
    expect(gridTotal(WEEK)).toBe(7 * 74);
    expect(gridTotal({})).toBe(0);
    const justBelow = { 월: [MIN_STATISTICS_TOTAL - 1] };
    expect(hasEnoughStatistics(justBelow)).toBe(false);
    expect(hasEnoughStatistics({ 월: [MIN_STATISTICS_TOTAL] })).toBe(true);
  });

  it("calls an hour quiet when it is at or below the day's typical use", () => {
    expect(isQuietHour(WEEK, SAT_1430)).toBe(true);
    expect(isQuietHour(WEEK, SAT_1910)).toBe(false);
  });

  it("finds the quietest hour ahead, earliest on a tie, and whether it stays quiet", () => {
    expect(quietestUpcomingHour(WEEK, SAT_1910)).toEqual({
      hour: 21,
      weekday: 5,
      count: 1,
      tomorrow: false,
      staysQuiet: true,
    });
    // After 23:00 only tomorrow's morning is in reach; 10:00 is busier than usual.
    expect(quietestUpcomingHour(WEEK, SAT_2320)).toEqual({
      hour: 7,
      weekday: 6,
      count: 2,
      tomorrow: true,
      staysQuiet: false,
    });
  });
});

describe("fallback tip", () => {
  it("says it is quiet now when machines are free in a quiet hour", () => {
    const input = { now: SAT_1430, rooms: [room(2, 4)], grid: WEEK };
    expect(statisticsTip({ ...input, locale: "ko" })).toBe(
      "지금은 한산해요, 빈 기계가 2대 있어요.",
    );
    expect(statisticsTip({ ...input, locale: "en" })).toBe("It's quiet now: 2 machines are free.");
    expect(statisticsTip({ ...input, rooms: [room(1, 5)], locale: "en" })).toBe(
      "It's quiet now: 1 machine is free.",
    );
  });

  it("points to the quietest later hour in a busy hour", () => {
    const input = { now: SAT_1910, rooms: [room(1, 5)], grid: WEEK };
    expect(statisticsTip({ ...input, locale: "ko" })).toBe(
      "지금은 붐비는 시간이에요, 보통 21시 이후가 가장 한산해요.",
    );
    expect(statisticsTip({ ...input, locale: "en" })).toBe(
      "It's usually busy at this hour; it's usually quietest after 21:00.",
    );
  });

  it("says when the next machine frees up if all are busy, using the shortest wait", () => {
    const rooms = [room(0, 6, 25), { ...room(0, 2, 11.6), roomId: "2" }];
    expect(statisticsTip({ now: SAT_1910, rooms, grid: WEEK, locale: "ko" })).toBe(
      "지금은 모두 사용 중이고 약 12분 후 빌 예정이에요, 보통 21시 이후가 가장 한산해요.",
    );
    expect(statisticsTip({ now: SAT_1430, rooms, grid: WEEK, locale: "en" })).toBe(
      "All machines are busy right now, one should be free in about 12 min; it's usually quietest after 21:00.",
    );
  });

  it("looks into tomorrow morning late at night", () => {
    const input = { now: SAT_2320, rooms: [room(0, 6)], grid: WEEK };
    expect(statisticsTip({ ...input, locale: "ko" })).toBe(
      "지금은 모두 사용 중이에요, 보통 내일 7시쯤이 가장 한산해요.",
    );
    expect(statisticsTip({ ...input, locale: "en" })).toBe(
      "All machines are busy right now; it's usually quietest around 07:00 tomorrow.",
    );
  });

  it("uses the grid alone when no room state is known", () => {
    expect(statisticsTip({ now: SAT_1430, rooms: [], grid: WEEK, locale: "ko" })).toBe(
      "지금은 보통 한산한 시간이에요.",
    );
    expect(statisticsTip({ now: SAT_1910, rooms: [], grid: WEEK, locale: "en" })).toBe(
      "It's usually busy at this hour; it's usually quietest after 21:00.",
    );
  });

  it("says honestly that there are not enough statistics yet", () => {
    const base = { now: SAT_1910, grid: THIN };
    expect(statisticsTip({ ...base, rooms: [room(3, 3)], locale: "ko" })).toBe(
      "아직 이용 통계가 부족하지만 지금 빈 기계가 3대 있어요.",
    );
    expect(statisticsTip({ ...base, rooms: [room(3, 3)], locale: "en" })).toBe(
      "There isn't enough usage data yet, but 3 machines are free right now.",
    );
    expect(statisticsTip({ ...base, rooms: [room(0, 6, 7)], locale: "ko" })).toBe(
      "아직 이용 통계가 부족해요, 지금은 모두 사용 중이고 약 7분 후 빌 예정이에요.",
    );
    expect(statisticsTip({ ...base, rooms: [room(0, 6, 7)], locale: "en" })).toBe(
      "There isn't enough usage data yet; all machines are busy right now, one should be free in about 7 min.",
    );
    expect(statisticsTip({ ...base, rooms: [], locale: "ko" })).toBe(
      "아직 이용 통계가 부족해 한산한 시간을 알려드리기 어려워요.",
    );
    expect(statisticsTip({ ...base, rooms: [], locale: "en" })).toBe(
      "There isn't enough usage data yet to tell when it's quiet.",
    );
  });

  it("answers in the GET /tip response shape, passing the weather through", () => {
    const weather: Weather = {
      forecastAt: new Date(kst(2025, 11, 15, 15)).toISOString(),
      baseDate: "20251115",
      baseTime: "1400",
      nx: 60,
      ny: 127,
      temperatureC: 12,
      precipitationProbability: 20,
      precipitationType: "none",
      precipitationMm: 0,
      precipitationText: "강수없음",
      humidity: 55,
      sky: "clear",
    };
    const text = statisticsTip({ now: SAT_1430, rooms: [room(2, 4)], grid: WEEK, locale: "ko" });
    const tip = tipResponse(text, "statistics", { now: SAT_1430, weather, roomId: "1" });
    expect(tip).toEqual({
      tip: "지금은 한산해요, 빈 기계가 2대 있어요.",
      source: "statistics",
      weather,
      generatedAt: "2025-11-15T05:30:00.000Z",
      roomId: "1",
    });
    expect(tipResponse("Go now.", "gemini", { now: SAT_1430, weather, roomId: null })).toEqual({
      tip: "Go now.",
      source: "gemini",
      weather,
      generatedAt: "2025-11-15T05:30:00.000Z",
      roomId: null,
    });
    expect(tipResponse("Go now.", "statistics", { now: SAT_1430 })).toMatchObject({
      weather: null,
      roomId: null,
      source: "statistics",
    });
  });

  it("always yields one clean sentence that the Gemini sanitiser leaves as it is", () => {
    const arbRoom = fc.record({
      roomId: fc.constantFrom("1", "2"),
      name: fc.constant("세탁실"),
      free: fc.nat(8),
      busy: fc.nat(8),
      expectedWaitMinutes: fc.option(fc.integer({ min: 0, max: 240 }), { nil: null }),
    });
    const arbGrid = fc
      .array(fc.array(fc.nat(30), { minLength: 24, maxLength: 24 }), {
        minLength: 7,
        maxLength: 7,
      })
      .map((rows) => Object.fromEntries(KOREAN_WEEKDAYS.map((d, i) => [d, rows[i]])));
    fc.assert(
      fc.property(
        fc.integer({ min: kst(2025, 1, 1, 0), max: kst(2030, 12, 31, 23) }),
        fc.array(arbRoom, { maxLength: 3 }),
        arbGrid,
        fc.constantFrom("ko" as const, "en" as const),
        (now, rooms, grid, locale) => {
          const tip = statisticsTip({ now, rooms, grid, locale });
          expect(sanitizeTip(tip)).toBe(tip);
          expect(tip).toMatch(/[.]$/);
        },
      ),
    );
  });
});

describe("locale", () => {
  it.each([
    [undefined, null],
    ["", null],
    ["en-US,en;q=0.9", "en"],
    ["ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"],
    ["ko;q=0.5, en;q=0.8", "en"],
    ["ja-JP,ja;q=0.9", null],
    ["en;q=0", "ko"],
    ["fr, en;q=0.4", "en"],
  ] as const)("reads Accept-Language %j as %s", (header, expected) => {
    expect(localeFromAcceptLanguage(header)).toBe(expected);
  });
});

describe("tip keys", () => {
  it("treats an empty key or the deploy placeholder 'none' as not configured", async () => {
    const { configuredKey } = await import("../../functions/src/http/routes/tip");
    expect(configuredKey("")).toBe("");
    expect(configuredKey(" none ")).toBe("");
    expect(configuredKey("NONE")).toBe("");
    expect(configuredKey(" AIza-real ")).toBe("AIza-real");
  });
});
