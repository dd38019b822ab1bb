/**
 * Asks for push permission at a moment that explains itself: right after the resident asked to
 * be told about a machine (never on page load). The browser's prompt comes only from the click.
 */
import { useState } from "preact/hooks";
import { useApp } from "../app";
import { enablePush } from "../push";

export function PushPrompt({ onDone }: { onDone: () => void }) {
  const { fb, api, t, locale } = useApp();
  const [note, setNote] = useState<string | null>(null);
  return (
    <div class="card prompt" role="region" aria-label={t("pushTitle")}>
      <p>{t("pushAsk")}</p>
      {note && <p role="status">{note}</p>}
      <div class="actions">
        <button
          type="button"
          class="primary"
          onClick={() =>
            void enablePush(fb, api, locale)
              .then((s) => {
                if (s === "on") onDone();
                else setNote(s === "denied" ? t("pushDenied") : t("pushUnavailable"));
              })
              .catch(() => setNote(t("pushUnavailable")))
          }
        >
          {t("pushEnable")}
        </button>
        <button type="button" onClick={onDone}>
          {t("later")}
        </button>
      </div>
    </div>
  );
}
