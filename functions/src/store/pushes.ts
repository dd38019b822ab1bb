/**
 * Sends one push document of the outbox (`pushes/{noticeId}-{uid}`, written by store/notices.ts)
 * through the PENDING → PROCESSING → SENT / FAILED state machine of domain/pushState.ts:
 * 1. the lease, in a transaction (one delivery of several sends);
 * 2. the user's device tokens, then the shared sender (batching, retries, dead-token clean-up);
 * 3. SENT (some device accepted it) or FAILED (`no-devices`, or the codes of the failures).
 * A failure before anything was sent gives the push back (PENDING) and throws, so the trigger's
 * retry sends it; the sender itself never throws.
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { notificationLink } from "../domain/messages";
import { type PushStep, nextPushStep } from "../domain/pushState";
import { sendToUsers } from "../services/fcm/sender";
import { type PushTransport, machineTopic } from "../services/fcm/transport";
import { firestoreTokenStore, loadTokens } from "./users";
import { refs } from "../data/refs";

export interface PushDeps {
  db: Firestore;
  now: () => number;
  transport: PushTransport;
  appUrl: string;
  sleep?: (ms: number) => Promise<void>;
}

export type PushOutcome =
  | { outcome: "sent" | "failed"; sent: number; failed: number }
  | { outcome: "skipped"; reason: string }
  | { outcome: "missing" };

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function sendPush(deps: PushDeps, pushId: string): Promise<PushOutcome> {
  const { db } = deps;
  const ref = refs(db).push(pushId);
  const taken = await db.runTransaction(async (tx) => {
    const push = (await tx.get(ref)).data();
    if (!push) return null;
    const now = deps.now();
    const step: PushStep = nextPushStep(push, now);
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

  let tokens;
  try {
    tokens = await loadTokens(db, push.uid);
  } catch (err) {
    // Nothing went out: give the push back for the trigger's retry.
    await ref.update({ state: "PENDING", leaseExpireAt: FieldValue.delete() });
    throw err;
  }
  const { machineId } = push;
  const roomId = push.roomId ?? "";
  const report = await sendToUsers(
    [{ uid: push.uid, tokens }],
    {
      title: push.title,
      body: push.body,
      data: { notificationId: push.notificationId, machineId, roomId, type: push.type },
      link: notificationLink(deps.appUrl, roomId, machineId || undefined),
      topic: machineTopic(machineId),
      ttlSeconds: Math.max(1, Math.floor(taken.secondsLeft)),
    },
    {
      transport: deps.transport,
      now: deps.now,
      sleep: deps.sleep ?? defaultSleep,
      tokenStore: firestoreTokenStore(db),
    },
  );
  const outcome = report.sent > 0 ? "sent" : "failed";
  await ref.update({
    state: outcome === "sent" ? "SENT" : "FAILED",
    sent: report.sent,
    failed: report.failed,
    ...(outcome === "failed" ? { error: report.failed === 0 ? "no-devices" : "send-failed" } : {}),
    leaseExpireAt: FieldValue.delete(),
    doneAt: Timestamp.fromMillis(deps.now()),
  });
  return { outcome, sent: report.sent, failed: report.failed };
}
