export { KMA_PUBLISH_DELAY_MINUTES, KMA_SLOT_HOURS, kmaBaseTime, previousSlot } from "./baseTime";
export type { KmaSlot } from "./baseTime";
export {
  KMA_CACHE_TTL_MS,
  KMA_DEFAULT_BASE_URL,
  KMA_DEFAULT_ROWS,
  KMA_DEFAULT_TIMEOUT_MS,
  KMA_STALE_CACHE_TTL_MS,
  createKmaClient,
  kmaCacheKey,
} from "./client";
export type { KmaClient, KmaClientOptions, WeatherCache } from "./client";
export { KmaError, kmaErrorFromResultCode } from "./errors";
export type { KmaErrorCode } from "./errors";
export {
  kmaErrorInBody,
  kstDateTimeToEpoch,
  parseKmaItems,
  parseVilageFcst,
  pickWeather,
} from "./parse";
export type { KmaDataType, KmaItem } from "./parse";
