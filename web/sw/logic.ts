/**
 * The service worker's decisions, pure so that unit tests can pin them (test/unit/pwa.test.ts):
 * what a push shows, where a click leads, which files make the offline app shell.
 */

/** What FCM delivers to a web push subscription (HTTP v1 `webpush` message, as JSON). */
interface FcmPush {
  notification?: { title?: unknown; body?: unknown; icon?: unknown };
  data?: Record<string, unknown>;
  fcmOptions?: { link?: unknown };
  fcm_options?: { link?: unknown };
}

export interface ShownNotification {
  title: string;
  options: {
    body: string;
    icon: string;
    badge: string;
    /** One notification per machine: a newer one replaces it (the sender's Topic, too). */
    tag: string;
    data: { url: string };
  };
}

const ICON = "/icons/icon-192.png";

/**
 * The page a notification opens, as a same-origin path: the sender's `data.link`
 * (`…/rooms/{roomId}/machines/{machineId}`), else built from `roomId`/`machineId`, else the
 * board. A link to another origin is never followed.
 */
export function targetPath(data: Record<string, unknown>, origin: string, link?: unknown): string {
  for (const candidate of [data.link, link]) {
    if (typeof candidate !== "string" || candidate === "") continue;
    try {
      const url = new URL(candidate, origin);
      if (url.origin === origin) return url.pathname + url.search;
    } catch {
      // not a URL: try the next
    }
  }
  const room = typeof data.roomId === "string" && data.roomId ? data.roomId : null;
  const machine = typeof data.machineId === "string" && data.machineId ? data.machineId : null;
  if (room && machine)
    return `/rooms/${encodeURIComponent(room)}/machines/${encodeURIComponent(machine)}`;
  if (room) return `/rooms/${encodeURIComponent(room)}`;
  return "/";
}

/** The notification for a push payload, or null when it carries nothing to show. */
export function notificationFromPush(payload: unknown, origin: string): ShownNotification | null {
  if (payload === null || typeof payload !== "object") return null;
  const p = payload as FcmPush;
  const data = p.data ?? {};
  const title = typeof p.notification?.title === "string" ? p.notification.title : data.title;
  const body = typeof p.notification?.body === "string" ? p.notification.body : data.body;
  if (typeof title !== "string" || title === "") return null;
  const machine = typeof data.machineId === "string" ? data.machineId : "";
  return {
    title,
    options: {
      body: typeof body === "string" ? body : "",
      icon: typeof p.notification?.icon === "string" ? p.notification.icon : ICON,
      badge: ICON,
      tag: machine ? `machine-${machine}` : "washcall",
      data: { url: targetPath(data, origin, p.fcmOptions?.link ?? p.fcm_options?.link) },
    },
  };
}

/** Same-origin scripts, styles and preloads that index.html names: the app shell to keep. */
export function shellAssets(html: string): string[] {
  const out = new Set<string>();
  for (const m of html.matchAll(/\s(?:src|href)="(\/[^"]+)"/g)) {
    const path = m[1];
    if (path.startsWith("/__/")) continue;
    out.add(path);
  }
  return [...out].sort();
}

/**
 * Whether a response may be kept for `pathname`: only successful answers, and never an HTML page
 * for a script, style or icon (a file missing after a deploy is answered with index.html by the
 * Hosting rewrite; keeping that would break the app for good).
 */
export function cacheable(pathname: string, status: number, contentType: string | null): boolean {
  if (status !== 200) return false;
  const html = (contentType ?? "").includes("text/html");
  if (pathname === "/") return html;
  return !html;
}

/** How the worker treats a GET to its own origin. */
export function strategyFor(
  pathname: string,
  mode: string,
): "network-first" | "cache-first" | "network" {
  if (mode === "navigate") return "network-first";
  if (pathname.startsWith("/assets/") || pathname.startsWith("/icons/")) return "cache-first";
  if (pathname === "/__/firebase/init.json" || pathname === "/washcall.json")
    return "network-first";
  if (pathname === "/manifest.webmanifest") return "network-first";
  return "network";
}
