/**
 * The local stack's and tests' transport: every message becomes one document of the `outbox`
 * collection (there is no FCM emulator). Answers success for each message written. The outbox
 * is local-only data, so it keeps the token (and its hash, to match `users/{uid}/tokens/{id}`).
 */
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import { tokenId } from "./tokenId";
import type { PushMessage, PushResult, PushTransport } from "./transport";

/** Where the local stack records pushes (store/db.ts COL.outbox names it too). */
export const OUTBOX_COLLECTION = "outbox";

export function createOutboxTransport(db: Firestore, now: () => number = Date.now): PushTransport {
  return {
    async sendBatch(messages: PushMessage[]): Promise<PushResult[]> {
      const batch = db.batch();
      const refs = messages.map(() => db.collection(OUTBOX_COLLECTION).doc());
      messages.forEach((m, i) => {
        batch.create(refs[i], {
          uid: m.uid,
          token: m.token,
          tokenHash: tokenId(m.token),
          title: m.title,
          body: m.body,
          data: m.data ?? {},
          link: m.link,
          topic: m.topic,
          ttlSeconds: m.ttlSeconds,
          ...(m.icon ? { icon: m.icon } : {}),
          createdAt: Timestamp.fromMillis(now()),
        });
      });
      await batch.commit();
      return refs.map((r) => ({ ok: true as const, messageId: `outbox/${r.id}` }));
    },
  };
}
