/**
 * Sends one notification to many users' devices through a PushTransport:
 * - ignores tokens not refreshed for `staleAfterDays` (default 60);
 * - sends each device token once, in batches of at most 500;
 * - retries only the messages that failed with throttling/server errors (429, 5xx, a dropped
 *   connection, a batch that threw), with bounded exponential backoff plus jitter, waiting at
 *   least as long as a Retry-After the server gave;
 * - deletes exactly the tokens FCM calls unregistered or invalid, never those of a bad payload;
 * - keeps going whatever one batch or one user does: every failure is counted, none is thrown.
 * Tokens are never logged: logs carry counts, error codes and uids.
 */
import * as logger from "firebase-functions/logger";
import { DAY_MS } from "../../domain/time";
import {
  FCM_MAX_BATCH,
  type PushMessage,
  type PushResult,
  type PushTransport,
  isDeadTokenError,
  isRetryableError,
} from "./transport";

export interface PushToken {
  token: string;
  /** Epoch ms of the last time the client re-registered the token (`set_fcm_token`). */
  lastRefreshedAt: number;
}

export interface PushRecipient {
  uid: string;
  tokens: PushToken[];
}

/** What every device of a recipient shows: a message without its addressee. */
export type PushPayload = Omit<PushMessage, "uid" | "token">;

export interface TokenStore {
  /** Removes these tokens from the user (missing ones are not an error). */
  deleteTokens(uid: string, tokens: string[]): Promise<void>;
}

export interface SendDeps {
  transport: PushTransport;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  tokenStore: TokenStore;
  /** [0, 1) source for the jitter; Math.random when omitted. */
  random?: () => number;
  /** Retry rounds after the first send (so at most maxRetries + 1 tries per message). Default 4. */
  maxRetries?: number;
  /** Backoff before retry round n is drawn from [d/2, d], d = min(maxDelayMs, baseDelayMs·2^(n-1)). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A server asking to wait longer than this (Retry-After) gets its messages counted failed. Default 30 s. */
  maxRetryAfterMs?: number;
  staleAfterDays?: number;
  /** Messages per transport call, capped at FCM's 500. */
  batchSize?: number;
}

export interface SendReport {
  /** Messages FCM accepted. */
  sent: number;
  /** Messages that finally failed (dead tokens included). sent + failed = devices tried. */
  failed: number;
  /** Tokens removed from their users because FCM called them unregistered or invalid. */
  deletedTokens: number;
  /** Tokens not refreshed within staleAfterDays, not sent to. */
  skippedStale: number;
  /** Transport calls made, retries included. */
  batches: number;
}

export const PUSH_DEFAULTS = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 30_000,
  staleAfterDays: 60,
} as const;

/** A whole batch rejected (network, session, credentials): retried like a 5xx. */
export const BATCH_THREW = "transport/batch-failed";
/** The transport answered fewer results than messages. */
const NO_RESULT = "transport/no-result";

/** The backoff before retry round `attempt` (1-based): in [d/2, d], d = min(max, base·2^(attempt-1)). */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** An error's message with any of the batch's tokens cut out, so it can be logged. */
function redactedMessage(error: unknown, batch: PushMessage[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const m of batch)
    if (m.token && text.includes(m.token)) text = text.split(m.token).join("<token>");
  return text.slice(0, 300);
}

