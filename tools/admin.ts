/**
 * `npm run admin -- grant <email>` | `revoke <email>` | `list`
 *
 * Talks to the Auth and Firestore emulators when FIREBASE_AUTH_EMULATOR_HOST /
 * FIRESTORE_EMULATOR_HOST are set (e.g. 127.0.0.1:9099 and 127.0.0.1:8080 while `npm start`
 * runs), otherwise to the real project with application default credentials
 * (`gcloud auth application-default login`) and GOOGLE_CLOUD_PROJECT or .firebaserc's default.
 */
import { initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { getFirestore } from "firebase-admin/firestore";
import { readFileSync } from "node:fs";
import path from "node:path";
import { adminUids } from "../functions/src/store/admins";
import { grantAdmin, revokeAdmin } from "./adminClaims";

function projectId(): string {
  if (process.env.GOOGLE_CLOUD_PROJECT) return process.env.GOOGLE_CLOUD_PROJECT;
  const rc = JSON.parse(readFileSync(path.join(__dirname, "..", ".firebaserc"), "utf8")) as {
    projects: { default: string };
  };
  return rc.projects.default;
}

async function main(): Promise<number> {
  const [command, email] = process.argv.slice(2);
  initializeApp({ projectId: projectId() });
  const auth = getAuth();
  const db = getFirestore();
  switch (command) {
    case "grant":
    case "revoke": {
      if (!email) {
        console.error(`usage: npm run admin -- ${command} <email>`);
        return 2;
      }
      const uid =
        command === "grant"
          ? await grantAdmin(auth, db, email)
          : await revokeAdmin(auth, db, email);
      console.log(
        `${command === "grant" ? "granted" : "revoked"} admin for ${email} (uid ${uid}); the user must sign in again (or refresh their ID token)`,
      );
      return 0;
    }
    case "list":
      for (const uid of await adminUids(db)) console.log(uid);
      return 0;
    default:
      console.error("usage: npm run admin -- grant <email> | revoke <email> | list");
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
