/**
 * The weather the best-time tip may use: one forecast hour of the KMA short-term forecast
 * (단기예보, getVilageFcst), with KMA's codes turned into readable values. Pure: types, the
 * code → value tables and the text that describes a forecast in Korean or English.
 */

/** SKY: 1 맑음, 3 구름많음, 4 흐림. */
export type Sky = "clear" | "mostly_cloudy" | "overcast";

/**
 * PTY: 0 없음, 1 비, 2 비/눈, 3 눈, 4 소나기 (short-term forecast); 5 빗방울, 6 빗방울눈날림,
 * 7 눈날림 only appear in the ultra-short-term products but are mapped too.
 */
export type PrecipitationType =
  "none" | "rain" | "rain_snow" | "snow" | "shower" | "drizzle" | "drizzle_snow" | "snow_flurry";

export interface Weather {
  /** The forecast hour described, ISO 8601 (UTC). */
  forecastAt: string;
  /** KMA run used: base date `YYYYMMDD` and base time `HHmm` (KST). */
  baseDate: string;
  baseTime: string;
  /** KMA grid cell. */
  nx: number;
  ny: number;
  /** TMP, °C. */
  temperatureC: number | null;
  /** POP, %. */
  precipitationProbability: number | null;
  /** PTY. */
  precipitationType: PrecipitationType | null;
  /**
   * PCP, mm per hour: 0 for "강수없음", the lower bound of a range ("30.0~50.0mm" → 30,
   * "50.0mm 이상" → 50), and half the bound for "1mm 미만" (0.5).
   */
  precipitationMm: number | null;
  /** PCP as KMA wrote it, e.g. "강수없음", "1mm 미만", "3.5mm". */
  precipitationText: string | null;
  /** REH, %. */
  humidity: number | null;
  /** SKY. */
  sky: Sky | null;
}

export const SKY_BY_CODE: Readonly<Record<string, Sky>> = {
  "1": "clear",
  "3": "mostly_cloudy",
  "4": "overcast",
};

export const PRECIPITATION_TYPE_BY_CODE: Readonly<Record<string, PrecipitationType>> = {
  "0": "none",
  "1": "rain",
  "2": "rain_snow",
  "3": "snow",
  "4": "shower",
  "5": "drizzle",
  "6": "drizzle_snow",
  "7": "snow_flurry",
};

export type WeatherLocale = "ko" | "en";

export const SKY_TEXT: Readonly<Record<Sky, Record<WeatherLocale, string>>> = {
  clear: { ko: "맑음", en: "clear" },
  mostly_cloudy: { ko: "구름많음", en: "mostly cloudy" },
  overcast: { ko: "흐림", en: "overcast" },
};

export const PRECIPITATION_TYPE_TEXT: Readonly<
  Record<PrecipitationType, Record<WeatherLocale, string>>
> = {
  none: { ko: "강수 없음", en: "no precipitation" },
  rain: { ko: "비", en: "rain" },
  rain_snow: { ko: "비/눈", en: "rain and snow" },
  snow: { ko: "눈", en: "snow" },
  shower: { ko: "소나기", en: "showers" },
  drizzle: { ko: "빗방울", en: "drizzle" },
  drizzle_snow: { ko: "빗방울/눈날림", en: "drizzle and snow flurries" },
  snow_flurry: { ko: "눈날림", en: "snow flurries" },
};

/** KMA's PCP text → mm ("강수없음" → 0); null when it is not a recognisable amount. */
export function parsePrecipitationAmount(text: string): number | null {
  const t = text.trim();
  if (t === "" || t === "강수없음" || t === "-" || t === "0") return 0;
  const num = /(\d+(?:\.\d+)?)/.exec(t);
  if (!num) return null;
  const value = Number(num[1]);
  if (!Number.isFinite(value)) return null;
  return t.includes("미만") ? value / 2 : value;
}

/** "맑음, 12°C, 강수확률 20%, 강수 없음, 습도 55%" / "clear, 12°C, 20% chance of precipitation, …". */
export function describeWeather(weather: Weather, locale: WeatherLocale): string {
  const parts: string[] = [];
  if (weather.sky) parts.push(SKY_TEXT[weather.sky][locale]);
  if (weather.temperatureC !== null) parts.push(`${weather.temperatureC}°C`);
  if (weather.precipitationProbability !== null) {
    parts.push(
      locale === "ko"
        ? `강수확률 ${weather.precipitationProbability}%`
        : `${weather.precipitationProbability}% chance of precipitation`,
    );
  }
  if (weather.precipitationType) {
    const kind = PRECIPITATION_TYPE_TEXT[weather.precipitationType][locale];
    const amount =
      weather.precipitationType !== "none" && weather.precipitationText
        ? ` ${weather.precipitationText}`
        : "";
    parts.push(kind + amount);
  }
  if (weather.humidity !== null) {
    parts.push(locale === "ko" ? `습도 ${weather.humidity}%` : `humidity ${weather.humidity}%`);
  }
  return parts.join(", ");
}
