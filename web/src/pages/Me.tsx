/** Account, language, push notifications, the satisfaction survey, sign-out. */
import { signOut } from "firebase/auth";
import { useState } from "preact/hooks";
import { useApp } from "../app";
import { type PushState, enablePush, forgetPush, pushState } from "../push";
import { LanguageSwitch } from "../ui/LanguageSwitch";

export function Me() {
  const { fb, api, t, locale, user } = useApp();
  const [push, setPush] = useState<PushState>(() => pushState(fb));
  const [satisfaction, setSatisfaction] = useState(0);
  const [suggestion, setSuggestion] = useState("");
  const [surveyNote, setSurveyNote] = useState<string | null>(null);

  const pushText: Record<PushState, string> = {
    on: t("pushOn"),
    denied: t("pushDenied"),
    unsupported: t("pushUnavailable"),
    unconfigured: t("pushUnavailable"),
    default: t("pushAsk"),
  };

  return (
    <div class="me">
      <h1>{t("meTitle")}</h1>
      <p>{t("signedInAs", { email: user?.email ?? "" })}</p>
      <LanguageSwitch />
      <section class="card" aria-labelledby="push-title">
        <h2 id="push-title">{t("pushTitle")}</h2>
        <p role="status">{pushText[push]}</p>
        {push === "default" && (
          <button
            type="button"
            class="primary"
            onClick={() =>
              void enablePush(fb, api, locale)
                .then(setPush)
                .catch(() => setPush("unsupported"))
            }
          >
            {t("pushEnable")}
          </button>
        )}
      </section>
      <section class="card" aria-labelledby="survey-title">
        <h2 id="survey-title">{t("surveyTitle")}</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            api("POST /survey", {
              body: { satisfaction, ...(suggestion.trim() ? { suggestion } : {}) },
            })
              .then(() => setSurveyNote(t("surveySent")))
              .catch((err: unknown) =>
                setSurveyNote(t("errorGeneric", { message: (err as Error).message })),
              );
          }}
        >
          <fieldset class="stars">
            <legend>{t("surveyQuestion")}</legend>
            {[1, 2, 3, 4, 5].map((n) => (
              <label key={n}>
                <input
                  type="radio"
                  name="satisfaction"
                  value={n}
                  required
                  checked={satisfaction === n}
                  onChange={() => setSatisfaction(n)}
                />
                <span aria-hidden="true">{"★".repeat(n)}</span>
                <span class="sr-only">{t("surveyStar", { n })}</span>
              </label>
            ))}
          </fieldset>
          <label>
            {t("surveySuggestion")}
            <textarea
              maxLength={1000}
              rows={3}
              value={suggestion}
              onInput={(e) => setSuggestion(e.currentTarget.value)}
            />
          </label>
          {surveyNote && <p role="status">{surveyNote}</p>}
          <button type="submit" class="primary">
            {t("send")}
          </button>
        </form>
      </section>
      <button
        type="button"
        class="secondary"
        onClick={() => void forgetPush(api).then(() => signOut(fb.auth))}
      >
        {t("signOut")}
      </button>
    </div>
  );
}
