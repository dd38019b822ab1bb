/**
 * Sign in or sign up with email and password (Firebase Auth). Where the site config names a
 * `studentEmailDomain`, a student number signs in as `{number}@{domain}`.
 */
import { createUserWithEmailAndPassword, signInWithEmailAndPassword } from "firebase/auth";
import { useState } from "preact/hooks";
import { useApp } from "../app";
import type { MessageKey } from "../i18n";
import { LanguageSwitch } from "./LanguageSwitch";

const STUDENT_NUMBER = /^[0-9]{4,12}$/;

function authMessage(code: string): MessageKey {
  switch (code) {
    case "auth/email-already-in-use":
      return "emailInUse";
    case "auth/weak-password":
      return "weakPassword";
    case "auth/invalid-email":
      return "invalidEmail";
    default:
      return "authFailed";
  }
}

export function SignIn() {
  const { fb, t } = useApp();
  const [mode, setMode] = useState<"in" | "up">("in");
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const domain = fb.config.site.studentEmailDomain;

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    let email = login.trim();
    if (STUDENT_NUMBER.test(email)) {
      if (!domain) {
        setError(t("studentOff"));
        return;
      }
      // Nobody may claim a student number: the room's admin makes those accounts.
      if (mode === "up") {
        setError(t("studentSignUp"));
        return;
      }
      email = `${email}@${domain}`;
    }
    setBusy(true);
    try {
      if (mode === "up") await createUserWithEmailAndPassword(fb.auth, email, password);
      else await signInWithEmailAndPassword(fb.auth, email, password);
    } catch (err) {
      setError(t(authMessage((err as { code?: string }).code ?? "")));
      setBusy(false);
    }
  }

  const title = mode === "up" ? t("signUpTitle") : t("signInTitle");
  return (
    <main class="signin" id="main">
      <div class="signin-brand">
        <img src="/icons/icon.svg" alt="" width={56} height={56} />
        <h1>{t("appName")}</h1>
        <p>{t("tagline")}</p>
      </div>
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h2 id="signin-title">{title}</h2>
        <label>
          {domain ? t("emailOrStudent") : t("email")}
          {domain ? (
            <input
              name="email"
              type="text"
              autoComplete="username"
              required
              value={login}
              onInput={(e) => setLogin(e.currentTarget.value)}
            />
          ) : (
            <input
              name="email"
              type="email"
              autoComplete="username"
              required
              value={login}
              onInput={(e) => setLogin(e.currentTarget.value)}
            />
          )}
        </label>
        {domain && <p class="hint">{t("studentNote", { domain })}</p>}
        <label>
          {t("password")}
          <input
            name="password"
            type="password"
            autoComplete={mode === "up" ? "new-password" : "current-password"}
            minLength={6}
            required
            aria-describedby="pw-hint"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <p class="hint" id="pw-hint">
          {t("passwordHint")}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {mode === "up" ? t("signUp") : t("signIn")}
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(mode === "up" ? "in" : "up");
            setError(null);
          }}
        >
          {mode === "up" ? t("toSignIn") : t("toSignUp")}
        </button>
      </form>
      <LanguageSwitch />
    </main>
  );
}
