/**
 * Sends one push document of the outbox (`pushes/{noticeId}-{uid}`, written by store/notices.ts),
 * as firestore-send-email runs its mail:
 *
 *   PENDING ──lease──▶ PROCESSING ──▶ SENT | FAILED
 *
 * A delivery takes the lease (PENDING → PROCESSING, `leaseExpireAt`) in a transaction, so of
 * concurrent deliveries of the same event exactly one sends; then the user's devices, then SENT
 * (some device accepted it) or FAILED (`expired`, `no-devices`, `send-failed`). A PROCESSING push
 * whose lease ran out is not sent again: its sender died at an unknown point, possibly after FCM
 * accepted it, and our own recovery must never push twice. It becomes FAILED (`lease-expired`).
 * A failure before anything was sent gives the push back (PENDING) and throws, for the trigger's
 * retry.
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import { notificationLink } from "../domain/messages";
import { MINUTE_MS } from "../domain/time";
import type { Invocation } from "../invocation";
import { sendToUser } from "../services/fcm/sender";
import type { PushTransport } from "../services/fcm/transport";
import { deleteTokens, loadTokens } from "./users";
import { refs } from "../data/refs";

/** Longer than one send with the sender's retries (at most ~45 s) and shorter than a retry storm. */
const PUSH_LEASE_MS = 2 * MINUTE_MS;

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
    if (push.state === "PROCESSING" && (push.leaseExpireAt ?? 0) > now) return { reason: "held" };
    if (push.state !== "PENDING" && push.state !== "PROCESSING") return { reason: "done" };
    if (push.state === "PENDING" && push.expiresAt > now) {
      tx.update(ref, {
        state: "PROCESSING",
        leaseExpireAt: Timestamp.fromMillis(now + PUSH_LEASE_MS),
        attempts: FieldValue.increment(1),
      });
      return { push, secondsLeft: (push.expiresAt - now) / 1000 };
    }
    const error = push.state === "PENDING" ? "expired" : "lease-expired";
    tx.update(ref, { state: "FAILED", error, doneAt: Timestamp.fromMillis(now) });
    return { reason: error, failed: true };
  });
  if (!taken) return { outcome: "missing" };
  if (!taken.push) {
    if (taken.failed) logger.warn("push not sent", { pushId, error: taken.reason });
    return { outcome: "skipped", reason: taken.reason };
  }
  const { push, secondsLeft } = taken;

  const tokens = await loadTokens(db, push.uid, inv.now()).catch(async (err: unknown) => {
    await ref.update({ state: "PENDING", leaseExpireAt: FieldValue.delete() });
    throw err;
  });
  const { uid, machineId } = push;
  const roomId = push.roomId ?? "";
  const report = await sendToUser(transport, uid, tokens, {
    title: push.title,
    body: push.body,
    data: { notificationId: push.notificationId, machineId, roomId, type: push.type },
    link: notificationLink(inv.settings.appUrl, roomId, machineId || undefined),
    topic: `machine-${machineId}`,
    ttlSeconds: Math.max(1, Math.floor(secondsLeft)),
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
