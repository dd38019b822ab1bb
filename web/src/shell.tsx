/**
 * The signed-in app: Firestore, the router, the header with the inbox badge, the bottom
 * navigation and the pages. Routes: `/` and `/rooms/{id}` (board), `/rooms/{id}/machines/{id}`
 * (the board with that machine brought forward: where a push notification leads), `/inbox`,
 * `/stats`, `/me`, `/admin` (admins).
 */
import { createContext } from "preact";
import { lazy, Suspense } from "preact/compat";
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useApp } from "./app";
import { type Data, startData, useDoc } from "./data";
import { pushState, refreshPush } from "./push";
import { Board } from "./pages/Board";
import { Inbox } from "./pages/Inbox";
import { Me } from "./pages/Me";
import { Stats } from "./pages/Stats";
import { type Route, parseRoute } from "./route";

const Admin = lazy(() => import("./pages/Admin").then((m) => ({ default: m.Admin })));

export interface ShellContext {
  data: Data;
  /** Wall clock, ticking every 15 s so that times left and "3분 전" stay true. */
  now: number;
  navigate: (path: string) => void;
  unread: number;
  /** The room last looked at (kept across visits). */
  roomId: string | null;
  setRoomId: (id: string) => void;
}

const Ctx = createContext<ShellContext | null>(null);

export function useShell(): ShellContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useShell outside <Shell>");
  return ctx;
}

const ROOM_KEY = "washcall.room";

export function Shell() {
  const { fb, api, t, locale, user, admin } = useApp();
  const data = useMemo(() => startData(fb.app, fb.config.site), [fb]);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname, location.search));
  const [now, setNow] = useState(Date.now());
  const [roomId, setRoomIdState] = useState<string | null>(() => localStorage.getItem(ROOM_KEY));
  const userDoc = useDoc(user ? data.user(user.uid) : null, user?.uid ?? "");
  const unread = userDoc.value?.unreadCount ?? 0;

  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 15_000);
    const onPop = () => setRoute(parseRoute(location.pathname, location.search));
    window.addEventListener("popstate", onPop);
    return () => {
      clearInterval(tick);
      window.removeEventListener("popstate", onPop);
    };
  }, []);

  // A new page: its name in the title, focus on the content (screen readers hear the change).
  const first = useRef(true);
  useEffect(() => {
    const names: Record<Route["page"], string> = {
      board: t("navBoard"),
      inbox: t("navInbox"),
      stats: t("navStats"),
      me: t("navMe"),
      admin: t("navAdmin"),
      notFound: t("notFound"),
    };
    document.title = `${names[route.page]} · ${t("appName")}`;
    if (first.current) {
      first.current = false;
      return;
    }
    if (route.page !== "board" || !route.machineId) document.getElementById("main")?.focus();
  }, [route, t]);

  // The server writes notifications in the page's language: tell it once per user and language.
  useEffect(() => {
    if (!user) return;
    const key = "washcall.localeSaved";
    const mark = `${user.uid}:${locale}`;
    if (localStorage.getItem(key) === mark) return;
    api("POST /settings", { body: { locale } })
      .then(() => localStorage.setItem(key, mark))
      .catch((err: unknown) => console.warn("language not saved", err));
  }, [user?.uid, locale]);

  // Push stays registered: a granted permission refreshes the token (FCM rotates them).
  useEffect(() => {
    if (pushState(fb) === "on") void refreshPush(fb, api, locale);
  }, []);

  // A notification click while the app is open: the service worker asks us to navigate.
  useEffect(() => {
    if (!("serviceWorker" in navigator)) return undefined;
    const onMessage = (e: MessageEvent) => {
      const msg = e.data as { type?: string; url?: string } | null;
      if (msg?.type === "navigate" && typeof msg.url === "string") {
        const url = new URL(msg.url, location.origin);
        history.pushState(null, "", url.pathname + url.search);
        setRoute(parseRoute(url.pathname, url.search));
      }
    };
    navigator.serviceWorker.addEventListener("message", onMessage);
    return () => navigator.serviceWorker.removeEventListener("message", onMessage);
  }, []);

  const shell: ShellContext = {
    data,
    now,
    unread,
    roomId,
    setRoomId: (id) => {
      localStorage.setItem(ROOM_KEY, id);
      setRoomIdState(id);
    },
    navigate: (path) => {
      history.pushState(null, "", path);
      setRoute(parseRoute(location.pathname, location.search));
      window.scrollTo(0, 0);
    },
  };

  const nav: [string, string, boolean, string | null][] = [
    ["/", t("navBoard"), route.page === "board", null],
    ["/inbox", t("navInbox"), route.page === "inbox", unread > 0 ? String(unread) : null],
    ["/stats", t("navStats"), route.page === "stats", null],
    ["/me", t("navMe"), route.page === "me", null],
  ];
  if (admin) nav.push(["/admin", t("navAdmin"), route.page === "admin", null]);

  let page;
  switch (route.page) {
    case "board":
      page = <Board roomId={route.roomId} machineId={route.machineId} />;
      break;
    case "inbox":
      page = <Inbox />;
      break;
    case "stats":
      page = <Stats roomId={route.roomId} />;
      break;
    case "me":
      page = <Me />;
      break;
    case "admin":
      page = admin ? (
        <Suspense fallback={<p role="status">{t("loading")}</p>}>
          <Admin />
        </Suspense>
      ) : (
        <p>{t("notFound")}</p>
      );
      break;
    default:
      page = <p>{t("notFound")}</p>;
  }

  return (
    <Ctx.Provider value={shell}>
      <a class="skip" href="#main">
        {t("skipToContent")}
      </a>
      <header class="top">
        <a
          class="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            shell.navigate("/");
          }}
        >
          <img src="/icons/icon.svg" alt="" width={28} height={28} />
          {t("appName")}
        </a>
        <a
          class="bell"
          href="/inbox"
          aria-label={unread > 0 ? t("unreadBadge", { n: unread }) : t("navInbox")}
          onClick={(e) => {
            e.preventDefault();
            shell.navigate("/inbox");
          }}
        >
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
            <path
              fill="currentColor"
              d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"
            />
          </svg>
          {unread > 0 && (
            <span class="badge" data-testid="unread-badge" aria-hidden="true">
              {unread > 99 ? "99+" : unread}
            </span>
          )}
        </a>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <nav class="bottom" aria-label="WashCall">
        {nav.map(([href, label, current, badge]) => (
          <a
            key={href}
            href={href}
            aria-current={current ? "page" : undefined}
            onClick={(e) => {
              e.preventDefault();
              shell.navigate(href);
            }}
          >
            {label}
            {badge && (
              <span class="badge small" aria-label={t("unreadBadge", { n: badge })}>
                {badge}
              </span>
            )}
          </a>
        ))}
      </nav>
    </Ctx.Provider>
  );
}