export async function sendToUsers<R extends PushRecipient>(
  recipients: R[],
  payload: PushPayload | ((recipient: R) => PushPayload),
  deps: SendDeps,
): Promise<SendReport> {
  const maxRetries = Math.max(0, deps.maxRetries ?? PUSH_DEFAULTS.maxRetries);
  const baseDelayMs = deps.baseDelayMs ?? PUSH_DEFAULTS.baseDelayMs;
  const maxDelayMs = deps.maxDelayMs ?? PUSH_DEFAULTS.maxDelayMs;
  const maxRetryAfterMs = deps.maxRetryAfterMs ?? PUSH_DEFAULTS.maxRetryAfterMs;
  const staleAfterDays = deps.staleAfterDays ?? PUSH_DEFAULTS.staleAfterDays;
  const batchSize = Math.min(FCM_MAX_BATCH, Math.max(1, deps.batchSize ?? FCM_MAX_BATCH));
  const random = deps.random ?? Math.random;

  const report: SendReport = { sent: 0, failed: 0, deletedTokens: 0, skippedStale: 0, batches: 0 };
  const failuresByCode: Record<string, number> = {};
  const failedUids = new Set<string>();
  const countFailure = (uid: string, code: string) => {
    report.failed += 1;
    failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
    failedUids.add(uid);
  };

  // 1. One message per fresh token. A token listed twice (same user, or a device that changed
  //    account) is sent once; if it turns out dead it is removed from every user holding it.
  const cutoff = deps.now() - staleAfterDays * DAY_MS;
  const owners = new Map<string, Set<string>>();
  let pending: PushMessage[] = [];
  for (const recipient of recipients) {
    const fresh: PushToken[] = [];
    for (const t of recipient.tokens) {
      if (!t.token) continue;
      if (!Number.isFinite(t.lastRefreshedAt) || t.lastRefreshedAt < cutoff) {
        report.skippedStale += 1;
        continue;
      }
      const holders = owners.get(t.token);
      if (holders) {
        holders.add(recipient.uid);
        continue;
      }
      owners.set(t.token, new Set([recipient.uid]));
      fresh.push(t);
    }
    if (fresh.length === 0) continue;
    let content: PushPayload;
    try {
      content = typeof payload === "function" ? payload(recipient) : payload;
    } catch (error) {
      logger.error("push payload failed", {
        uid: recipient.uid,
        tokens: fresh.length,
        error: String(error),
      });
      for (let i = 0; i < fresh.length; i++) countFailure(recipient.uid, "payload/error");
      continue;
    }
    for (const t of fresh) pending.push({ ...content, uid: recipient.uid, token: t.token });
  }

  // 2. Send, then retry what is worth retrying, a bounded number of rounds.
  const deadTokens = new Set<string>();
  for (let attempt = 0; pending.length > 0; attempt++) {
    const retry: PushMessage[] = [];
    let retryAfterMs = 0;
    for (const batch of chunks(pending, batchSize)) {
      report.batches += 1;
      let results: PushResult[];
      try {
        results = await deps.transport.sendBatch(batch);
      } catch (error) {
        logger.warn("push batch threw", {
          size: batch.length,
          attempt,
          code: errorCode(error),
          error: redactedMessage(error, batch),
        });
        results = batch.map(() => ({ ok: false, code: BATCH_THREW }));
      }
      batch.forEach((message, i) => {
        const result: PushResult = results[i] ?? { ok: false, code: NO_RESULT };
        if (result.ok) {
          report.sent += 1;
        } else if (isDeadTokenError(result.code)) {
          deadTokens.add(message.token);
          countFailure(message.uid, result.code);
        } else if (
          (result.code === BATCH_THREW || isRetryableError(result.code, result.httpStatus)) &&
          attempt < maxRetries &&
          (result.retryAfterMs ?? 0) <= maxRetryAfterMs
        ) {
          retry.push(message);
          retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs ?? 0);
        } else {
          countFailure(message.uid, result.code);
        }
      });
    }
    if (retry.length === 0) break;
    const delay = Math.max(
      backoffDelay(attempt + 1, baseDelayMs, maxDelayMs, random),
      retryAfterMs,
    );
    logger.info("push retry", { attempt: attempt + 1, messages: retry.length, delayMs: delay });
    await deps.sleep(delay);
    pending = retry;
  }

  // 3. Forget dead tokens, user by user; one user's store failure does not stop the others.
  const deadByUid = new Map<string, string[]>();
  for (const token of deadTokens) {
    for (const uid of owners.get(token) ?? []) {
      const list = deadByUid.get(uid) ?? [];
      list.push(token);
      deadByUid.set(uid, list);
    }
  }
  for (const [uid, tokens] of deadByUid) {
    try {
      await deps.tokenStore.deleteTokens(uid, tokens);
      report.deletedTokens += tokens.length;
    } catch (error) {
      logger.warn("push token clean-up failed", {
        uid,
        tokens: tokens.length,
        error: String(error),
      });
    }
  }

  const context = {
    recipients: recipients.length,
    ...report,
    failuresByCode,
    failedUids: [...failedUids].slice(0, 20),
  };
  if (report.failed > 0) logger.warn("push finished with failures", context);
  else logger.info("push finished", context);
  return report;
}
