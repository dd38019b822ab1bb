/**
 * Which transport pushes leave through: PUSH_TRANSPORT "outbox" → the Firestore outbox (local
 * stack, tests); anything else → real FCM. Read at call time, inside handlers.
 */
import type { Firestore } from "firebase-admin/firestore";
import { getMessaging } from "firebase-admin/messaging";
import { PUSH_TRANSPORT } from "../../config";
import { createFcmTransport } from "./fcmTransport";
import { createOutboxTransport } from "./outboxTransport";
import type { PushTransport } from "./transport";

export function selectTransport(db: Firestore, now: () => number = Date.now): PushTransport {
  return PUSH_TRANSPORT.value() === "outbox"
    ? createOutboxTransport(db, now)
    : createFcmTransport(getMessaging());
}
