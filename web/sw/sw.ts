/**
 * The PWA's service worker (/sw.js): an offline app shell, web push notifications, and the
 * click that opens the machine. Decisions live in logic.ts.
 */
import { notificationFromPush, shellAssets, strategyFor } from "./logic";

declare const self: ServiceWorkerGlobalScope;

const CACHE = "washcall-shell";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const res = await fetch("/", { cache: "no-cache" });
      const html = await res.clone().text();
      await cache.put("/", res);
      // addAll rejects duplicates: one Set of everything the shell needs.
      const shell = new Set([
        ...shellAssets(html),
        "/manifest.webmanifest",
        "/__/firebase/init.json",
        "/washcall.json",
      ]);
      await cache.addAll([...shell]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

async function networkFirst(request: Request, key: RequestInfo): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(request);
    if (res.ok) await cache.put(key, res.clone());
    return res;
  } catch (err) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw err;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const strategy = strategyFor(url.pathname, req.mode);
  // Every page of the app is index.html (the router is in the page).
  if (strategy === "network-first")
    event.respondWith(networkFirst(req, req.mode === "navigate" ? "/" : req));
  else if (strategy === "cache-first") event.respondWith(cacheFirst(req));
});

self.addEventListener("push", (event) => {
  let payload: unknown = null;
  try {
    payload = event.data?.json();
  } catch {
    payload = { notification: { title: "WashCall", body: event.data?.text() ?? "" } };
  }
  const shown = notificationFromPush(payload, self.location.origin);
  if (shown) event.waitUntil(self.registration.showNotification(shown.title, shown.options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data as { url?: string } | null)?.url ?? "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((c) => new URL(c.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        open.postMessage({ type: "navigate", url: path });
        return;
      }
      await self.clients.openWindow(path);
    })(),
  );
});
