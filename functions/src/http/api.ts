/** Registration of the `api` function; the logic is in apiHandler.ts and routes/. */
import { getAuth } from "firebase-admin/auth";
import { onRequest } from "firebase-functions/v2/https";
import { db } from "../store/db";
import { toExpress } from "./adapter";
import { createApiHandler } from "./apiHandler";

/** Cloud Run's revision name when deployed; "dev" in the local stack. */
const version = () => process.env.K_REVISION ?? process.env.WASHCALL_VERSION ?? "dev";

export const api = onRequest({ cors: true }, (req, res) => {
  const firestore = db(); // initialises the admin app before getAuth()
  return toExpress(
    "api",
    createApiHandler({ db: firestore, auth: getAuth(), now: Date.now, version: version() }),
  )(req, res);
});
