/**
 * Reading a getVilageFcst (단기예보) XML response (the client asks for XML) and picking the
 * forecast hour nearest to now. The data.go.kr gateway (`<OpenAPI_ServiceResponse>`, always XML, with a
 * `returnReasonCode`) and the service itself (`resultCode`) report errors in the body, usually
 * with HTTP 200: those, timeouts, HTTP errors and unreadable bodies are {@link KmaError}s. Pure.
 */
import { XMLParser } from "fast-xml-parser";
import { HOUR_MS } from "../../domain/time";
import { PRECIPITATION_TYPES, SKY, type Weather } from "../../domain/weather";

/** KMA's resultCode, or the gateway's returnReasonCode. */
const CODE_BY_RESULT_CODE = {
  "03": "no_data", // the run is not published (yet) or has nothing for the grid
  "10": "invalid_params",
  "11": "invalid_params",
  "20": "access_denied",
  "21": "access_denied", // key disabled
  "22": "request_limit", // the daily quota
  "30": "unregistered_key",
  "31": "expired_key",
  "32": "unregistered_ip",
  "33": "access_denied", // unsigned call
} as const;

export type KmaErrorCode =
  | (typeof CODE_BY_RESULT_CODE)[keyof typeof CODE_BY_RESULT_CODE]
  | "service_error" // any other result code: 01 application, 02 DB, 05 timeout, 99 unknown …
  | "timeout" // no answer within the client's timeout
  | "http" // a non-2xx status without a readable KMA error in the body, or a network failure
  | "bad_response"; // a body that is neither a KMA response nor a KMA error

export class KmaError extends Error {
  constructor(
    readonly code: KmaErrorCode,
    message: string,
    /** KMA's resultCode, when the failure came with one. */
    readonly resultCode: string | null = null,
    /** HTTP status, when the failure came with a non-2xx one. */
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "KmaError";
  }
}

