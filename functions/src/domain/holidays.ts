/**
 * Korean public holidays (관공서의 공휴일에 관한 규정), for the best-time tip. Pure.
 *
 * Fixed solar-calendar days are known for every year; the lunar-calendar ones (설날, 부처님오신날,
 * 추석), election days and one-off days off are in a table for 2025–2030 (the lunar dates were
 * computed for KST, which is why Seollal 2027 is 7 February here and 6 February in China).
 * Substitute holidays (대체공휴일) follow the rules in force since 2023:
 * - 설날/추석 (each day of the three-day run): falls on a Sunday or on another holiday;
 * - 삼일절, 어린이날, 광복절, 개천절, 한글날, 부처님오신날, 기독탄신일: falls on a Saturday, a
 *   Sunday or another holiday;
 * - 신정, 현충일, election days: never.
 * The substitute is the first day after it that is not a weekend day or a holiday.
 */
import { DAY_MS, kstParts } from "./time";

type SubstituteRule = "lunar_run" | "weekend" | "none";

interface HolidayEntry {
  /** Days since 1970-01-01 (a KST calendar day). */
  day: number;
  name: string;
  rule: SubstituteRule;
}

/** Lunar-calendar holidays as solar dates (KST), `MM-DD`. */
const LUNAR: Readonly<Record<number, { seollal: string; buddha: string; chuseok: string }>> = {
  2025: { seollal: "01-29", buddha: "05-05", chuseok: "10-06" },
  2026: { seollal: "02-17", buddha: "05-24", chuseok: "09-25" },
  2027: { seollal: "02-07", buddha: "05-13", chuseok: "09-15" },
  2028: { seollal: "01-27", buddha: "05-02", chuseok: "10-03" },
  2029: { seollal: "02-13", buddha: "05-20", chuseok: "09-22" },
  2030: { seollal: "02-03", buddha: "05-09", chuseok: "09-12" },
};

/**
 * Days off that are not every year: election days of regular elections (holidays by the
 * regulation) and days the government designated. Dates not yet fixed by law are left out.
 */
const ONE_OFF: Readonly<Record<number, readonly { date: string; name: string }[]>> = {
  2025: [
    { date: "01-27", name: "임시공휴일" },
    { date: "06-03", name: "제21대 대통령선거" },
  ],
  2026: [{ date: "06-03", name: "제9회 전국동시지방선거" }],
  2028: [{ date: "04-12", name: "제23대 국회의원선거" }],
};

const FIXED: readonly { date: string; name: string; rule: SubstituteRule }[] = [
  { date: "01-01", name: "신정", rule: "none" },
  { date: "03-01", name: "삼일절", rule: "weekend" },
  { date: "05-05", name: "어린이날", rule: "weekend" },
  { date: "06-06", name: "현충일", rule: "none" },
  { date: "08-15", name: "광복절", rule: "weekend" },
  { date: "10-03", name: "개천절", rule: "weekend" },
  { date: "10-09", name: "한글날", rule: "weekend" },
  { date: "12-25", name: "기독탄신일", rule: "weekend" },
];

function dayOf(year: number, mmdd: string): number {
  const [m, d] = mmdd.split("-").map(Number);
  return Date.UTC(year, m - 1, d) / DAY_MS;
}

/** 0 = Sunday … 6 = Saturday, for a day number. */
function dayOfWeek(day: number): number {
  return new Date(day * DAY_MS).getUTCDay();
}

function entriesOf(year: number): HolidayEntry[] {
  const entries: HolidayEntry[] = FIXED.map((f) => ({ ...f, day: dayOf(year, f.date) }));
  const lunar = LUNAR[year];
  if (lunar) {
    for (const [date, name] of [
      [lunar.seollal, "설날"],
      [lunar.chuseok, "추석"],
    ] as const) {
      const day = dayOf(year, date);
      const rule = "lunar_run";
      entries.push({ day: day - 1, name: `${name} 연휴`, rule }, { day, name, rule });
      entries.push({ day: day + 1, name: `${name} 연휴`, rule });
    }
    entries.push({ day: dayOf(year, lunar.buddha), name: "부처님오신날", rule: "weekend" });
  }
  for (const o of ONE_OFF[year] ?? [])
    entries.push({ ...o, day: dayOf(year, o.date), rule: "none" });
  return entries;
}

/** Every holiday of `year` (and the substitutes it causes), day number → names. */
function holidaysOf(year: number): Map<number, string[]> {
  const byDay = new Map<number, HolidayEntry[]>();
  for (const e of entriesOf(year)) byDay.set(e.day, [...(byDay.get(e.day) ?? []), e]);
  const result = new Map([...byDay].map(([day, list]) => [day, list.map((e) => e.name)]));
  for (const [day, list] of [...byDay].sort(([a], [b]) => a - b)) {
    const weekday = dayOfWeek(day);
    const eligible = list.filter((e) => (weekday === 6 ? e.rule === "weekend" : e.rule !== "none"));
    // A working day holds one holiday; every other eligible one on it is lost.
    const held = weekday === 0 || weekday === 6 || list.length > eligible.length ? 0 : 1;
    for (const e of eligible.slice(held)) {
      let sub = day + 1;
      while (dayOfWeek(sub) === 0 || dayOfWeek(sub) === 6 || result.has(sub)) sub += 1;
      result.set(sub, [`대체공휴일(${e.name.replace(/ 연휴$/, "")})`]);
    }
  }
  return result;
}

/**
 * The name of the Korean public holiday on the KST day containing `now`, or null. Several
 * holidays on one day are joined ("어린이날, 부처님오신날"). Lunar holidays and election days are
 * known for the years of the tables only.
 */
export function isKoreanHoliday(now: number): string | null {
  const p = kstParts(now);
  const day = Date.UTC(p.year, p.month - 1, p.day) / DAY_MS;
  // A substitute for a late-December holiday could fall into January: check both years.
  const names = holidaysOf(p.year).get(day) ?? holidaysOf(p.year - 1).get(day);
  return names ? names.join(", ") : null;
}
