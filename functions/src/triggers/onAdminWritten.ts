/** admins/{uid} written → the user's `admin` claim follows the document (store/admins.ts). */
import * as logger from "firebase-functions/logger";
import { getAuth } from "firebase-admin/auth";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { db } from "../data/db";
import { refs } from "../data/refs";
import { syncAdminClaim } from "../store/admins";

export const onAdminWritten = onDocumentWritten(
  { document: "admins/{uid}", retry: true },
  async (event) => {
    const { uid } = event.params;
    // The document as it is now, not as the event saw it: a create delivered after the delete
    // must not grant the claim back.
    const isAdmin = (await refs(db()).admin(uid).get()).exists;
    const outcome = await syncAdminClaim(getAuth(), uid, isAdmin);
    logger.info("admin claim synced", { uid, outcome });
    return outcome;
  },
);
