/**
 * The seam between the sender and whatever delivers pushes: FCM in production
 * ({@link createFcmTransport}), the `outbox` collection in the local stack (tools/stack/fcmSink.ts
 * replaces `sendEach`), an in-memory recorder in tests (tools/fcm/recordingTransport.ts). A
 * transport sends one batch and answers one result per message, in order.
 */
import type { BatchResponse, Message, Messaging } from "firebase-admin/messaging";

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
  /** What a newer push replaces while still undelivered: `machine-{id}` (the Topic header). */
  topic: string;
  /** How long FCM keeps trying to deliver, in seconds. */
  ttlSeconds: number;
}

export type PushResult = { ok: true; messageId: string } | { ok: false; code: string };

export interface PushTransport {
  /** Sends 1 to 500 messages (`sendEach`'s limit); one result per message, in order. */
  sendBatch(messages: PushMessage[]): Promise<PushResult[]>;
}

/**
 * PushMessage → firebase-admin `Message`: a visible Web Push notification with `Topic` and `TTL`
 * headers, the data fields plus `link` (for the app's own service worker), and the link as
 * `fcmOptions.link` only when it is HTTPS, as FCM rejects anything else.
 */
export function toFcmMessage(msg: PushMessage): Message {
  // A console notice about a machine document with a bad id carries that id: keep the header valid.
  const Topic = msg.topic.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 32);
  const headers = { TTL: String(Math.max(0, Math.floor(msg.ttlSeconds))), Topic };
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
