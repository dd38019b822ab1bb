import { describe, expect, it } from "vitest";
import { isKoreanHoliday } from "../../functions/src/domain/holidays";

/** Epoch ms of a KST wall-clock time. */
const kst = (y: number, mo: number, d: number, h = 12, mi = 0) => Date.UTC(y, mo - 1, d, h - 9, mi);

/** Every holiday of a year as `{date: "YYYY-MM-DD", name}`, in date order, asked day by day. */
function koreanHolidays(year: number): { date: string; name: string }[] {
  const days: { date: string; name: string }[] = [];
  for (let at = kst(year, 1, 1); at < kst(year + 1, 1, 1); at += 24 * 3600_000) {
    const name = isKoreanHoliday(at);
    if (name) days.push({ date: new Date(at).toISOString().slice(0, 10), name });
  }
  return days;
}

describe("Korean public holidays", () => {
  it("lists 2025 as announced, with the temporary holiday, the election and substitutes", () => {
    expect(koreanHolidays(2025).map((h) => h.date)).toEqual([
      "2025-01-01",
      "2025-01-27",
      "2025-01-28",
      "2025-01-29",
      "2025-01-30",
      "2025-03-01",
      "2025-03-03",
      "2025-05-05",
      "2025-05-06",
      "2025-06-03",
      "2025-06-06",
      "2025-08-15",
      "2025-10-03",
      "2025-10-05",
      "2025-10-06",
      "2025-10-07",
      "2025-10-08",
      "2025-10-09",
      "2025-12-25",
    ]);
  });

  it("lists 2026 with its four substitute holidays and the local election", () => {
    const days = koreanHolidays(2026);
    expect(days.filter((h) => h.name.startsWith("대체공휴일")).map((h) => h.date)).toEqual([
      "2026-03-02",
      "2026-05-25",
      "2026-08-17",
      "2026-10-05",
    ]);
    expect(days.find((h) => h.date === "2026-06-03")?.name).toBe("제9회 전국동시지방선거");
    // 현충일 on a Saturday and 추석 연휴 on a Saturday give no substitute.
    expect(days.map((h) => h.date)).not.toContain("2026-06-08");
    expect(days.map((h) => h.date)).not.toContain("2026-09-28");
  });

  it("knows the lunar holidays of every table year, on the KST calendar", () => {
    const lunar = {
      2025: ["01-29", "05-05", "10-06"],
      2026: ["02-17", "05-24", "09-25"],
      2027: ["02-07", "05-13", "09-15"], // 7 Feb in Korea, 6 Feb in China
      2028: ["01-27", "05-02", "10-03"],
      2029: ["02-13", "05-20", "09-22"],
      2030: ["02-03", "05-09", "09-12"],
    } as const;
    for (let year = 2025; year <= 2030; year++) {
      const [seollal, buddha, chuseok] = lunar[year as keyof typeof lunar];
      const [m1, d1] = seollal.split("-").map(Number);
      const [m4, d4] = buddha.split("-").map(Number);
      const [m8, d8] = chuseok.split("-").map(Number);
      expect(isKoreanHoliday(kst(year, m1, d1))).toContain("설날");
      expect(isKoreanHoliday(kst(year, m4, d4))).toContain("부처님오신날");
      expect(isKoreanHoliday(kst(year, m8, d8))).toContain("추석");
    }
  });

  it("gives a Sunday Seollal a substitute after the three-day run", () => {
    expect(isKoreanHoliday(kst(2027, 2, 9))).toBe("대체공휴일(설날)");
    expect(isKoreanHoliday(kst(2030, 2, 5))).toBe("대체공휴일(설날)");
  });

  it("gives Chuseok overlapping National Foundation Day one substitute", () => {
    expect(isKoreanHoliday(kst(2028, 10, 3))).toBe("개천절, 추석");
    expect(isKoreanHoliday(kst(2028, 10, 5))).toBe("대체공휴일(추석)");
    expect(isKoreanHoliday(kst(2028, 10, 6))).toBeNull();
  });

  it("moves a Saturday Christmas and Hangul Day to the next Monday", () => {
    expect(isKoreanHoliday(kst(2027, 12, 27))).toBe("대체공휴일(기독탄신일)");
    expect(isKoreanHoliday(kst(2027, 10, 11))).toBe("대체공휴일(한글날)");
  });

  it("never substitutes New Year's Day or Memorial Day", () => {
    expect(isKoreanHoliday(kst(2028, 1, 3))).toBeNull(); // 신정 on a Saturday
    expect(isKoreanHoliday(kst(2027, 6, 7))).toBeNull(); // 현충일 on a Sunday
  });

  it("uses the KST calendar day, not the UTC one", () => {
    // 2025-08-15 00:30 KST is still 14 August in UTC.
    expect(isKoreanHoliday(kst(2025, 8, 15, 0, 30))).toBe("광복절");
    // 2025-08-16 08:30 KST is 15 August 23:30 UTC, but no longer a holiday in Korea.
    expect(isKoreanHoliday(kst(2025, 8, 16, 8, 30))).toBeNull();
  });

  it("returns null on an ordinary weekday and an ordinary Sunday", () => {
    expect(isKoreanHoliday(kst(2025, 11, 19))).toBeNull();
    expect(isKoreanHoliday(kst(2025, 11, 16))).toBeNull();
  });

  it("still knows the fixed-date holidays outside the lunar table", () => {
    expect(isKoreanHoliday(kst(2031, 3, 1))).toBe("삼일절");
    expect(isKoreanHoliday(kst(2031, 3, 3))).toBe("대체공휴일(삼일절)");
  });
});
