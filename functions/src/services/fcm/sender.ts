/**
 * Sends one notification to one user's devices (a push document has one user, store/pushes.ts; a
 * user keeps at most 10 tokens, store/users.ts, so one `sendEach` call a round): retry rounds for
 * throttling and server errors (FCM's rate and internal codes, a dropped connection, a call that
 * threw) with capped exponential backoff and jitter; the tokens FCM calls unregistered or invalid
 * are reported dead (never those of a bad payload). Never throws. Logs carry the uid, counts and
 * codes, never a token.
 */
import { setTimeout as delay } from "node:timers/promises";
import * as logger from "firebase-functions/logger";
import type { PushMessage, PushResult, PushTransport } from "./transport";

/** What every device of the user shows. */
export type PushPayload = Omit<PushMessage, "uid" | "token">;

export const RETRY = {
  /** Rounds after the first send. */
  maxRetries: 4,
  /** Round n waits a random time in [d/2, d], d = min(maxDelayMs, baseDelayMs·2^(n-1)). */
  baseDelayMs: 500,
  maxDelayMs: 8000,
} as const;

export interface SendReport {
  sent: number;
  /** Messages that finally failed, dead tokens included. */
  failed: number;
  /** Tokens FCM called unregistered or invalid: the caller removes them from the user. */
  deadTokens: string[];
}

/** A transport call that threw (network, session, credentials): retried like a server error. */
const CALL_THREW = "transport/batch-failed";
/** FCM's error codes (firebase-admin's `error.code`) the sender acts on. */
const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set([
  "messaging/registration-token-not-registered",
  "messaging/invalid-registration-token",
]);
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  CALL_THREW,
  "messaging/message-rate-exceeded",
  "messaging/device-message-rate-exceeded",
  "messaging/topics-message-rate-exceeded",
  "messaging/too-many-requests",
  "messaging/internal-error",
  "messaging/server-unavailable",
  "app/network-error",
  "app/network-timeout",
]);

/** An error's message with the user's tokens cut out, so that it can be logged. */
function redacted(error: unknown, tokens: readonly string[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const token of tokens) if (token) text = text.split(token).join("<token>");
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
    let results: PushResult[];
    try {
      results = await transport.sendBatch(pending);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      logger.warn("push call threw", { uid, round, code, error: redacted(error, tokens) });
      results = pending.map(() => ({ ok: false, code: CALL_THREW }));
    }
    const retry: PushMessage[] = [];
    pending.forEach((message, j) => {
      const result = results[j] ?? { ok: false, code: "transport/no-result" };
      if (result.ok) {
        report.sent += 1;
      } else if (round < RETRY.maxRetries && RETRYABLE_CODES.has(result.code)) {
        retry.push(message);
      } else {
        report.failed += 1;
        failuresByCode[result.code] = (failuresByCode[result.code] ?? 0) + 1;
        if (DEAD_TOKEN_CODES.has(result.code)) report.deadTokens.push(message.token);
      }
    });
    if (retry.length === 0) break;
    const ceiling = Math.min(RETRY.maxDelayMs, RETRY.baseDelayMs * 2 ** round);
    const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    logger.info("push retry", { uid, round: round + 1, messages: retry.length, delayMs });
    await delay(delayMs);
    pending = retry;
  }
  if (report.failed > 0) {
    logger.warn("push failures", { uid, sent: report.sent, failed: report.failed, failuresByCode });
  }
  return report;
}
