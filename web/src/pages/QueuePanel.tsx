/**
 * The room's fair queue: length, the user's place and expected wait, join / leave, and an offer
 * with a live countdown and a claim button (POST /reserve, POST /reserve/claim).
 */
import { useEffect, useState } from "preact/hooks";
import { useApp } from "../app";
import type { Machine } from "../data";
import type { LoadView } from "./useLoad";

interface Props {
  roomId: string;
  reservation: LoadView["reservations"][number] | null;
  /** The server's time of the view (epoch ms), and its clock minus ours. */
  asOf: number | null;
  skewMs: number;
  loadError: string | null;
  retry: () => void;
  machines: Machine[];
  onChange: () => void;
  say: (message: string) => void;
}

function mmss(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function QueuePanel(props: Props) {
  const { roomId, reservation: r, machines, onChange, say, skewMs } = props;
  const { api, t, locale } = useApp();
  const [busy, setBusy] = useState(false);
  // The server's clock: an offer's window is the server's, whatever this phone's clock says.
  const serverNow = () => Date.now() + skewMs;
  const [now, setNow] = useState(serverNow);
  const offer = r?.offer ?? null;

  useEffect(() => {
    if (!offer) return undefined;
    setNow(serverNow());
    const timer = setInterval(() => setNow(serverNow()), 1000);
    return () => clearInterval(timer);
  }, [offer?.expires_at, skewMs]);

  async function run(work: () => Promise<unknown>, done?: string) {
    setBusy(true);
    try {
      await work();
      if (done) say(done);
      onChange();
    } catch (err) {
      say(t("errorGeneric", { message: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  }

  const queued = r?.isreserved === 1;
  const offeredName =
    machines.find((m) => m.id === String(offer?.machine_id))?.name ??
    String(offer?.machine_id ?? "");
  return (
    <section class="card queue" aria-labelledby="queue-title" data-as-of={props.asOf ?? undefined}>
      <h2 id="queue-title">{t("queueTitle")}</h2>
      {props.loadError && (
        <p class="error" role="alert">
          {t("loadFailed")}{" "}
          <button type="button" onClick={props.retry}>
            {t("retry")}
          </button>
        </p>
      )}
      {offer && offer.expires_at > now && (
        <div class="offer" data-testid="offer">
          <p class="offer-title" role="alert">
            {t("offerTitle", { machine: offeredName })}{" "}
            <span class="sr-only">
              {t("offerExpiresAt", {
                time: new Date(offer.expires_at - skewMs).toLocaleTimeString(locale, {
                  hour: "2-digit",
                  minute: "2-digit",
                }),
              })}
            </span>
          </p>
          <p aria-hidden="true">{t("offerCountdown", { time: mmss(offer.expires_at - now) })}</p>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() =>
              void run(
                () =>
                  api("POST /reserve/claim", {
                    body: { room_id: roomId, machine_id: String(offer.machine_id) },
                  }),
                t("offerClaimed"),
              )
            }
          >
            {t("offerClaim")}
          </button>
        </div>
      )}
      <p data-testid="queue-length">
        {r && r.queue_length > 0 ? t("queueLength", { n: r.queue_length }) : t("queueEmpty")}
      </p>
      {queued && r?.queue_position != null && (
        <p data-testid="queue-position">
          <strong>{t("queuePosition", { n: r.queue_position })}</strong>
          {r.expected_wait_minutes != null && (
            <> · {t("queueWait", { n: r.expected_wait_minutes })}</>
          )}
        </p>
      )}
      <button
        type="button"
        class={queued ? "secondary" : "primary"}
        disabled={busy || !r}
        onClick={() =>
          void run(() =>
            api("POST /reserve", { body: { room_id: roomId, isreserved: queued ? 0 : 1 } }),
          )
        }
      >
        {queued ? t("queueLeave") : t("queueJoin")}
      </button>
    </section>
  );
}
