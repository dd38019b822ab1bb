/**
 * Every secret and tunable the functions use, declared once, each with a description (the
 * Firebase CLI shows it at deploy) and its default. A default that a domain rule owns is that
 * rule's constant (e.g. the claim window is domain/queue.ts's), so each value is written once.
 * Handlers read them once per invocation with {@link readSettings} (never at module load), so
 * deploy-time and emulator values both work; secrets are read by the handlers that bind them. Locally they come from git-ignored `functions/.secret.local` /
 * `functions/.env.local` or the process environment (the local stack sets them).
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

/** The Gemini model of the tip, and the KMA grid cell of the site (Seoul, Jongno-gu). */
export const DEFAULT_GEMINI_MODEL = "gemini-2.0-flash";
export const DEFAULT_KMA_GRID = { nx: 60, ny: 127 } as const;
/** Distinct reporters after which a machine is marked out of order. */
export const DEFAULT_BROKEN_REPORT_THRESHOLD = 2;

export const GEMINI_MODEL = defineString("GEMINI_MODEL", {
  default: DEFAULT_GEMINI_MODEL,
  description: "Gemini model that writes the best-time-to-wash tip",
});
export const KMA_NX = defineInt("KMA_NX", {
  default: DEFAULT_KMA_GRID.nx,
  description: "KMA forecast grid x of the laundry rooms' site",
});
export const KMA_NY = defineInt("KMA_NY", {
  default: DEFAULT_KMA_GRID.ny,
  description: "KMA forecast grid y of the laundry rooms' site",
});

export const CLAIM_WINDOW_MINUTES = defineInt("CLAIM_WINDOW_MINUTES", {
  default: DEFAULT_CLAIM_WINDOW_MINUTES,
  description: "Minutes the head of a room's queue has to claim a freed machine",
});
export const BROKEN_MIN_ACCOUNT_AGE_HOURS = defineInt("BROKEN_MIN_ACCOUNT_AGE_HOURS", {
  default: 24,
  description:
    "A broken report counts only from an account at least this many hours old (younger accounts' reports are kept for admins), so throwaway accounts cannot take machines out of order",
});
export const BROKEN_REPORT_THRESHOLD = defineInt("BROKEN_REPORT_THRESHOLD", {
  default: DEFAULT_BROKEN_REPORT_THRESHOLD,
  description: "Distinct reporters after which a machine is marked out of order",
});
export const OFFLINE_RUNNING_MINUTES = defineInt("OFFLINE_RUNNING_MINUTES", {
  default: DEFAULT_PRESENCE_LIMITS.runningMinutes,
  description:
    "Silence after which a running machine that was sending liveness traffic is shown offline",
});
export const OFFLINE_REPORT_ONLY_MARGIN_MINUTES = defineInt("OFFLINE_REPORT_ONLY_MARGIN_MINUTES", {
  default: DEFAULT_PRESENCE_LIMITS.reportOnlyMarginMinutes,
  description:
    "A running board that sends only state changes is shown offline this long after its cycle's expected end",
});
export const DEVICE_REQUESTS_PER_SECOND = defineInt("DEVICE_REQUESTS_PER_SECOND", {
  default: 2,
  description:
    "Reports, heartbeats and threshold requests one machine may make per second, sustained (bursts of 20 allowed)",
});
export const DEVICE_RAW_DATA_PER_SECOND = defineInt("DEVICE_RAW_DATA_PER_SECOND", {
  default: 3,
  description: "raw_data requests one machine may make per second, sustained (bursts of 30)",
});
export const CYCLE_MIN_MINUTES = defineInt("CYCLE_MIN_MINUTES", {
  default: DEFAULT_CYCLE_BOUNDS.washer.minMinutes,
  description: "Shorter cycles are implausible: stored for admins, counted in no statistics",
});
export const CYCLE_MAX_MINUTES_WASHER = defineInt("CYCLE_MAX_MINUTES_WASHER", {
  default: DEFAULT_CYCLE_BOUNDS.washer.maxMinutes,
  description: "Longer washer cycles are implausible: stored for admins, counted in no statistics",
});
export const CYCLE_MAX_MINUTES_DRYER = defineInt("CYCLE_MAX_MINUTES_DRYER", {
  default: DEFAULT_CYCLE_BOUNDS.dryer.maxMinutes,
  description: "Longer dryer cycles are implausible: stored for admins, counted in no statistics",
});
export const OFFLINE_IDLE_MINUTES = defineInt("OFFLINE_IDLE_MINUTES", {
  default: DEFAULT_PRESENCE_LIMITS.idleMinutes,
  description: "Silence after which an idle machine is shown offline",
});
export const REMINDER_LEAD_MINUTES = defineInt("REMINDER_LEAD_MINUTES", {
  default: DEFAULT_SOON_MINUTES,
  description: 'Lead time of the "finishing in N minutes" reminder',
});
export const LEFTOVER_REMINDER_MINUTES = defineInt("LEFTOVER_REMINDER_MINUTES", {
  default: DEFAULT_LEFTOVER_MINUTES,
  description: 'Delay after FINISHED of the "laundry still inside" reminder',
});
export const APP_URL = defineString("APP_URL", {
  default: "https://demo-washcall.web.app",
  description: "The PWA's URL: where notification links point",
});
/** Every non-secret setting of one invocation, with the defaults where a value is unset. */
export interface Settings {
  appUrl: string;
  claimWindowMinutes: number;
  cycleBounds: CycleBounds;
  presence: PresenceLimits;
  reminders: { soonMinutes: number; leftoverMinutes: number };
  broken: { threshold: number; minAccountAgeHours: number };
  device: { requestsPerSecond: number; rawDataPerSecond: number };
  gemini: { model: string };
  kma: { nx: number; ny: number };
}

