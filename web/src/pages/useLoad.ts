/**
 * `POST /load` for one room: what only the server knows (which machines the user watches, the
 * user's place in the queue and any offer, room subscription). Fetched on open, again whenever a
 * live document says something changed (`version`), and when the resident comes back to the app
 * (the page becomes visible); never on a timer.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app";
import type { ResponseOf } from "../api";

export type LoadView = ResponseOf<"POST /load">;

export interface Load {
  /** The server's view of `roomId`, or null until it arrived (never another room's). */
  view: LoadView | null;
  error: string | null;
  /** Server clock minus this device's clock when the view arrived, ms (offers count on it). */
  skewMs: number;
  refresh: () => Promise<void>;
}

export function useLoad(roomId: string | null, version: string): Load {
  const { api } = useApp();
  const [state, setState] = useState<{
    room: string | null;
    view: LoadView | null;
    skewMs: number;
  }>({ room: null, view: null, skewMs: 0 });
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);

  const refresh = useCallback(async () => {
    if (!roomId) return;
    const mine = ++seq.current;
    try {
      const v = await api("POST /load", { body: { room_id: roomId } });
      if (mine === seq.current) {
        setState({ room: roomId, view: v, skewMs: v.now - Date.now() });
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

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === "visible") void refresh();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [refresh]);

  return {
    view: state.room === roomId ? state.view : null,
    error,
    skewMs: state.skewMs,
    refresh,
  };
}
