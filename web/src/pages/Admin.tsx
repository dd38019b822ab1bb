/**
 * Admin pages (the `admin: true` claim; the api enforces it): add a room and a device (the
 * secret shown once, with the firmware lines to copy), rotate a secret, calibration on/off,
 * put a broken machine back in order, read the survey answers. Loaded only for admins.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app";
import type { ResponseOf } from "../api";
import { byId, useQuery } from "../data";
import { useShell } from "../shell";

type Secret = ResponseOf<"POST /admin/add_device">;

export function Admin() {
  const { api, t } = useApp();
  const { data } = useShell();
  const rooms = useQuery(data.rooms, "rooms");
  const machines = useQuery(data.allMachines, "all-machines");
  const [note, setNote] = useState<string | null>(null);
  const [secret, setSecret] = useState<Secret | null>(null);

  const fail = (err: unknown) => setNote(t("errorGeneric", { message: (err as Error).message }));
  const sortedRooms = [...rooms.value].sort(byId);

  return (
    <div class="admin">
      <h1>{t("adminTitle")}</h1>
      {note && (
        <p role="status" class="toast-inline">
          {note}
        </p>
      )}
      {secret && <SecretOnce secret={secret} onClose={() => setSecret(null)} />}
      <AddRoom
        onAdded={(r) => setNote(t("roomAdded", { name: r.room_name, id: r.room_id }))}
        onError={fail}
      />
      <AddDevice rooms={sortedRooms} onAdded={setSecret} onError={fail} />
      <section class="card" aria-labelledby="machines-title">
        <h2 id="machines-title">{t("machines")}</h2>
        <ul class="admin-machines">
          {[...machines.value].sort(byId).map((m) => (
            <li key={m.id} data-machine={m.id}>
              <span>
                <strong>
                  #{m.id} {m.name}
                </strong>{" "}
                · {t(m.type)} · {rooms.value.find((r) => r.id === m.roomId)?.name ?? "—"}
                {m.outOfOrder && <span class="chip broken">{t("outOfOrder")}</span>}
                {m.calibration && <span class="chip watch">{t("calibrating")}</span>}
              </span>
              <span class="actions">
                <button
                  type="button"
                  onClick={() => {
                    if (!window.confirm(t("confirmRotate", { machine: m.name }))) return;
                    void api("POST /admin/rotate_device_secret", { body: { machine_id: m.id } })
                      .then(setSecret)
                      .catch(fail);
                  }}
                >
                  {t("rotate")}
                </button>
                <button
                  type="button"
                  aria-pressed={m.calibration}
                  onClick={() =>
                    void api("POST /admin/calibration", {
                      body: { machine_id: m.id, on: m.calibration ? 0 : 1 },
                    })
                      .then(() => setNote(t("done")))
                      .catch(fail)
                  }
                >
                  {m.calibration ? t("calibrationOff") : t("calibrationOn")}
                </button>
                {m.outOfOrder && (
                  <button
                    type="button"
                    onClick={() =>
                      void api("POST /admin/clear_broken", { body: { machine_id: m.id } })
                        .then(() => setNote(t("done")))
                        .catch(fail)
                    }
                  >
                    {t("clearBroken")}
                  </button>
                )}
              </span>
            </li>
          ))}
        </ul>
      </section>
      <Surveys />
    </div>
  );
}

function AddRoom(props: {
  onAdded: (r: ResponseOf<"POST /admin/add_room">) => void;
  onError: (err: unknown) => void;
}) {
  const { api, t } = useApp();
  const [name, setName] = useState("");
  return (
    <form
      class="card"
      aria-labelledby="add-room-title"
      onSubmit={(e) => {
        e.preventDefault();
        api("POST /admin/add_room", { body: { room_name: name } })
          .then((r) => {
            setName("");
            props.onAdded(r);
          })
          .catch(props.onError);
      }}
    >
      <h2 id="add-room-title">{t("addRoom")}</h2>
      <label>
        {t("roomName")}
        <input
          required
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <button type="submit" class="primary">
        {t("add")}
      </button>
    </form>
  );
}

function AddDevice(props: {
  rooms: { id: string; name: string }[];
  onAdded: (s: Secret) => void;
  onError: (err: unknown) => void;
}) {
  const { api, t } = useApp();
  const [roomId, setRoomId] = useState("");
  const [machineId, setMachineId] = useState("");
  const [name, setName] = useState("");
  const [type, setType] = useState<"washer" | "dryer">("washer");
  const [secret, setSecret] = useState("");
  const room = roomId || props.rooms[0]?.id || "";
  return (
    <form
      class="card"
      aria-labelledby="add-device-title"
      onSubmit={(e) => {
        e.preventDefault();
        api("POST /admin/add_device", {
          body: {
            room_id: room,
            machine_id: machineId,
            machine_name: name,
            machine_type: type,
            ...(secret ? { secret_key: secret } : {}),
          },
        })
          .then((s) => {
            setMachineId("");
            setName("");
            setSecret("");
            props.onAdded(s);
          })
          .catch(props.onError);
      }}
    >
      <h2 id="add-device-title">{t("addDevice")}</h2>
      <label>
        {t("room")}
        <select value={room} onChange={(e) => setRoomId(e.currentTarget.value)} required>
          {props.rooms.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("machineId")}
        <input
          required
          inputMode="numeric"
          pattern="[1-9][0-9]{0,8}"
          value={machineId}
          onInput={(e) => setMachineId(e.currentTarget.value)}
        />
      </label>
      <label>
        {t("machineName")}
        <input
          required
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        {t("machineType")}
        <select
          value={type}
          onChange={(e) => setType(e.currentTarget.value === "dryer" ? "dryer" : "washer")}
        >
          <option value="washer">{t("washer")}</option>
          <option value="dryer">{t("dryer")}</option>
        </select>
      </label>
      <label>
        {t("secretOptional")}
        <input
          autoComplete="off"
          maxLength={256}
          value={secret}
          onInput={(e) => setSecret(e.currentTarget.value)}
        />
      </label>
      <button type="submit" class="primary">
        {t("add")}
      </button>
    </form>
  );
}

/** The device secret, shown once: it is not stored anywhere the PWA can read it again. */
function SecretOnce({ secret, onClose }: { secret: Secret; onClose: () => void }) {
  const { t } = useApp();
  const [copied, setCopied] = useState<string | null>(null);
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView({ block: "start" });
    ref.current?.focus();
  }, [secret.secret_key]);
  const copy = (label: string, text: string) =>
    void navigator.clipboard
      ?.writeText(text)
      .then(() => setCopied(label))
      .catch(() => setCopied(null));
  return (
    <section
      ref={ref}
      tabIndex={-1}
      class="card secret"
      aria-labelledby="secret-title"
      data-testid="secret-once"
    >
      <h2 id="secret-title">
        #{secret.machine_id} {secret.machine_name}
      </h2>
      <p class="warn" role="alert">
        {t("secretOnce")}
      </p>
      <p>
        {t("secretKey")}: <code data-testid="secret-key">{secret.secret_key}</code>{" "}
        <button type="button" onClick={() => copy("secret", secret.secret_key)}>
          {copied === "secret" ? t("copied") : t("copy")}
        </button>
      </p>
      {secret.warnings.length > 0 && (
        <div>
          <h3>{t("warnings")}</h3>
          <ul>
            {secret.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      )}
      <h3>{t("snippet")}</h3>
      <pre>
        <code>{secret.firmware_snippet}</code>
      </pre>
      <div class="actions">
        <button type="button" onClick={() => copy("snippet", secret.firmware_snippet)}>
          {copied === "snippet" ? t("copied") : t("copy")}
        </button>
        <button type="button" class="primary" onClick={onClose}>
          {t("close")}
        </button>
      </div>
    </section>
  );
}

function Surveys() {
  const { api, t } = useApp();
  const [view, setView] = useState<ResponseOf<"GET /admin/surveys"> | null>(null);
  useEffect(() => {
    api("GET /admin/surveys")
      .then(setView)
      .catch(() => setView(null));
  }, [api]);
  return (
    <section class="card" aria-labelledby="surveys-title">
      <h2 id="surveys-title">{t("surveysTitle")}</h2>
      {view && view.average_satisfaction !== null && (
        <p>{t("average", { n: view.average_satisfaction.toFixed(1) })}</p>
      )}
      {view && view.surveys.length === 0 && <p>{t("noSurveys")}</p>}
      <ul>
        {view?.surveys.map((s, i) => (
          <li key={i}>
            {"★".repeat(s.satisfaction)} {s.suggestion ?? ""}{" "}
            <time dateTime={s.created_at}>{s.created_at.slice(0, 10)}</time>
          </li>
        ))}
      </ul>
    </section>
  );
}
