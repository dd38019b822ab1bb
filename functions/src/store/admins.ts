/**
 * Admins: the `admin: true` custom claim authorises admin routes; the server-only `admins/{uid}`
 * documents let functions find whom to notify (claims cannot be queried). Both are set together.
 */
import type { Auth } from "firebase-admin/auth";
import { FieldValue, type Firestore } from "firebase-admin/firestore";

export const ADMINS = "admins";

export async function grantAdmin(auth: Auth, db: Firestore, email: string): Promise<string> {
  const user = await auth.getUserByEmail(email);
  await auth.setCustomUserClaims(user.uid, { ...(user.customClaims ?? {}), admin: true });
  await db.collection(ADMINS).doc(user.uid).set({ email, grantedAt: FieldValue.serverTimestamp() });
  return user.uid;
}

export async function revokeAdmin(auth: Auth, db: Firestore, email: string): Promise<string> {
  const user = await auth.getUserByEmail(email);
  const { admin: _admin, ...rest } = user.customClaims ?? {};
  await auth.setCustomUserClaims(user.uid, rest);
  await db.collection(ADMINS).doc(user.uid).delete();
  return user.uid;
}

/** The uids of every admin, for notices (offline machines, broken reports). */
export async function adminUids(db: Firestore): Promise<string[]> {
  const snap = await db.collection(ADMINS).get();
  return snap.docs.map((d) => d.id);
}
