/**
 * The Firebase app and Auth, created once from the runtime config. Firestore lives in
 * data.ts, loaded only after sign-in (it is most of the JavaScript, and the sign-in page does
 * not need it).
 */
import { type FirebaseApp, initializeApp } from "firebase/app";
import {
  type Auth,
  browserLocalPersistence,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
} from "firebase/auth";
import type { AppConfig } from "./config";

export interface Firebase {
  app: FirebaseApp;
  auth: Auth;
  config: AppConfig;
}

export function startFirebase(config: AppConfig): Firebase {
  const app = initializeApp(config.firebase);
  // initializeAuth without a popup/redirect resolver: email and password only, a smaller bundle.
  const auth = initializeAuth(app, {
    persistence: [indexedDBLocalPersistence, browserLocalPersistence],
  });
  const emulators = config.site.emulators;
  if (emulators) connectAuthEmulator(auth, emulators.auth, { disableWarnings: true });
  return { app, auth, config };
}
