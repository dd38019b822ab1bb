/**
 * The seam between the sender and whatever delivers pushes: real FCM in production
 * (fcmTransport.ts), the Firestore outbox in the local stack, an in-memory recorder in tests
 * (tools/fcm/recordingTransport.ts). A transport sends ONE batch (≤ FCM_MAX_BATCH messages) and answers one
 * result per message, in order; batching, retries and token clean-up are the sender's job.
 */
import type { Message } from "firebase-admin/messaging";

/** firebase-admin's `sendEach` refuses more than this many messages per call. */
export const FCM_MAX_BATCH = 500;
/** The Web Push `Topic` header: at most 32 characters of the URL-safe base64 alphabet. */
export const TOPIC_HEADER_MAX = 32;

/** One push to one device token. */
export interface PushMessage {
  /** Owner of the token. Not sent to FCM; lets an outbox or a log say whose message it is. */
  uid: string;
  token: string;
  title: string;
  body: string;
  /** Extra string fields for the client (notification id, machine id, type …). */
  data?: Record<string, string>;
  /** Page the notification opens (the room view). */
  link: string;
  /** What a newer push replaces while still undelivered: one per machine, e.g. `machineTopic(id)`. */
  topic: string;
  /** How long FCM keeps trying to deliver, in seconds. */
  ttlSeconds: number;
  icon?: string;
}

export type PushResult =
  | { ok: true; messageId: string }
  | {
      ok: false;
      /** FCM's error code as firebase-admin reports it, e.g. `messaging/registration-token-not-registered`. */
      code: string;
      /** When the server said how long to wait (HTTP Retry-After), in milliseconds. */
      retryAfterMs?: number;
      /** HTTP status when the transport knows it (429, 500, 503 …). */
      httpStatus?: number;
    };

export interface PushTransport {
  /** Sends one batch (1 ≤ length ≤ FCM_MAX_BATCH). Resolves with one result per message, in order. */
  sendBatch(messages: PushMessage[]): Promise<PushResult[]>;
}

/** FCM error codes the sender acts on (firebase-admin's `error.code`). */
export const FCM_ERROR = {
  tokenNotRegistered: "messaging/registration-token-not-registered",
  invalidToken: "messaging/invalid-registration-token",
  invalidArgument: "messaging/invalid-argument",
  rateExceeded: "messaging/message-rate-exceeded",
  deviceRateExceeded: "messaging/device-message-rate-exceeded",
  topicsRateExceeded: "messaging/topics-message-rate-exceeded",
  tooManyRequests: "messaging/too-many-requests",
  internal: "messaging/internal-error",
  unavailable: "messaging/server-unavailable",
  networkError: "app/network-error",
  networkTimeout: "app/network-timeout",
} as const;

/** The token is dead: FCM will never deliver to it again, so it is removed from the user. */
const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set([
  FCM_ERROR.tokenNotRegistered,
  FCM_ERROR.invalidToken,
]);

/**
 * Throttling (HTTP 429), server trouble (HTTP 5xx) and a dropped connection: worth another try
 * after a pause.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  FCM_ERROR.rateExceeded,
  FCM_ERROR.deviceRateExceeded,
  FCM_ERROR.topicsRateExceeded,
  FCM_ERROR.tooManyRequests,
  FCM_ERROR.internal,
  FCM_ERROR.unavailable,
  FCM_ERROR.networkError,
  FCM_ERROR.networkTimeout,
]);

export function isDeadTokenError(code: string): boolean {
  return DEAD_TOKEN_CODES.has(code);
}

/** 429 or 5xx, by FCM code or by HTTP status. Bad payloads (`invalid-argument`) are not retried. */
export function isRetryableError(code: string, httpStatus?: number): boolean {
  if (RETRYABLE_CODES.has(code)) return true;
  return (
    httpStatus !== undefined && (httpStatus === 429 || (httpStatus >= 500 && httpStatus < 600))
  );
}

const TOPIC_ALPHABET = /[^A-Za-z0-9_-]/g;

/** 32-bit FNV-1a as 8 hex digits: keeps long topics distinct after shortening. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * Any string → a valid Web Push `Topic` header value: characters outside `[A-Za-z0-9_-]` become
 * `_`; longer than 32 → a prefix plus a hash of the whole, so distinct topics stay distinct.
 */
export function webpushTopic(topic: string): string {
  const safe = topic.replace(TOPIC_ALPHABET, "_");
  if (safe.length <= TOPIC_HEADER_MAX) return safe;
  return `${safe.slice(0, TOPIC_HEADER_MAX - 9)}-${fnv1a(topic)}`;
}

/** The topic for everything about one machine: a newer push for it replaces an undelivered one. */
export function machineTopic(machineId: string): string {
  return webpushTopic(`machine-${machineId}`);
}

/**
 * PushMessage → firebase-admin `Message`: a visible Web Push notification, the click-through link,
 * `Topic` and `TTL` headers, and the data fields (plus `link`, so the page can route even where the
 * notification click is handled by the app's own service worker). The link goes to
 * `fcmOptions.link` only when it is HTTPS, as FCM rejects anything else.
 */
export function toFcmMessage(msg: PushMessage): Message {
  const ttl = Math.max(0, Math.floor(msg.ttlSeconds));
  const headers: Record<string, string> = { TTL: String(ttl) };
  const topic = webpushTopic(msg.topic);
  if (topic) headers.Topic = topic;
  const data: Record<string, string> = { ...msg.data, link: msg.link };
  return {
    token: msg.token,
    data,
    webpush: {
      headers,
      notification: {
        title: msg.title,
        body: msg.body,
        ...(msg.icon ? { icon: msg.icon } : {}),
      },
      ...(msg.link.startsWith("https://") ? { fcmOptions: { link: msg.link } } : {}),
    },
  };
}
