/**
 * Users' device tokens and settings: `users/{uid}` (`unreadCount`, `locale`) and
 * `users/{uid}/tokens/{sha256(token)}` (`token`, `platform`, `lastRefreshedAt`). The document id
 * is the token's hash, so a token is stored once per user and can be found without a query.
 * Tokens are never logged.
 */
import { createHash } from "node:crypto";
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import type { Locale } from "../domain/messages";
import { DAY_MS } from "../domain/time";
import { toMillis } from "../data/db";
import { refs } from "../data/refs";

/** A token's document id: its SHA-256, so that a token never appears in a path or a log. */
export function tokenId(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function tokenRef(db: Firestore, uid: string, token: string) {
  return refs(db).tokens(uid).doc(tokenId(token));
}

/**
 * Devices one user may receive pushes on. A phone, a tablet and a few browsers fit; a script
 * registering tokens in a loop does not multiply every notification. Past the cap the token
 * refreshed longest ago is dropped (an abandoned browser, most likely).
 */
const MAX_TOKENS_PER_USER = 10;

/**
 * Adds or refreshes one token of the user (and, if given, the user's locale), evicting the
 * least recently refreshed tokens beyond {@link MAX_TOKENS_PER_USER}.
 */
export async function saveFcmToken(
  db: Firestore,
  uid: string,
  a: { token: string; platform: string; locale?: Locale; now: number },
): Promise<void> {
  const ref = tokenRef(db, uid, a.token);
  // One transaction: parallel registrations of one user cannot both keep a full set of others.
  await db.runTransaction(async (tx) => {
    const existing = await tx.get(
      refs(db)
        .tokens(uid)
        .orderBy("lastRefreshedAt", "desc")
        .limit(MAX_TOKENS_PER_USER + 20),
    );
    const evict = existing.docs.filter((d) => d.id !== ref.id).slice(MAX_TOKENS_PER_USER - 1);
    tx.set(ref, {
      token: a.token,
      platform: a.platform,
      lastRefreshedAt: Timestamp.fromMillis(a.now),
    });
    for (const d of evict) tx.delete(d.ref);
    if (a.locale) tx.set(refs(db).user(uid), { locale: a.locale }, { merge: true });
  });
}

/** Removes these tokens of the user (missing ones are not an error). */
export async function deleteTokens(db: Firestore, uid: string, tokens: string[]): Promise<void> {
  const batch = db.batch();
  for (const t of tokens) batch.delete(tokenRef(db, uid, t));
  await batch.commit();
}

/** Tokens not refreshed (`set_fcm_token`) for this long are not sent to. */
const STALE_TOKEN_MS = 60 * DAY_MS;

/** The user's device tokens refreshed within the last 60 days. */
export async function loadTokens(db: Firestore, uid: string, now: number): Promise<string[]> {
  // The newest MAX_TOKENS_PER_USER: saveFcmToken keeps no more, and one sendEach takes them all.
  const snap = await refs(db)
    .tokens(uid)
    .orderBy("lastRefreshedAt", "desc")
    .limit(MAX_TOKENS_PER_USER)
    .get();
  return snap.docs.flatMap((d) => {
    const token: unknown = d.get("token");
    const refreshedAt = toMillis(d.get("lastRefreshedAt")) ?? 0;
    return typeof token === "string" && token && refreshedAt >= now - STALE_TOKEN_MS ? [token] : [];
  });
}
