/**
 * Users on the Auth emulator (FIREBASE_AUTH_EMULATOR_HOST; `firebase emulators:exec --only auth`
 * sets it in CI). Every helper makes a fresh, uniquely named account, since the emulator is shared.
 */
import { randomUUID } from "node:crypto";
import { getAuth } from "firebase-admin/auth";
import { testDb } from "./world";

export interface TestUser {
  uid: string;
  email: string;
  password: string;
  idToken: string;
}

function emulatorHost(): string {
  const host = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  if (!host) {
    throw new Error(
      "FIREBASE_AUTH_EMULATOR_HOST is not set: run under `firebase emulators:exec --only auth` " +
        "or point it at a running Auth emulator (127.0.0.1:9099)",
    );
  }
  return host;
}

async function identityToolkit(
  method: string,
  body: object,
): Promise<{ localId: string; idToken: string }> {
  const res = await fetch(
    `http://${emulatorHost()}/identitytoolkit.googleapis.com/v1/accounts:${method}?key=fake-api-key`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  );
  const json = (await res.json()) as {
    localId?: string;
    idToken?: string;
    error?: { message?: string };
  };
  if (!res.ok || !json.idToken || !json.localId) {
    throw new Error(`Auth emulator ${method} failed: ${res.status} ${json.error?.message ?? ""}`);
  }
  return { localId: json.localId, idToken: json.idToken };
}

/** Signs up a new user with a unique email and returns a fresh ID token. */
export async function signUpUser(label = "user"): Promise<TestUser> {
  const email = `${label}-${randomUUID()}@test.washcall.local`;
  const password = `pw-${randomUUID()}`;
  const { localId, idToken } = await identityToolkit("signUp", {
    email,
    password,
    returnSecureToken: true,
  });
  return { uid: localId, email, password, idToken };
}

/** Signs the user in again (e.g. to get a token carrying new custom claims). */
export async function signIn(user: TestUser): Promise<TestUser> {
  const { idToken } = await identityToolkit("signInWithPassword", {
    email: user.email,
    password: user.password,
    returnSecureToken: true,
  });
  return { ...user, idToken };
}

/** A new user with the `admin: true` custom claim in its ID token. */
export async function signUpAdmin(label = "admin"): Promise<TestUser> {
  testDb(); // makes sure the admin app exists
  const user = await signUpUser(label);
  await getAuth().setCustomUserClaims(user.uid, { admin: true });
  return signIn(user);
}

export function bearer(user: TestUser | string): Record<string, string> {
  return { authorization: `Bearer ${typeof user === "string" ? user : user.idToken}` };
}
