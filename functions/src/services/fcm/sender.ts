/**
 * Sends one notification to one user's devices (a push document has one user, store/pushes.ts):
 * batches of at most 500; retry rounds for throttling and server errors (429, 5xx, a dropped
 * connection, a batch that threw) with capped exponential backoff and jitter, waiting at least
 * as long as a Retry-After; the tokens FCM calls unregistered or invalid are reported dead (never
 * those of a bad payload). Never throws. Logs carry the uid, counts and codes, never a token.
 */
import { setTimeout as delay } from "node:timers/promises";
import * as logger from "firebase-functions/logger";
import { FCM_MAX_BATCH, type PushMessage, type PushResult, type PushTransport } from "./transport";

/** What every device of the user shows. */
export type PushPayload = Omit<PushMessage, "uid" | "token">;

export const RETRY = {
  /** Rounds after the first send. */
  maxRetries: 4,
  /** Round n waits a random time in [d/2, d], d = min(maxDelayMs, baseDelayMs·2^(n-1)). */
  baseDelayMs: 500,
  maxDelayMs: 8000,
  /** A message the server asks to hold longer than this (Retry-After) is counted failed. */
  maxRetryAfterMs: 30_000,
} as const;

export interface SendReport {
  sent: number;
  /** Messages that finally failed, dead tokens included. */
  failed: number;
  /** Tokens FCM called unregistered or invalid: the caller removes them from the user. */
  deadTokens: string[];
}

/** A batch whose transport call threw (network, session, credentials): retried like a 5xx. */
const BATCH_THREW = "transport/batch-failed";
/** FCM's error codes (firebase-admin's `error.code`) the sender acts on. */
const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set([
  "messaging/registration-token-not-registered",
  "messaging/invalid-registration-token",
]);
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  BATCH_THREW,
  "messaging/message-rate-exceeded",
  "messaging/device-message-rate-exceeded",
  "messaging/topics-message-rate-exceeded",
  "messaging/too-many-requests",
  "messaging/internal-error",
  "messaging/server-unavailable",
  "app/network-error",
  "app/network-timeout",
]);

function isRetryable({ code, httpStatus = 0 }: { code: string; httpStatus?: number }): boolean {
  return RETRYABLE_CODES.has(code) || httpStatus === 429 || (httpStatus >= 500 && httpStatus < 600);
}

/** An error's message with the batch's tokens cut out, so that it can be logged. */
function redacted(error: unknown, batch: PushMessage[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const { token } of batch) if (token) text = text.split(token).join("<token>");
  return text.slice(0, 300);
}

export async function sendToUser(
  transport: PushTransport,
  uid: string,
  tokens: readonly string[],
  payload: PushPayload,
): Promise<SendReport> {
  const report: SendReport = { sent: 0, failed: 0, deadTokens: [] };
  const failuresByCode: Record<string, number> = {};
  let pending: PushMessage[] = tokens.map((token) => ({ ...payload, uid, token }));
  for (let round = 0; pending.length > 0; round++) {
    const retry: PushMessage[] = [];
    let retryAfterMs = 0;
    for (let i = 0; i < pending.length; i += FCM_MAX_BATCH) {
      const batch = pending.slice(i, i + FCM_MAX_BATCH);
      let results: PushResult[];
      try {
        results = await transport.sendBatch(batch);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        logger.warn("push batch threw", {
          uid,
          size: batch.length,
          round,
          code,
          error: redacted(error, batch),
        });
        results = batch.map(() => ({ ok: false, code: BATCH_THREW }));
      }
      batch.forEach((message, j) => {
        const result = results[j] ?? { ok: false, code: "transport/no-result" };
        if (result.ok) {
          report.sent += 1;
        } else if (
          round < RETRY.maxRetries &&
          isRetryable(result) &&
          (result.retryAfterMs ?? 0) <= RETRY.maxRetryAfterMs
        ) {
          retry.push(message);
          retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs ?? 0);
        } else {
          report.failed += 1;
          failuresByCode[result.code] = (failuresByCode[result.code] ?? 0) + 1;
          if (DEAD_TOKEN_CODES.has(result.code)) report.deadTokens.push(message.token);
        }
      });
    }
    if (retry.length === 0) break;
    const ceiling = Math.min(RETRY.maxDelayMs, RETRY.baseDelayMs * 2 ** round);
    const delayMs = Math.max(Math.round(ceiling / 2 + (Math.random() * ceiling) / 2), retryAfterMs);
    logger.info("push retry", { uid, round: round + 1, messages: retry.length, delayMs });
    await delay(delayMs);
    pending = retry;
  }
  if (report.failed > 0) {
    logger.warn("push failures", { uid, sent: report.sent, failed: report.failed, failuresByCode });
  }
  return report;
}
