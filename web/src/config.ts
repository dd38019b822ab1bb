/**
 * Runtime configuration, read once at start-up (so one build serves every deployment):
 * - `/__/firebase/init.json`: the web app's Firebase config. Firebase Hosting serves it for the
 *   project it deploys to; the local stack serves the demo project's.
 * - `/washcall.json`: this site's settings (web/public/washcall.json in production; the local
 *   stack answers its own with the emulators' addresses and the local api URL).
 */
export interface FirebaseWebConfig {
  apiKey: string;
  projectId: string;
  authDomain?: string;
  appId?: string;
  messagingSenderId?: string;
  storageBucket?: string;
}

export interface SiteConfig {
  /** Region of the `api` function (its URL is derived from it and the project id). */
  region: string;
  /** The `api` function's base URL; default `https://{region}-{projectId}.cloudfunctions.net/api`. */
  apiBase?: string;
  /** Web Push VAPID public key (Firebase console → Cloud Messaging); null: push is off. */
  vapidKey: string | null;
  /**
   * When set, a resident may sign in with a student number: `20231234` becomes
   * `20231234@{studentEmailDomain}` (the room's admin creates or allows those accounts).
   */
  studentEmailDomain: string | null;
  /** The local stack only: where the Auth and Firestore emulators listen. */
  emulators?: { auth: string; firestore: { host: string; port: number } };
}

export interface AppConfig {
  firebase: FirebaseWebConfig;
  site: SiteConfig;
  apiBase: string;
}

async function json<T>(url: string): Promise<T> {
  // Default credentials ("same-origin"), as the `<link rel=preload crossorigin>` in index.html.
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function loadConfig(): Promise<AppConfig> {
  const [firebase, site] = await Promise.all([
    json<FirebaseWebConfig>("/__/firebase/init.json"),
    json<SiteConfig>("/washcall.json"),
  ]);
  const apiBase = (
    site.apiBase ?? `https://${site.region}-${firebase.projectId}.cloudfunctions.net/api`
  ).replace(/\/+$/, "");
  return { firebase, site, apiBase };
}
