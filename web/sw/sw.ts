/**
 * The PWA's service worker (/sw.js): an offline app shell, web push notifications, and the
 * click that opens the machine. Decisions live in logic.ts.
 */
import { cacheable, notificationFromPush, shellAssets, strategyFor } from "./logic";

declare const self: ServiceWorkerGlobalScope;

const CACHE = "washcall-shell";
const CONFIG = ["/manifest.webmanifest", "/__/firebase/init.json", "/washcall.json"];

/** index.html, what it names, every chunk of the build (shell-files.json) and the config. */
async function shellList(): Promise<{ html: Response; files: string[] }> {
  const html = await fetch("/", { cache: "no-cache" });
  const named = shellAssets(await html.clone().text());
  const built = await fetch("/shell-files.json", { cache: "no-cache" })
    .then((r) => (r.ok ? (r.json() as Promise<string[]>) : []))
    .catch(() => [] as string[]);
  // addAll rejects duplicates: one Set of everything.
  return { html, files: [...new Set([...named, ...built, ...CONFIG])] };
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const { html, files } = await shellList();
      const cache = await caches.open(CACHE);
      await cache.addAll(files);
      await cache.put("/", html);
      // Files of earlier builds: hashed names that no page of this build asks for.
      const keep = new Set(["/", ...files]);
      for (const req of await cache.keys()) {
        if (!keep.has(new URL(req.url).pathname)) await cache.delete(req);
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

async function keep(cache: Cache, key: RequestInfo, path: string, res: Response): Promise<void> {
  if (cacheable(path, res.status, res.headers.get("content-type")))
    await cache.put(key, res.clone());
}

async function networkFirst(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(request);
    await keep(cache, path === "/" ? "/" : request, path, res);
    return res;
  } catch (err) {
    const hit = await cache.match(path === "/" ? "/" : request);
    if (hit) return hit;
    throw err;
  }
}

async function cacheFirst(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  await keep(cache, request, path, res);
  return res;
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const strategy = strategyFor(url.pathname, req.mode);
  // Every page of the app is index.html (the router is in the page): kept under "/".
  const path = req.mode === "navigate" ? "/" : url.pathname;
  if (strategy === "network-first") event.respondWith(networkFirst(req, path));
  else if (strategy === "cache-first") event.respondWith(cacheFirst(req, path));
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
