/**
 * Admins: the `admin: true` claim authorises admin routes; the `admins/{uid}` documents are the
 * source of truth (claims cannot be queried, so notices find admins there). The onAdminWritten
 * trigger and `npm run admin` make the claim follow the document.
 */
import type { Auth } from "firebase-admin/auth";
import type { Firestore } from "firebase-admin/firestore";
import { refs } from "../data/refs";

/**
 * Makes the user's `admin` claim `admin`, other claims kept; nothing is written when it is right.
 * A uid with no account is reported, not thrown (a retry would not make the account appear).
 */
export async function syncAdminClaim(
  auth: Pick<Auth, "getUser" | "setCustomUserClaims">,
  uid: string,
  admin: boolean,
): Promise<"granted" | "revoked" | "unchanged" | "no-such-user"> {
  const user = await auth.getUser(uid).catch((err: unknown) => {
    if ((err as { code?: string }).code === "auth/user-not-found") return null;
    throw err;
  });
  if (!user) return "no-such-user";
  const claims = user.customClaims ?? {};
  if ((claims.admin === true) === admin) return "unchanged";
  const { admin: _admin, ...rest } = claims;
  await auth.setCustomUserClaims(uid, admin ? { ...rest, admin: true } : rest);
  return admin ? "granted" : "revoked";
}

/** The uids of every admin, for notices (offline machines, broken reports). */
export async function adminUids(db: Firestore): Promise<string[]> {
  const snap = await refs(db).admins.get();
  return snap.docs.map((d) => d.id);
}
