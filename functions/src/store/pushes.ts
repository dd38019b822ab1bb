/**
 * Sends one push document of the outbox (`pushes/{noticeId}-{uid}`, written by store/notices.ts)
 * through domain/pushState.ts: the lease in a transaction, then the user's devices, then SENT
 * (some device accepted it) or FAILED (`no-devices`, `send-failed`). A failure before anything
 * was sent gives the push back (PENDING) and throws, for the trigger's retry.
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import { notificationLink } from "../domain/messages";
import { nextPushStep } from "../domain/pushState";
import type { Invocation } from "../invocation";
import { sendToUser } from "../services/fcm/sender";
import type { PushTransport } from "../services/fcm/transport";
import { deleteTokens, loadTokens } from "./users";
import { refs } from "../data/refs";

export type PushOutcome =
  | { outcome: "sent" | "failed"; sent: number; failed: number }
  | { outcome: "skipped"; reason: string }
  | { outcome: "missing" };

export async function sendPush(
  inv: Invocation,
  transport: PushTransport,
  pushId: string,
): Promise<PushOutcome> {
  const { db } = inv;
  const ref = refs(db).push(pushId);
  const taken = await db.runTransaction(async (tx) => {
    const push = (await tx.get(ref)).data();
    if (!push) return null;
    const now = inv.now();
    const step = nextPushStep(push, now);
    if (step.kind === "send") {
      tx.update(ref, {
        state: "PROCESSING",
        leaseExpireAt: Timestamp.fromMillis(step.leaseExpireAt),
        attempts: FieldValue.increment(1),
      });
    } else if (step.kind === "fail") {
      tx.update(ref, { state: "FAILED", error: step.error, doneAt: Timestamp.fromMillis(now) });
    }
    return { step, push, secondsLeft: (push.expiresAt - now) / 1000 };
  });
  if (!taken) return { outcome: "missing" };
  const { step, push } = taken;
  if (step.kind === "skip") return { outcome: "skipped", reason: step.reason };
  if (step.kind === "fail") {
    logger.warn("push not sent", { pushId, error: step.error });
    return { outcome: "skipped", reason: step.error };
  }

  let tokens: string[];
  try {
    tokens = await loadTokens(db, push.uid, inv.now());
  } catch (err) {
    await ref.update({ state: "PENDING", leaseExpireAt: FieldValue.delete() });
    throw err;
  }
  const { uid, machineId } = push;
  const roomId = push.roomId ?? "";
  const report = await sendToUser(transport, uid, tokens, {
    title: push.title,
    body: push.body,
    data: { notificationId: push.notificationId, machineId, roomId, type: push.type },
    link: notificationLink(inv.settings.appUrl, roomId, machineId || undefined),
    topic: `machine-${machineId}`,
    ttlSeconds: Math.max(1, Math.floor(taken.secondsLeft)),
  });
  if (report.deadTokens.length > 0) {
    await deleteTokens(db, uid, report.deadTokens).catch((error: unknown) =>
      logger.warn("push token clean-up failed", { uid, error: String(error) }),
    );
  }
  const sent = report.sent > 0;
  await ref.update({
    state: sent ? "SENT" : "FAILED",
    sent: report.sent,
    failed: report.failed,
    ...(sent ? {} : { error: report.failed === 0 ? "no-devices" : "send-failed" }),
    leaseExpireAt: FieldValue.delete(),
    doneAt: Timestamp.fromMillis(inv.now()),
  });
  return { outcome: sent ? "sent" : "failed", sent: report.sent, failed: report.failed };
}
