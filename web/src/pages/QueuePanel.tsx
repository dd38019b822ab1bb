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
  machines: Machine[];
  onChange: () => void;
  say: (message: string) => void;
}

function mmss(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function QueuePanel({ roomId, reservation: r, machines, onChange, say }: Props) {
  const { api, t } = useApp();
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(Date.now());
  const offer = r?.offer ?? null;

  useEffect(() => {
    if (!offer) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [offer?.expires_at]);

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
    <section class="card queue" aria-labelledby="queue-title">
      <h2 id="queue-title">{t("queueTitle")}</h2>
      {offer && offer.expires_at > now && (
        <div class="offer" role="alert" data-testid="offer">
          <p class="offer-title">{t("offerTitle", { machine: offeredName })}</p>
          <p>{t("offerCountdown", { time: mmss(offer.expires_at - now) })}</p>
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
