/**
 * The local stack's FCM. There is no FCM emulator, so the stack replaces `Messaging.sendEach` of
 * the firebase-admin that functions/lib loaded: every message the push trigger sends becomes one
 * document of the `outbox` collection (DESIGN.md: "FCM recorded to a local outbox") and is
 * answered as accepted. The functions' code is the production code, unchanged. The outbox is
 * local-only data, so it keeps the token, its hash (the `users/{uid}/tokens/{id}` id) and the
 * owner's uid (looked up from the token, as FCM itself knows no users).
 */
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import type { BatchResponse, Message, Messaging } from "firebase-admin/messaging";
import { tokenId } from "../../functions/src/store/users";

export const OUTBOX = "outbox";

type MessagingModule = { Messaging: { prototype: Pick<Messaging, "sendEach"> } };

async function ownerOf(db: Firestore, token: string): Promise<string | null> {
  const snap = await db.collectionGroup("tokens").where("token", "==", token).limit(1).get();
  return snap.docs[0]?.ref.parent.parent?.id ?? null;
}

/** Installs the sink into `messaging` (the functions' `firebase-admin/messaging` module). */
export function recordPushesToOutbox(messaging: MessagingModule, db: Firestore): void {
  messaging.Messaging.prototype.sendEach = async (messages: Message[]): Promise<BatchResponse> => {
    const batch = db.batch();
    const refs = messages.map(() => db.collection(OUTBOX).doc());
    for (const [i, m] of messages.entries()) {
      const token = "token" in m ? m.token : "";
      const webpush = m.webpush ?? {};
      const { link = "", ...data } = m.data ?? {};
      batch.create(refs[i], {
        uid: await ownerOf(db, token),
        token,
        tokenHash: tokenId(token),
        title: webpush.notification?.title ?? "",
        body: webpush.notification?.body ?? "",
        data,
        link,
        topic: webpush.headers?.Topic ?? "",
        ttlSeconds: Number(webpush.headers?.TTL ?? 0),
        createdAt: Timestamp.now(),
      });
    }
    await batch.commit();
    const responses = refs.map((r) => ({ success: true, messageId: `outbox/${r.id}` }));
    return { responses, successCount: responses.length, failureCount: 0 };
  };
}
