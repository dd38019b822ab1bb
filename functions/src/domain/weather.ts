/**
 * The weather the best-time tip may use: one forecast hour of the KMA short-term forecast
 * (단기예보, getVilageFcst), with KMA's codes turned into readable values (services/kma/parse.ts
 * decodes them), and the English text that describes it in the Gemini prompt. Pure.
 */
import { z } from "zod";

/** SKY (1 맑음, 3 구름많음, 4 흐림): KMA's code and the Gemini prompt's words. */
export const SKY = {
  clear: { code: "1", text: "clear" },
  mostly_cloudy: { code: "3", text: "mostly cloudy" },
  overcast: { code: "4", text: "overcast" },
} as const;

/**
 * PTY: 0 없음, 1 비, 2 비/눈, 3 눈, 4 소나기 (short-term forecast); 5 빗방울, 6 빗방울눈날림,
 * 7 눈날림 only appear in the ultra-short-term products but are mapped too.
 */
export const PRECIPITATION_TYPES = {
  none: { code: "0", text: "no precipitation" },
  rain: { code: "1", text: "rain" },
  rain_snow: { code: "2", text: "rain and snow" },
  snow: { code: "3", text: "snow" },
  shower: { code: "4", text: "showers" },
  drizzle: { code: "5", text: "drizzle" },
  drizzle_snow: { code: "6", text: "drizzle and snow flurries" },
  snow_flurry: { code: "7", text: "snow flurries" },
} as const;

const keys = <T extends object>(o: T) =>
  Object.keys(o) as [keyof T & string, ...(keyof T & string)[]];

/** A forecast as the tip uses, caches and answers it (`weather` of `GET /tip`). */
export const WeatherSchema = z.strictObject({
  /** The forecast hour described, ISO 8601 (UTC). */
  forecastAt: z.string(),
  /** KMA run used: base date `YYYYMMDD` and base time `HHmm` (KST). */
  baseDate: z.string(),
  baseTime: z.string(),
  /** KMA grid cell. */
  nx: z.number(),
  ny: z.number(),
  /** TMP, °C. */
  temperatureC: z.number().nullable(),
  /** POP, %. */
  precipitationProbability: z.number().nullable(),
  /** PTY. */
  precipitationType: z.enum(keys(PRECIPITATION_TYPES)).nullable(),
  /**
   * PCP, mm per hour: 0 for "강수없음", the lower bound of a range ("30.0~50.0mm" → 30,
   * "50.0mm 이상" → 50), and half the bound for "1mm 미만" (0.5).
   */
  precipitationMm: z.number().nullable(),
  /** PCP as KMA wrote it, e.g. "강수없음", "1mm 미만", "3.5mm". */
  precipitationText: z.string().nullable(),
  /** REH, %. */
  humidity: z.number().nullable(),
  /** SKY. */
  sky: z.enum(keys(SKY)).nullable(),
});
export type Weather = z.infer<typeof WeatherSchema>;

/** "clear, 12°C, 20% chance of precipitation, no precipitation, humidity 55%". */
export function describeWeather(weather: Weather): string {
  const parts: string[] = [];
  if (weather.sky) parts.push(SKY[weather.sky].text);
  if (weather.temperatureC !== null) parts.push(`${weather.temperatureC}°C`);
  if (weather.precipitationProbability !== null) {
    parts.push(`${weather.precipitationProbability}% chance of precipitation`);
  }
  if (weather.precipitationType) {
    const amount =
      weather.precipitationType !== "none" && weather.precipitationText
        ? ` ${weather.precipitationText}`
        : "";
    parts.push(PRECIPITATION_TYPES[weather.precipitationType].text + amount);
  }
  if (weather.humidity !== null) parts.push(`humidity ${weather.humidity}%`);
  return parts.join(", ");
}
