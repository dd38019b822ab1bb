/**
 * Web push: permission, the FCM token, and its registration with the api (`/set_fcm_token`).
 * firebase/messaging is loaded only when a resident turns push on. The token is made for our
 * own service worker (/sw.js), which shows the notifications and opens the machine on click.
 */
import type { Api } from "./api";
import type { Firebase } from "./firebase";
import type { Locale } from "./i18n";

export type PushState = "unsupported" | "unconfigured" | "default" | "denied" | "on";

const TOKEN_KEY = "washcall.fcmToken";

export function pushState(fb: Firebase): PushState {
  if (!("Notification" in window) || !("serviceWorker" in navigator) || !("PushManager" in window))
    return "unsupported";
  if (!fb.config.site.vapidKey) return "unconfigured";
  if (Notification.permission === "denied") return "denied";
  if (Notification.permission === "granted" && localStorage.getItem(TOKEN_KEY)) return "on";
  return "default";
}

/** This browser's FCM token, made for our own service worker (/sw.js). */
async function currentToken(fb: Firebase, vapidKey: string): Promise<string> {
  const [{ getMessaging, getToken }, registration] = await Promise.all([
    import("firebase/messaging"),
    navigator.serviceWorker.ready,
  ]);
  return getToken(getMessaging(fb.app), { vapidKey, serviceWorkerRegistration: registration });
}

/** Asks for permission (call it from a click), gets the token and registers it. */
export async function enablePush(fb: Firebase, api: Api, locale: Locale): Promise<PushState> {
  const vapidKey = fb.config.site.vapidKey;
  if (!vapidKey) return "unconfigured";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return permission === "denied" ? "denied" : "default";
  const token = await currentToken(fb, vapidKey);
  await api("POST /set_fcm_token", { body: { fcm_token: token, platform: "web", locale } });
  localStorage.setItem(TOKEN_KEY, token);
  return "on";
}

/** With permission already granted: the current token, registered again if it changed. */
export async function refreshPush(fb: Firebase, api: Api, locale: Locale): Promise<void> {
  const vapidKey = fb.config.site.vapidKey;
  if (!vapidKey || Notification.permission !== "granted") return;
  try {
    const token = await currentToken(fb, vapidKey);
    if (token === localStorage.getItem(TOKEN_KEY)) return;
    await api("POST /set_fcm_token", { body: { fcm_token: token, platform: "web", locale } });
    localStorage.setItem(TOKEN_KEY, token);
  } catch (err) {
    console.warn("push token not refreshed", err);
  }
}

/** On sign-out: this device stops receiving the user's pushes. Best effort. */
export async function forgetPush(api: Api): Promise<void> {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return;
  localStorage.removeItem(TOKEN_KEY);
  await api("POST /logout", { body: { fcm_token: token } }).catch(() => undefined);
}
