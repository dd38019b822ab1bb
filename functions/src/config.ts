/**
 * Every secret and tunable the functions use, declared once with its description (the Firebase
 * CLI shows it at deploy) and its default; a default a domain rule owns is that rule's constant.
 * Handlers read them once per invocation with {@link readSettings}, never at module load, so
 * deploy-time and emulator values both work; secrets are read by the handlers that bind them.
 * Locally they come from git-ignored `functions/.secret.local` / `functions/.env.local` or the
 * process environment (the local stack sets them).
 */
import { defineInt, defineSecret, defineString } from "firebase-functions/params";
import { type CycleBounds, DEFAULT_CYCLE_BOUNDS } from "./domain/apply";
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from "./domain/presence";
import { DEFAULT_CLAIM_WINDOW_MINUTES } from "./domain/queue";
import { DEFAULT_LEFTOVER_MINUTES, DEFAULT_SOON_MINUTES } from "./domain/reminders";

/** 32+ character key that encrypts device secrets at rest (AES-256-GCM). */
export const DEVICE_MASTER_KEY = defineSecret("DEVICE_MASTER_KEY");
/** Google AI Studio key for the best-time tip. Empty or "none" = statistics-only tips. */
export const GEMINI_API_KEY = defineSecret("GEMINI_API_KEY");
/** data.go.kr service key for the KMA short-term forecast. Empty or "none" = no weather. */
export const KMA_SERVICE_KEY = defineSecret("KMA_SERVICE_KEY");

const DEFAULT_APP_URL = "https://demo-washcall.web.app";
const DEFAULT_GEMINI_MODEL = "gemini-2.0-flash";

const APP_URL = defineString("APP_URL", {
  default: DEFAULT_APP_URL,
  description: "The PWA's URL: where notification links point",
});
const GEMINI_MODEL = defineString("GEMINI_MODEL", {
  default: DEFAULT_GEMINI_MODEL,
  description: "Gemini model that writes the best-time-to-wash tip",
});

/**
 * An int param and its reader; a value below `min` (a misconfiguration) reads as the default.
 * Outside a deploy the local stack and the tests export every param's default to the environment
 * first (tools/stack/paramDefaults.ts), as the CLI does at deploy.
 */
function intParam(name: string, fallback: number, description: string, min = 1) {
  const param = defineInt(name, { default: fallback, description });
  return () => {
    const v = param.value();
    return Number.isInteger(v) && v >= min ? v : fallback;
  };
}

const P = DEFAULT_PRESENCE_LIMITS;
const B = DEFAULT_CYCLE_BOUNDS;
const int = {
  claimWindow: intParam(
    "CLAIM_WINDOW_MINUTES",
    DEFAULT_CLAIM_WINDOW_MINUTES,
    "Minutes the head of a room's queue has to claim a freed machine",
  ),
  brokenMinAge: intParam(
    "BROKEN_MIN_ACCOUNT_AGE_HOURS",
    24,
    "A broken report counts only from an account at least this many hours old (younger accounts' reports are kept for admins), so throwaway accounts cannot take machines out of order",
    0,
  ),
  brokenThreshold: intParam(
    "BROKEN_REPORT_THRESHOLD",
    2,
    "Distinct reporters after which a machine is marked out of order",
  ),
  offlineRunning: intParam(
    "OFFLINE_RUNNING_MINUTES",
    P.runningMinutes,
    "Silence after which a running machine that was sending liveness traffic is shown offline",
  ),
  offlineReportOnly: intParam(
    "OFFLINE_REPORT_ONLY_MARGIN_MINUTES",
    P.reportOnlyMarginMinutes,
    "A running board that sends only state changes is shown offline this long after its cycle's expected end",
    0,
  ),
  offlineIdle: intParam(
    "OFFLINE_IDLE_MINUTES",
    P.idleMinutes,
    "Silence after which an idle machine is shown offline",
  ),
  deviceRequests: intParam(
    "DEVICE_REQUESTS_PER_SECOND",
    2,
    "Reports, heartbeats and threshold requests one machine may make per second, sustained (bursts of 20 allowed)",
  ),
  deviceRawData: intParam(
    "DEVICE_RAW_DATA_PER_SECOND",
    3,
    "raw_data requests one machine may make per second, sustained (bursts of 30)",
  ),
  cycleMin: intParam(
    "CYCLE_MIN_MINUTES",
    B.washer.minMinutes,
    "Shorter cycles are implausible: stored for admins, counted in no statistics",
    0,
  ),
  cycleMaxWasher: intParam(
    "CYCLE_MAX_MINUTES_WASHER",
    B.washer.maxMinutes,
    "Longer washer cycles are implausible: stored for admins, counted in no statistics",
  ),
  cycleMaxDryer: intParam(
    "CYCLE_MAX_MINUTES_DRYER",
    B.dryer.maxMinutes,
    "Longer dryer cycles are implausible: stored for admins, counted in no statistics",
  ),
  soon: intParam(
    "REMINDER_LEAD_MINUTES",
    DEFAULT_SOON_MINUTES,
    'Lead time of the "finishing in N minutes" reminder',
  ),
  leftover: intParam(
    "LEFTOVER_REMINDER_MINUTES",
    DEFAULT_LEFTOVER_MINUTES,
    'Delay after FINISHED of the "laundry still inside" reminder',
  ),
  // The KMA grid cell of the site (Seoul, Jongno-gu).
  kmaNx: intParam("KMA_NX", 60, "KMA forecast grid x of the laundry rooms' site"),
  kmaNy: intParam("KMA_NY", 127, "KMA forecast grid y of the laundry rooms' site"),
  kmaTimeout: intParam("KMA_TIMEOUT_MS", 5_000, "Milliseconds a KMA forecast request may take"),
  geminiTimeout: intParam("GEMINI_TIMEOUT_MS", 8_000, "Milliseconds a Gemini tip may take"),
  tipLeaseWait: intParam(
    "TIP_LEASE_WAIT_MS",
    3_000,
    "Milliseconds a tip request waits for another's",
    0,
  ),
};

/** Every non-secret setting of one invocation, with the defaults where a value is unset. */
export type Settings = ReturnType<typeof readSettings>;

/** Reads every param once. Call it at the start of a handler, never at module load. */
export function readSettings() {
  const minMinutes = int.cycleMin();
  return {
    appUrl: APP_URL.value() || DEFAULT_APP_URL,
    claimWindowMinutes: int.claimWindow(),
    cycleBounds: {
      washer: { minMinutes, maxMinutes: int.cycleMaxWasher() },
      dryer: { minMinutes, maxMinutes: int.cycleMaxDryer() },
    } satisfies CycleBounds,
    presence: {
      runningMinutes: int.offlineRunning(),
      idleMinutes: int.offlineIdle(),
      reportOnlyMarginMinutes: int.offlineReportOnly(),
      unknownEndMinutes: P.unknownEndMinutes,
    } satisfies PresenceLimits,
    reminders: { soonMinutes: int.soon(), leftoverMinutes: int.leftover() },
    broken: { threshold: int.brokenThreshold(), minAccountAgeHours: int.brokenMinAge() },
    device: { requestsPerSecond: int.deviceRequests(), rawDataPerSecond: int.deviceRawData() },
    gemini: {
      model: GEMINI_MODEL.value().trim() || DEFAULT_GEMINI_MODEL,
      timeoutMs: int.geminiTimeout(),
    },
    kma: { nx: int.kmaNx(), ny: int.kmaNy(), timeoutMs: int.kmaTimeout() },
    tipLeaseWaitMs: int.tipLeaseWait(),
  };
}
