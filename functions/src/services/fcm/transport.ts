/**
 * The seam between the sender and whatever delivers pushes: FCM in production
 * ({@link createFcmTransport}), the `outbox` collection in the local stack (tools/stack/fcmSink.ts
 * replaces `sendEach`), an in-memory recorder in tests (tools/fcm/recordingTransport.ts). A
 * transport sends one batch and answers one result per message, in order.
 */
import type { BatchResponse, Message, Messaging } from "firebase-admin/messaging";

/** firebase-admin's `sendEach` refuses more than this many messages per call. */
export const FCM_MAX_BATCH = 500;

/** One push to one device token. */
export interface PushMessage {
  /** Owner of the token: not sent to FCM, but lets an outbox or a log say whose message it is. */
  uid: string;
  token: string;
  title: string;
  body: string;
  data?: Record<string, string>;
  /** Page the notification opens. */
  link: string;
  /** What a newer push replaces while still undelivered (one per machine). */
  topic: string;
  /** How long FCM keeps trying to deliver, in seconds. */
  ttlSeconds: number;
}

export type PushResult =
  | { ok: true; messageId: string }
  | { ok: false; code: string; retryAfterMs?: number; httpStatus?: number };

export interface PushTransport {
  /** Sends 1 to {@link FCM_MAX_BATCH} messages; one result per message, in order. */
  sendBatch(messages: PushMessage[]): Promise<PushResult[]>;
}

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
 * Any string → a Web Push `Topic` header (at most 32 characters of `[A-Za-z0-9_-]`): other
 * characters become `_`, a longer one a prefix plus a hash of the whole.
 */
export function webpushTopic(topic: string): string {
  const safe = topic.replace(/[^A-Za-z0-9_-]/g, "_");
  return safe.length <= 32 ? safe : `${safe.slice(0, 23)}-${fnv1a(topic)}`;
}

/**
 * PushMessage → firebase-admin `Message`: a visible Web Push notification with `Topic` and `TTL`
 * headers, the data fields plus `link` (for the app's own service worker), and the link as
 * `fcmOptions.link` only when it is HTTPS, as FCM rejects anything else.
 */
export function toFcmMessage(msg: PushMessage): Message {
  const headers: Record<string, string> = { TTL: String(Math.max(0, Math.floor(msg.ttlSeconds))) };
  const topic = webpushTopic(msg.topic);
  if (topic) headers.Topic = topic;
  return {
    token: msg.token,
    data: { ...msg.data, link: msg.link },
    webpush: {
      headers,
      notification: { title: msg.title, body: msg.body },
      ...(msg.link.startsWith("https://") ? { fcmOptions: { link: msg.link } } : {}),
    },
  };
}

/** The production transport: one `messaging.sendEach` (HTTP/2, one request a message) per batch. */
export function createFcmTransport(messaging: Messaging): PushTransport {
  return {
    async sendBatch(messages) {
      const batch = await messaging
        .sendEach(messages.map(toFcmMessage))
        .catch(async (error: unknown) => {
          // A failed session still carries the answers of the messages already sent: use them,
          // so that a retry does not send those twice.
          const pending = (error as { pendingBatchResponse?: unknown } | null)
            ?.pendingBatchResponse;
          const answered = await Promise.resolve(pending as BatchResponse | undefined).catch(
            () => undefined,
          );
          if (answered?.responses.length !== messages.length) throw error;
          return answered;
        });
      return messages.map((_, i): PushResult => {
        const r = batch.responses[i];
        if (r?.success && r.messageId) return { ok: true, messageId: r.messageId };
        return { ok: false, code: r?.error?.code || "messaging/unknown-error" };
      });
    },
  };
}
