/**
 * Every secret and tunable the functions use, declared once. Values are read with `.value()`
 * only inside handlers (never at module load), so deploy-time and emulator values both work.
 * Locally they come from git-ignored `functions/.secret.local` / `functions/.env.local` or the
 * process environment (the local stack sets them).
 */
import { defineInt, defineSecret, defineString } from "firebase-functions/params";

/** 32+ character key that encrypts device secrets at rest (AES-256-GCM). */
export const DEVICE_MASTER_KEY = defineSecret("DEVICE_MASTER_KEY");
/** Google AI Studio key for the best-time tip. Empty = statistics-only tips. */
export const GEMINI_API_KEY = defineSecret("GEMINI_API_KEY");
/** data.go.kr service key for the KMA short-term forecast. Empty = no weather. */
export const KMA_SERVICE_KEY = defineSecret("KMA_SERVICE_KEY");

export const GEMINI_MODEL = defineString("GEMINI_MODEL", { default: "gemini-2.0-flash" });
export const KMA_NX = defineInt("KMA_NX", { default: 60 });
export const KMA_NY = defineInt("KMA_NY", { default: 127 });

/** How long the head of a room's queue may claim a freed machine. */
export const CLAIM_WINDOW_MINUTES = defineInt("CLAIM_WINDOW_MINUTES", { default: 10 });
/**
 * A broken report counts towards the threshold only from an account at least this old (younger
 * accounts' reports are kept for admins but count for nothing), so that a few throwaway accounts
 * cannot take machines out of order.
 */
export const BROKEN_MIN_ACCOUNT_AGE_HOURS = defineInt("BROKEN_MIN_ACCOUNT_AGE_HOURS", {
  default: 24,
});
/** Distinct reporters after which a machine is marked out of order. */
export const BROKEN_REPORT_THRESHOLD = defineInt("BROKEN_REPORT_THRESHOLD", { default: 2 });
/** Silence after which a running machine is shown offline. */
export const OFFLINE_RUNNING_MINUTES = defineInt("OFFLINE_RUNNING_MINUTES", { default: 10 });
/**
 * A running board that sends only state changes (no heartbeat, no raw_data) is shown offline
 * only this long after its cycle's expected end.
 */
export const OFFLINE_REPORT_ONLY_MARGIN_MINUTES = defineInt("OFFLINE_REPORT_ONLY_MARGIN_MINUTES", {
  default: 30,
});
/**
 * Reports, heartbeats and threshold requests one machine may make per second, sustained (each
 * machine may also burst 20 at once). A real board makes one every few minutes.
 */
export const DEVICE_REQUESTS_PER_SECOND = defineInt("DEVICE_REQUESTS_PER_SECOND", { default: 2 });
/** raw_data requests one machine may make per second, sustained (burst 30); firmware sends 1. */
export const DEVICE_RAW_DATA_PER_SECOND = defineInt("DEVICE_RAW_DATA_PER_SECOND", { default: 3 });
/**
 * Plausible cycle lengths in minutes. A cycle outside them (a device clock that jumped, a lost
 * FINISHED) is stored for admins, who are told once, and counted in no statistics.
 */
export const CYCLE_MIN_MINUTES = defineInt("CYCLE_MIN_MINUTES", { default: 5 });
export const CYCLE_MAX_MINUTES_WASHER = defineInt("CYCLE_MAX_MINUTES_WASHER", { default: 240 });
export const CYCLE_MAX_MINUTES_DRYER = defineInt("CYCLE_MAX_MINUTES_DRYER", { default: 300 });
/** Silence after which an idle machine is shown offline. */
export const OFFLINE_IDLE_MINUTES = defineInt("OFFLINE_IDLE_MINUTES", { default: 24 * 60 });
/** "Finishing in N minutes" reminder lead time. */
export const REMINDER_LEAD_MINUTES = defineInt("REMINDER_LEAD_MINUTES", { default: 5 });
/** "Laundry still inside" reminder delay after FINISHED. */
export const LEFTOVER_REMINDER_MINUTES = defineInt("LEFTOVER_REMINDER_MINUTES", { default: 15 });
/** Where notification links point (the PWA). */
export const APP_URL = defineString("APP_URL", { default: "https://demo-washcall.web.app" });
/**
 * How push messages leave: "fcm" (Firebase Cloud Messaging) or "outbox" (recorded to the
 * `outbox` collection: the local stack and tests, where no FCM exists).
 */
export const PUSH_TRANSPORT = defineString("PUSH_TRANSPORT", { default: "fcm" });
