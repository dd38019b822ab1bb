import { useApp } from "../app";
import { byId } from "../data";

/** The room `<select>` of the board and the statistics (shown only with several rooms). */
export function RoomPicker(props: {
  rooms: readonly { id: string; name: string }[];
  value: string | null;
  onPick: (roomId: string) => void;
}) {
  const { t } = useApp();
  if (props.rooms.length < 2) return null;
  return (
    <label class="room-pick">
      <span class="sr-only">{t("chooseRoom")}</span>
      <select value={props.value ?? ""} onChange={(e) => props.onPick(e.currentTarget.value)}>
        {[...props.rooms].sort(byId).map((r) => (
          <option key={r.id} value={r.id}>
            {r.name}
          </option>
        ))}
      </select>
    </label>
  );
}
