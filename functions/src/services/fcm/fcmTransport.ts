/**
 * The production transport: one `messaging.sendEach` call per batch (HTTP v1, one request per
 * message over one HTTP/2 session). Nothing happens at module load; the caller passes the
 * `Messaging` handle (`getMessaging()`), so tests and the local stack never touch FCM.
 */
import type { BatchResponse, Messaging, SendResponse } from "firebase-admin/messaging";
import { type PushMessage, type PushResult, type PushTransport, toFcmMessage } from "./transport";

const UNKNOWN = "messaging/unknown-error";

function toResult(response: SendResponse | undefined): PushResult {
  if (response?.success && response.messageId) return { ok: true, messageId: response.messageId };
  const code = response?.error?.code;
  return { ok: false, code: typeof code === "string" && code ? code : UNKNOWN };
}

function toResults(batch: BatchResponse, count: number): PushResult[] {
  return Array.from({ length: count }, (_, i) => toResult(batch.responses[i]));
}

/** A failed HTTP/2 session still carries the answers of the messages already sent. */
function pendingResponse(error: unknown): Promise<BatchResponse> | undefined {
  if (typeof error !== "object" || error === null || !("pendingBatchResponse" in error))
    return undefined;
  const pending = (error as { pendingBatchResponse?: unknown }).pendingBatchResponse;
  return pending instanceof Promise ? (pending as Promise<BatchResponse>) : undefined;
}

export function createFcmTransport(messaging: Messaging): PushTransport {
  return {
    async sendBatch(messages: PushMessage[]): Promise<PushResult[]> {
      if (messages.length === 0) return [];
      try {
        const batch = await messaging.sendEach(messages.map(toFcmMessage));
        return toResults(batch, messages.length);
      } catch (error) {
        // Prefer per-message answers over a whole-batch failure, so messages that did go out are
        // not sent twice by a retry.
        const pending = pendingResponse(error);
        if (!pending) throw error;
        const batch = await pending.catch(() => undefined);
        if (!batch || batch.responses.length !== messages.length) throw error;
        return toResults(batch, messages.length);
      }
    },
  };
}
