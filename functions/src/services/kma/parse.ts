/**
 * Reading a getVilageFcst (단기예보) response, XML (the default) or JSON, and picking the forecast
 * hour nearest to now. Gateway errors (`<OpenAPI_ServiceResponse>`, always XML) and result codes
 * other than "00" become {@link KmaError}s. Pure.
 */
import { XMLParser } from "fast-xml-parser";
import { HOUR_MS } from "../../domain/time";
import {
  PRECIPITATION_TYPE_BY_CODE,
  SKY_BY_CODE,
  parsePrecipitationAmount,
  type Weather,
} from "../../domain/weather";
import { KmaError, kmaErrorFromResultCode } from "./errors";

export type KmaDataType = "XML" | "JSON";

/** One row of the forecast, every field as text. */
export interface KmaItem {
  baseDate: string;
  baseTime: string;
  category: string;
  fcstDate: string;
  fcstTime: string;
  fcstValue: string;
  nx: number;
  ny: number;
}

const xml = new XMLParser({
  ignoreAttributes: true,
  // Keep every value as text: "0500" must stay "0500", "1mm 미만" is text anyway.
  parseTagValue: false,
  isArray: (name) => name === "item",
});

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string =>
  typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : "";

function normaliseCode(code: string): string {
  return /^\d$/.test(code) ? `0${code}` : code;
}

function parseBody(body: string): Json {
  const trimmed = body.replace(/^\uFEFF/, "").trim();
  if (trimmed.startsWith("<")) {
    try {
      const doc: unknown = xml.parse(trimmed);
      if (isObject(doc)) return doc;
    } catch {
      // fall through
    }
  } else if (trimmed.startsWith("{")) {
    try {
      const doc: unknown = JSON.parse(trimmed);
      if (isObject(doc)) return doc;
    } catch {
      // fall through
    }
  }
  throw new KmaError("bad_response", "KMA answered with a body that is neither XML nor JSON");
}

/** The KmaError a body carries, if it is a KMA or gateway error; null otherwise. */
export function kmaErrorInBody(body: string): KmaError | null {
  let doc: Json;
  try {
    doc = parseBody(body);
  } catch {
    return null;
  }
  const gateway = doc.OpenAPI_ServiceResponse;
  if (isObject(gateway)) {
    const header = isObject(gateway.cmmMsgHeader) ? gateway.cmmMsgHeader : {};
    const code = normaliseCode(text(header.returnReasonCode));
    const msg = text(header.returnAuthMsg) || text(header.errMsg);
    return code
      ? kmaErrorFromResultCode(code, msg)
      : new KmaError("service_error", msg || "KMA gateway error");
  }
  const response = doc.response;
  if (isObject(response) && isObject(response.header)) {
    const code = normaliseCode(text(response.header.resultCode));
    if (code && code !== "00") return kmaErrorFromResultCode(code, text(response.header.resultMsg));
  }
  return null;
}

/** Every forecast row of a getVilageFcst body; throws KmaError for error bodies. */
export function parseKmaItems(body: string): KmaItem[] {
  const error = kmaErrorInBody(body);
  if (error) throw error;
  const doc = parseBody(body);
  const response = isObject(doc.response) ? doc.response : null;
  if (!response || !isObject(response.header)) {
    throw new KmaError("bad_response", "KMA answered without a response header");
  }
  const bodyNode = isObject(response.body) ? response.body : null;
  const items = bodyNode && isObject(bodyNode.items) ? bodyNode.items.item : undefined;
  const rows: unknown[] = Array.isArray(items) ? items : isObject(items) ? [items] : [];
  return rows.filter(isObject).map((r) => ({
    baseDate: text(r.baseDate),
    baseTime: text(r.baseTime),
    category: text(r.category),
    fcstDate: text(r.fcstDate),
    fcstTime: text(r.fcstTime),
    fcstValue: text(r.fcstValue),
    nx: Number(text(r.nx)),
    ny: Number(text(r.ny)),
  }));
}

/** `YYYYMMDD` + `HHmm` in KST → epoch ms; NaN when malformed. */
export function kstDateTimeToEpoch(date: string, time: string): number {
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  const t = /^(\d{2})(\d{2})$/.exec(time);
  if (!d || !t) return NaN;
  return Date.UTC(+d[1], +d[2] - 1, +d[3], +t[1], +t[2]) - 9 * HOUR_MS;
}

const WANTED = new Set(["TMP", "POP", "PTY", "PCP", "REH", "SKY"]);

function numberOrNull(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  // KMA marks missing values with -999 / 900+ style sentinels.
  return Number.isFinite(n) && n > -900 && n < 900 ? n : null;
}

/**
 * The forecast for the hour nearest to `now` (the later hour on a tie) among the rows that carry
 * the wanted categories. Throws KmaError("no_data") when there is none.
 */
export function pickWeather(items: readonly KmaItem[], now: number): Weather {
  const hours = new Map<number, Map<string, KmaItem>>();
  for (const item of items) {
    if (!WANTED.has(item.category)) continue;
    const at = kstDateTimeToEpoch(item.fcstDate, item.fcstTime);
    if (!Number.isFinite(at)) continue;
    const byCategory = hours.get(at) ?? new Map<string, KmaItem>();
    byCategory.set(item.category, item);
    hours.set(at, byCategory);
  }
  let best: number | null = null;
  for (const at of hours.keys()) {
    if (
      best === null ||
      Math.abs(at - now) < Math.abs(best - now) ||
      (Math.abs(at - now) === Math.abs(best - now) && at > best)
    ) {
      best = at;
    }
  }
  if (best === null) throw new KmaError("no_data", "KMA returned no usable forecast rows");
  const row = hours.get(best) ?? new Map<string, KmaItem>();
  const value = (category: string) => row.get(category)?.fcstValue;
  const any = [...row.values()][0];
  const pcp = value("PCP");
  const sky = value("SKY");
  const pty = value("PTY");
  return {
    forecastAt: new Date(best).toISOString(),
    baseDate: any.baseDate,
    baseTime: any.baseTime,
    nx: any.nx,
    ny: any.ny,
    temperatureC: numberOrNull(value("TMP")),
    precipitationProbability: numberOrNull(value("POP")),
    precipitationType: pty !== undefined ? (PRECIPITATION_TYPE_BY_CODE[pty] ?? null) : null,
    precipitationMm: pcp !== undefined ? parsePrecipitationAmount(pcp) : null,
    precipitationText: pcp ?? null,
    humidity: numberOrNull(value("REH")),
    sky: sky !== undefined ? (SKY_BY_CODE[sky] ?? null) : null,
  };
}

/** Body → the weather for the hour nearest to `now`. */
export function parseVilageFcst(body: string, now: number): Weather {
  return pickWeather(parseKmaItems(body), now);
}
