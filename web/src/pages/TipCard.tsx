/** The best-time-to-wash tip (GET /tip), fetched when the room is opened. */
import { useEffect, useState } from "preact/hooks";
import { useApp } from "../app";

export function TipCard({ roomId }: { roomId: string }) {
  const { api, t, locale } = useApp();
  const [tip, setTip] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setFailed(false);
    api("GET /tip", { query: { room_id: roomId } })
      .then((r) => live && setTip(r.tip))
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [api, roomId, locale]);
  return (
    <section class="card tip" aria-labelledby="tip-title">
      <h2 id="tip-title">{t("tipTitle")}</h2>
      <p data-testid="tip">{failed ? t("tipNone") : (tip ?? t("loading"))}</p>
    </section>
  );
}