/** The error for a KMA resultCode other than "00"; `message` is KMA's. */
function resultCodeError(resultCode: string, message: string): KmaError {
  const code: KmaErrorCode =
    (CODE_BY_RESULT_CODE as Record<string, KmaErrorCode>)[resultCode] ?? "service_error";
  return new KmaError(code, `KMA ${resultCode}: ${message || code}`, resultCode);
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
const text = (v: unknown): string => (typeof v === "string" ? v.trim() : "");
const objectOrEmpty = (v: unknown): Json => (isObject(v) ? v : {});
/** A result code as text, "3" read as "03". */
const codeText = (v: unknown): string => text(v).replace(/^(\d)$/, "0$1");

function parseBody(body: string): Json {
  const trimmed = body.replace(/^\uFEFF/, "").trim();
  let doc: unknown = null;
  try {
    if (trimmed.startsWith("<")) doc = xml.parse(trimmed);
  } catch {
    // not XML after all
  }
  if (isObject(doc)) return doc;
  throw new KmaError("bad_response", "KMA answered with a body that is not XML");
}

/** The error a parsed body reports (gateway or result code), or null. */
function errorIn(doc: Json): KmaError | null {
  if (isObject(doc.OpenAPI_ServiceResponse)) {
    const header = objectOrEmpty(doc.OpenAPI_ServiceResponse.cmmMsgHeader);
    const code = codeText(header.returnReasonCode);
    const msg = text(header.returnAuthMsg) || text(header.errMsg);
    return code
      ? resultCodeError(code, msg)
      : new KmaError("service_error", msg || "KMA gateway error");
  }
  const header = objectOrEmpty(objectOrEmpty(doc.response).header);
  const code = codeText(header.resultCode);
  return code && code !== "00" ? resultCodeError(code, text(header.resultMsg)) : null;
}

/** The KmaError a body carries, if it is a KMA or gateway error; null otherwise. */
export function kmaErrorInBody(body: string): KmaError | null {
  try {
    return errorIn(parseBody(body));
  } catch {
    return null;
  }
}

/** One row of the forecast, every field as text but the grid cell. */
type KmaItem = ReturnType<typeof parseKmaItems>[number];

/** Every forecast row of a getVilageFcst body; throws KmaError for error bodies. */
export function parseKmaItems(body: string) {
  const doc = parseBody(body);
  const error = errorIn(doc);
  if (error) throw error;
  const response = objectOrEmpty(doc.response);
  if (!isObject(response.header)) {
    throw new KmaError("bad_response", "KMA answered without a response header");
  }
  // `isArray` above: `item` is always an array when present.
  const items = objectOrEmpty(objectOrEmpty(response.body).items).item;
  return (Array.isArray(items) ? (items as unknown[]) : []).filter(isObject).map((r) => ({
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
function kstDateTimeToEpoch(date: string, time: string): number {
  const m = /^(\d{4})(\d{2})(\d{2}) (\d{2})(\d{2})$/.exec(`${date} ${time}`);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) - 9 * HOUR_MS : NaN;
}

/** KMA's code → the value it stands for, in one of domain/weather.ts's code tables. */
function byCode<K extends string>(table: Record<K, { code: string }>): ReadonlyMap<string, K> {
  return new Map(Object.entries<{ code: string }>(table).map(([k, v]) => [v.code, k as K]));
}
const SKY_BY_CODE = byCode(SKY);
const PRECIPITATION_TYPE_BY_CODE = byCode(PRECIPITATION_TYPES);

/** KMA's PCP text → mm ("강수없음" → 0); null when it is not a recognisable amount. */
function parsePrecipitationAmount(t: string): number | null {
  if (t === "" || t === "강수없음" || t === "-" || t === "0") return 0;
  const num = /(\d+(?:\.\d+)?)/.exec(t);
  if (!num) return null;
  const value = Number(num[1]);
  return t.includes("미만") ? value / 2 : value;
}

function numberOrNull(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  // KMA marks missing values with -999 / 900+ style sentinels.
  return Number.isFinite(n) && n > -900 && n < 900 ? n : null;
}

const WANTED = new Set(["TMP", "POP", "PTY", "PCP", "REH", "SKY"]);

/**
 * Body → the forecast for the hour nearest to `now` (the later hour on a tie) among the rows that
 * carry the wanted categories. Throws KmaError("no_data") when there is none.
 */
export function parseVilageFcst(body: string, now: number): Weather {
  const hours = new Map<number, Map<string, KmaItem>>();
  for (const item of parseKmaItems(body)) {
    if (!WANTED.has(item.category)) continue;
    const at = kstDateTimeToEpoch(item.fcstDate, item.fcstTime);
    if (!Number.isFinite(at)) continue;
    const byCategory = hours.get(at) ?? new Map<string, KmaItem>();
    byCategory.set(item.category, item);
    hours.set(at, byCategory);
  }
  const distance = (at: number) => Math.abs(at - now);
  const [best] = [...hours].sort(([a], [b]) => distance(a) - distance(b) || b - a);
  if (!best) throw new KmaError("no_data", "KMA returned no usable forecast rows");
  const [at, row] = best;
  const value = (category: string) => row.get(category)?.fcstValue;
  const any = [...row.values()][0];
  const pcp = value("PCP");
  return {
    forecastAt: new Date(at).toISOString(),
    baseDate: any.baseDate,
    baseTime: any.baseTime,
    nx: any.nx,
    ny: any.ny,
    temperatureC: numberOrNull(value("TMP")),
    precipitationProbability: numberOrNull(value("POP")),
    precipitationType: PRECIPITATION_TYPE_BY_CODE.get(value("PTY") ?? "") ?? null,
    precipitationMm: pcp !== undefined ? parsePrecipitationAmount(pcp) : null,
    precipitationText: pcp ?? null,
    humidity: numberOrNull(value("REH")),
    sky: SKY_BY_CODE.get(value("SKY") ?? "") ?? null,
  };
}
