/**
 * The congestion heatmap: `congestion/{roomId}` live, weekday × hour (KST), as a table a screen
 * reader can walk (each cell says its day, hour and count) shaded by how busy it is.
 */
import { useApp } from "../app";
import { useDoc, useQuery } from "../data";
import { useShell } from "../shell";
import { RoomPicker } from "../ui/RoomPicker";

export function Stats(props: { roomId: string | null }) {
  const { t } = useApp();
  const { data, roomId: saved, navigate } = useShell();
  const rooms = useQuery(data.rooms, "rooms");
  const roomId = props.roomId ?? saved ?? rooms.value[0]?.id ?? null;
  const grid = useDoc(roomId ? data.congestion(roomId) : null, `congestion-${roomId}`);
  const days = t("weekdays").split(",");
  const cells = grid.value ?? Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  const max = Math.max(1, ...cells.flat());
  return (
    <div class="stats">
      <div class="room-bar">
        <h1>{t("statsTitle")}</h1>
        <RoomPicker
          rooms={rooms.value}
          value={roomId}
          onPick={(id) => navigate(`/stats?room=${encodeURIComponent(id)}`)}
        />
      </div>
      <p class="hint">{t("statsHint")}</p>
      <div class="heat-wrap">
        <table class="heat">
          <caption class="sr-only">{t("statsHint")}</caption>
          <thead>
            <tr>
              <td class="corner" />
              {Array.from({ length: 24 }, (_, h) => (
                <th key={h} scope="col">
                  {h % 3 === 0 ? h : <span class="sr-only">{h}</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {cells.map((row, d) => (
              <tr key={d}>
                <th scope="row">{days[d]}</th>
                {row.map((n, h) => (
                  <td
                    key={h}
                    style={{ "--heat": String(n / max) }}
                    title={t("statsCell", { day: days[d] ?? "", hour: h, n })}
                  >
                    <span class="sr-only">{n}</span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