/**
 * Reads every param once. Call it at the start of a handler, never at module load. Outside a
 * deploy (a process without the CLI's environment) an unset int param reads 0: the default then
 * stands in, as it would have been deployed.
 */
export function readSettings(): Settings {
  const int = (p: { value(): number }, fallback: number, min = 1) => {
    const v = p.value();
    return Number.isInteger(v) && v >= min ? v : fallback;
  };
  const minMinutes = int(CYCLE_MIN_MINUTES, DEFAULT_CYCLE_BOUNDS.washer.minMinutes, 0);
  return {
    appUrl: APP_URL.value() || "https://demo-washcall.web.app",
    claimWindowMinutes: int(CLAIM_WINDOW_MINUTES, DEFAULT_CLAIM_WINDOW_MINUTES),
    cycleBounds: {
      washer: {
        minMinutes,
        maxMinutes: int(CYCLE_MAX_MINUTES_WASHER, DEFAULT_CYCLE_BOUNDS.washer.maxMinutes),
      },
      dryer: {
        minMinutes,
        maxMinutes: int(CYCLE_MAX_MINUTES_DRYER, DEFAULT_CYCLE_BOUNDS.dryer.maxMinutes),
      },
    },
    presence: {
      runningMinutes: int(OFFLINE_RUNNING_MINUTES, DEFAULT_PRESENCE_LIMITS.runningMinutes),
      idleMinutes: int(OFFLINE_IDLE_MINUTES, DEFAULT_PRESENCE_LIMITS.idleMinutes),
      reportOnlyMarginMinutes: int(
        OFFLINE_REPORT_ONLY_MARGIN_MINUTES,
        DEFAULT_PRESENCE_LIMITS.reportOnlyMarginMinutes,
        0,
      ),
      unknownEndMinutes: DEFAULT_PRESENCE_LIMITS.unknownEndMinutes,
    },
    reminders: {
      soonMinutes: int(REMINDER_LEAD_MINUTES, DEFAULT_SOON_MINUTES),
      leftoverMinutes: int(LEFTOVER_REMINDER_MINUTES, DEFAULT_LEFTOVER_MINUTES),
    },
    broken: {
      threshold: int(BROKEN_REPORT_THRESHOLD, DEFAULT_BROKEN_REPORT_THRESHOLD),
      minAccountAgeHours: int(BROKEN_MIN_ACCOUNT_AGE_HOURS, 24, 0),
    },
    device: {
      requestsPerSecond: int(DEVICE_REQUESTS_PER_SECOND, 2),
      rawDataPerSecond: int(DEVICE_RAW_DATA_PER_SECOND, 3),
    },
    gemini: { model: GEMINI_MODEL.value().trim() || DEFAULT_GEMINI_MODEL },
    kma: { nx: int(KMA_NX, DEFAULT_KMA_GRID.nx), ny: int(KMA_NY, DEFAULT_KMA_GRID.ny) },
  };
}
