/**
 * The inbox: `users/{uid}/notifications` live, newest first, unread ones marked; mark one or all
 * read through the api (which keeps `unreadCount`, the badge, right).
 */
import { useState } from "preact/hooks";
import { useApp } from "../app";
import { type InboxItem, useQuery } from "../data";
import { ago } from "../i18n";
import { useShell } from "../shell";

const PAGE = 30;

export function Inbox() {
  const { api, t, locale, user } = useApp();
  const { data, now, navigate, unread } = useShell();
  // Newest first; "더 보기" widens the listened window by a page.
  const [max, setMax] = useState(PAGE);
  const items = useQuery(user ? data.inbox(user.uid, max) : null, `inbox-${user?.uid}-${max}`);
  const [error, setError] = useState<string | null>(null);

  const read = (body: { id: string } | { all: true }) =>
    api("POST /notifications/read", { body }).catch((err: unknown) =>
      setError(t("errorGeneric", { message: (err as Error).message })),
    );

  const open = (n: InboxItem) => {
    if (n.readAt === null) void read({ id: n.id });
    if (n.roomId && n.machineId)
      navigate(
        `/rooms/${encodeURIComponent(n.roomId)}/machines/${encodeURIComponent(n.machineId)}`,
      );
  };

  return (
    <div class="inbox">
      <div class="room-bar">
        <h1>{t("inboxTitle")}</h1>
        <button type="button" disabled={unread === 0} onClick={() => void read({ all: true })}>
          {t("markAllRead")}
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items.ready && items.value.length === 0 && <p>{t("inboxEmpty")}</p>}
      <ul class="notes">
        {items.value.map((n) => (
          <li key={n.id} class={n.readAt === null ? "unread" : ""} data-testid="notification">
            <button type="button" class="note" onClick={() => open(n)}>
              {n.readAt === null && <span class="sr-only">{t("unread")}: </span>}
              <strong>{n.title}</strong>
              <span>{n.body}</span>
              {n.createdAt !== null && (
                <time dateTime={new Date(n.createdAt).toISOString()}>
                  {ago(n.createdAt, now, locale)}
                </time>
              )}
            </button>
            {n.readAt === null && (
              <button type="button" class="quiet" onClick={() => void read({ id: n.id })}>
                {t("markRead")}
              </button>
            )}
          </li>
        ))}
      </ul>
      {items.value.length >= max && (
        <button type="button" onClick={() => setMax(max + PAGE)}>
          {t("more")}
        </button>
      )}
    </div>
  );
}
