/**
 * Admins: the `admin: true` custom claim authorises admin routes; the server-only `admins/{uid}`
 * documents let functions find whom to notify (claims cannot be queried). The document is the
 * source of truth: the onAdminWritten trigger makes the claim follow it (a console user creates
 * or deletes `admins/{uid}`), and `npm run admin` (tools/adminClaims.ts) writes the document and
 * syncs the claim itself.
 */
import type { Auth } from "firebase-admin/auth";
import type { Firestore } from "firebase-admin/firestore";
import { refs } from "../data/refs";

/**
 * Makes the user's `admin` claim `admin` (other claims kept). Idempotent: nothing is written
 * when the claim is already right; a uid with no account is reported, not thrown (retrying
 * would not make the account appear).
 */
export async function syncAdminClaim(
  auth: Pick<Auth, "getUser" | "setCustomUserClaims">,
  uid: string,
  admin: boolean,
): Promise<"granted" | "revoked" | "unchanged" | "no-such-user"> {
  let user;
  try {
    user = await auth.getUser(uid);
  } catch (err) {
    if ((err as { code?: string }).code === "auth/user-not-found") return "no-such-user";
    throw err;
  }
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
