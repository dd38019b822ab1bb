/**
 * The app's frame: who is signed in (and whether they are an admin), the language, the typed
 * api client. Signed out: the sign-in page. Signed in: the shell (shell.tsx), loaded on demand
 * because it brings Firestore.
 */
import { type User, onIdTokenChanged } from "firebase/auth";
import { type ComponentType, createContext } from "preact";
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type Api, createApi } from "./api";
import type { Firebase } from "./firebase";
import { type Locale, type Translate, initialLocale, saveLocale, translator } from "./i18n";
import { SignIn } from "./ui/SignIn";

export interface AppContext {
  fb: Firebase;
  api: Api;
  t: Translate;
  locale: Locale;
  setLocale: (locale: Locale) => void;
  user: User | null;
  admin: boolean;
}

const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useApp outside <App>");
  return ctx;
}

type Session =
  { state: "loading" } | { state: "out" } | { state: "in"; user: User; admin: boolean };

export function App({ fb }: { fb: Firebase }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const [session, setSession] = useState<Session>({ state: "loading" });
  const [Shell, setShell] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  // onIdTokenChanged (not onAuthStateChanged): a new admin claim arrives with a refreshed token.
  useEffect(
    () =>
      onIdTokenChanged(fb.auth, (user) => {
        if (!user) {
          setSession({ state: "out" });
          return;
        }
        user
          .getIdTokenResult()
          .then((r) => setSession({ state: "in", user, admin: r.claims.admin === true }))
          .catch(() => setSession({ state: "in", user, admin: false }));
      }),
    [fb.auth],
  );

  useEffect(() => {
    if (session.state !== "in" || Shell) return;
    import("./shell")
      .then((m) => setShell(() => m.Shell))
      .catch((err: unknown) => {
        console.error(err);
        setFailed(true);
      });
  }, [session.state, Shell]);

  // One client for the session (not rebuilt when the ID token refreshes); it reads the
  // language at call time.
  const localeRef = useRef(locale);
  localeRef.current = locale;
  const api = useMemo(
    () =>
      createApi(
        fb.config.apiBase,
        async () => (fb.auth.currentUser ? fb.auth.currentUser.getIdToken() : null),
        () => localeRef.current,
      ),
    [fb],
  );

  const ctx = useMemo<AppContext>(() => {
    const user = session.state === "in" ? session.user : null;
    return {
      fb,
      api,
      t: translator(locale),
      locale,
      setLocale: (l) => {
        saveLocale(l);
        setLocaleState(l);
      },
      user,
      admin: session.state === "in" && session.admin,
    };
  }, [fb, api, locale, session]);

  let body;
  if (session.state === "out") body = <SignIn />;
  else if (session.state === "in" && Shell) body = <Shell />;
  else if (failed)
    body = (
      <p class="boot" role="alert">
        {ctx.t("startFailed")}{" "}
        <button type="button" onClick={() => location.reload()}>
          {ctx.t("retry")}
        </button>
      </p>
    );
  else
    body = (
      <p class="boot" role="status">
        {ctx.t("loading")}
      </p>
    );
  return <Ctx.Provider value={ctx}>{body}</Ctx.Provider>;
}
