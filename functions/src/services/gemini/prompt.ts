/**
 * The prompt for the best-time tip: the current time (weekday, Korean public holiday), the
 * weather, each room's free/busy machines and expected wait, and the weekday × hour congestion
 * grid; the answer asked for is ONE short plain sentence in Korean (English for "en"). Pure.
 */
import { isKoreanHoliday } from "../../domain/holidays";
import { KOREAN_WEEKDAYS, kstParts } from "../../domain/time";
import { type CongestionTable, type RoomState, type TipInput, gridCount } from "../../domain/tip";
import { describeWeather, type Weather } from "../../domain/weather";

const WEEKDAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
const pad = (n: number) => String(n).padStart(2, "0");

/** Room names are user data: one line, no quotes or brackets, bounded. */
function cleanName(name: string): string {
  const cleaned = name
    .replace(/[\r\n\t"`<>{}[\]]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return cleaned.slice(0, 40) || "room";
}

function roomLine(room: RoomState): string {
  const wait =
    room.free > 0
      ? "a machine is free now"
      : room.expectedWaitMinutes !== null
        ? `next machine expected free in about ${Math.max(0, Math.round(room.expectedWaitMinutes))} min`
        : "no estimate of when a machine frees up";
  return `- ${cleanName(room.name)} (id ${cleanName(room.roomId)}): ${room.free} free, ${room.busy} busy; ${wait}`;
}

function gridLines(grid: CongestionTable, today: number): string[] {
  return KOREAN_WEEKDAYS.map((name, d) => {
    const row = Array.from({ length: 24 }, (_, h) =>
      Math.max(0, Math.round(gridCount(grid, d, h))),
    );
    return `${WEEKDAYS_EN[d]} (${name})${d === today ? " [today]" : ""}: ${row.join(" ")}`;
  });
}

export function buildTipPrompt(input: TipInput & { weather: Weather | null }): string {
  const p = kstParts(input.now);
  const holiday = isKoreanHoliday(input.now);
  const date = `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  const time = `${pad(p.hour)}:${pad(p.minute)}`;
  const ko = input.locale === "ko";

  const lines = [
    "You help residents of a shared laundry room (washers and dryers) pick a good time to do laundry.",
    "",
    `Now: ${date} ${WEEKDAYS_EN[p.weekday]} (${KOREAN_WEEKDAYS[p.weekday]}) ${time} KST.`,
    holiday
      ? `Today is a Korean public holiday (${holiday}): usage may look more like a weekend.`
      : "Today is not a public holiday.",
    input.weather
      ? `Weather forecast for ${kstParts(Date.parse(input.weather.forecastAt)).hour}:00: ${describeWeather(input.weather)}.`
      : "Weather: unknown.",
    "",
    "Laundry rooms right now:",
    ...(input.rooms.length > 0 ? input.rooms.map(roomLine) : ["- no live machine data"]),
    "",
    "Typical use: machines running per weekday (rows) and KST hour 0-23 (columns), summed over past weeks; higher means busier:",
    ...gridLines(input.grid, p.weekday),
    "",
    "Task: say whether now is a good time, or which hour later today is usually the quietest.",
    "Mention the weather only if it matters (for example rain when people use the dryers more).",
    ko
      ? `Answer in Korean (한국어), polite 해요체, ONE sentence of at most 60 characters.`
      : `Answer in English, ONE sentence of at most 100 characters.`,
    "Plain text only: no markdown, no quotes, no emoji, no lists, no line breaks.",
  ];
  return lines.join("\n");
}
