/**
 * `POST /load` for one room: what only the server knows (which machines the user watches, the
 * user's place in the queue and any offer, room subscription). Fetched on open and again
 * whenever a live document says something changed (`version`), never on a timer.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app";
import type { ResponseOf } from "../api";

export type LoadView = ResponseOf<"POST /load">;

export function useLoad(roomId: string | null, version: string) {
  const { api } = useApp();
  const [view, setView] = useState<LoadView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);

  const refresh = useCallback(async () => {
    if (!roomId) return;
    const mine = ++seq.current;
    try {
      const v = await api("POST /load", { body: { room_id: roomId } });
      if (mine === seq.current) {
        setView(v);
        setError(null);
      }
    } catch (err) {
      if (mine === seq.current) setError((err as Error).message);
    }
  }, [api, roomId]);

  useEffect(() => {
    // Several documents change together (a report, the tick): one request for the burst.
    const timer = setTimeout(() => void refresh(), 150);
    return () => clearTimeout(timer);
  }, [refresh, version]);

  return { view, error, refresh };
}
