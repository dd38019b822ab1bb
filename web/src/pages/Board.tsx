/**
 * The live room board: every machine of the room (Firestore listeners on `machines` where
 * roomId == …, and `rooms/{id}` for its timers), the queue and any offer, the room subscription
 * and the tip. Machine state changes are announced to screen readers.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app";
import { type Machine, byId, useDoc, useQuery } from "../data";
import { pushState } from "../push";
import { useShell } from "../shell";
import { PushPrompt } from "../ui/PushPrompt";
import { RoomPicker } from "../ui/RoomPicker";
import { MachineCard } from "./MachineCard";
import { QueuePanel } from "./QueuePanel";
import { TipCard } from "./TipCard";
import { useLoad } from "./useLoad";

export function Board(props: { roomId: string | null; machineId: string | null }) {
  const { api, fb, t } = useApp();
  const { data, unread, roomId: savedRoom, setRoomId, navigate } = useShell();
  const rooms = useQuery(data.rooms, "rooms");
  const sortedRooms = [...rooms.value].sort(byId);
  const roomId =
    props.roomId ??
    (savedRoom && sortedRooms.some((r) => r.id === savedRoom) ? savedRoom : sortedRooms[0]?.id) ??
    null;
  const room = useDoc(roomId ? data.room(roomId) : null, `room-${roomId}`);
  const machines = useQuery(roomId ? data.machinesOf(roomId) : null, `machines-${roomId}`);
  const list = [...machines.value].sort(byId);
  const version = `${list.map((m) => `${m.id}:${m.status}:${m.outOfOrder}:${m.online}`).join(",")}|${unread}`;
  const load = useLoad(roomId, version);
  const [message, setMessage] = useState("");
  const [askPush, setAskPush] = useState(false);

  useEffect(() => {
    if (roomId && roomId !== savedRoom) setRoomId(roomId);
  }, [roomId]);

  useAnnounceChanges(list, (text) => setMessage(text));

  const watched = new Set(
    (load.view?.machine_list ?? []).filter((m) => m.isusing === 1).map((m) => String(m.machine_id)),
  );
  const reservation = load.view?.reservations.find((r) => String(r.room_id) === roomId) ?? null;
  const subscribed = (load.view?.subscribed_rooms ?? []).map(String).includes(roomId ?? "");

  const afterAction = () => {
    void load.refresh();
    if (pushState(fb) === "default" && !sessionStorage.getItem("washcall.pushAsked")) {
      setAskPush(true);
    }
  };

  if (rooms.ready && sortedRooms.length === 0) return <p>{t("noRooms")}</p>;
  if (room.ready && !room.value && roomId) return <p role="alert">{t("roomMissing")}</p>;

  return (
    <div class="board">
      <div class="room-bar">
        <h1>{room.value?.name ?? t("room")}</h1>
        <RoomPicker
          rooms={sortedRooms}
          value={roomId}
          onPick={(id) => navigate(`/rooms/${encodeURIComponent(id)}`)}
        />
      </div>
      <p class="sr-only" role="status" aria-live="polite">
        {message}
      </p>
      {message && (
        <p class="toast" aria-hidden="true">
          {message}
        </p>
      )}
      {askPush && (
        <PushPrompt
          onDone={() => {
            sessionStorage.setItem("washcall.pushAsked", "1");
            setAskPush(false);
          }}
        />
      )}
      {roomId && (
        <QueuePanel
          roomId={roomId}
          reservation={reservation}
          asOf={load.view?.now ?? null}
          skewMs={load.skewMs}
          loadError={load.error}
          retry={() => void load.refresh()}
          machines={list}
          onChange={afterAction}
          say={setMessage}
        />
      )}
      <h2 class="sr-only">{t("machines")}</h2>
      <section aria-label={t("machines")} class="machines">
        {!machines.ready && <p role="status">{t("loading")}</p>}
        {list.map((m) => (
          <MachineCard
            key={m.id}
            machine={m}
            room={room.value}
            watching={watched.has(m.id)}
            focused={props.machineId === m.id}
            onAction={afterAction}
            say={setMessage}
          />
        ))}
      </section>
      {roomId && (
        <label class="toggle">
          <input
            type="checkbox"
            checked={subscribed}
            onChange={(e) => {
              const on = e.currentTarget.checked;
              api("POST /device_subscribe", { body: { room_id: roomId, isusing: on ? 1 : 0 } })
                .then(afterAction)
                .catch((err: unknown) =>
                  setMessage(t("errorGeneric", { message: (err as Error).message })),
                );
            }}
          />
          {subscribed ? t("subscribed") : t("subscribeRoom")}
        </label>
      )}
      {roomId && <TipCard roomId={roomId} />}
    </div>
  );
}

/** Says "세탁기 2: 완료" when a machine's state changes while the board is open. */
function useAnnounceChanges(list: Machine[], say: (text: string) => void) {
  const { t } = useApp();
  const last = useRef<Map<string, string> | null>(null);
  useEffect(() => {
    const current = new Map(list.map((m) => [m.id, m.status]));
    const before = last.current;
    last.current = current;
    if (!before) return;
    for (const m of list) {
      const was = before.get(m.id);
      if (was && was !== m.status) say(t("updated", { machine: m.name, status: t(m.status) }));
    }
  }, [list.map((m) => `${m.id}:${m.status}`).join(",")]);
}
