/**
 * `npm run admin`'s grant and revoke (not deployed): write or delete `admins/{uid}`, then sync
 * the claim with the trigger's own `syncAdminClaim`, so the claim is right at once even where
 * no trigger runs.
 */
import type { Auth } from "firebase-admin/auth";
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { refs } from "../functions/src/data/refs";
import { syncAdminClaim } from "../functions/src/store/admins";

export async function grantAdmin(auth: Auth, db: Firestore, email: string): Promise<string> {
  const user = await auth.getUserByEmail(email);
  await refs(db).admin(user.uid).set({ email, grantedAt: FieldValue.serverTimestamp() });
  await syncAdminClaim(auth, user.uid, true);
  return user.uid;
}

export async function revokeAdmin(auth: Auth, db: Firestore, email: string): Promise<string> {
  const user = await auth.getUserByEmail(email);
  await refs(db).admin(user.uid).delete();
  await syncAdminClaim(auth, user.uid, false);
  return user.uid;
}
