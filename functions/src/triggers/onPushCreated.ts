/**
 * pushes/{pushId} created (store/notices.ts writes one per notice and user) → send it
 * (store/pushes.ts). `retry: true`: a delivery that fails before sending gives the push back.
 */
import * as logger from "firebase-functions/logger";
import { getMessaging } from "firebase-admin/messaging";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { type Invocation, startInvocation } from "../invocation";
import { type PushTransport, createFcmTransport } from "../services/fcm/transport";
import { sendPush } from "../store/pushes";

export async function handlePushCreated(
  event: { params: { pushId: string } },
  inv: Invocation,
  transport: PushTransport,
) {
  const { pushId } = event.params;
  const result = await sendPush(inv, transport, pushId);
  if (result.outcome === "missing") logger.warn("push document is gone", { pushId });
  else logger.info("push handled", { pushId, ...result });
  return result;
}

export const onPushCreated = onDocumentCreated(
  { document: "pushes/{pushId}", retry: true, timeoutSeconds: 90 },
  (event) => handlePushCreated(event, startInvocation(), createFcmTransport(getMessaging())),
);
