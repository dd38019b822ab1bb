/**
 * One machine on the board: state, time left with its range, badges (finishing soon, offline,
 * out of order), last signal, and what a resident can do with it (watch, start a course, report
 * a problem).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app";
import { ApiError } from "../api";
import type { Machine, Room } from "../data";
import { COURSES, type CourseKey, courseLabel } from "../courses";
import { ago } from "../i18n";
import { useShell } from "../shell";
import { FormDialog } from "../ui/FormDialog";
import { timingOf } from "./timing";

interface Props {
  machine: Machine;
  room: Room | null;
  watching: boolean;
  focused: boolean;
  /** After any action: refresh the server view, maybe ask for push. */
  onAction: (kind: "watch" | "course" | "broken") => void;
  say: (message: string) => void;
}

export function MachineCard({ machine: m, room, watching, focused, onAction, say }: Props) {
  const { api, t, locale } = useApp();
  const { now } = useShell();
  const [dialog, setDialog] = useState<"course" | "broken" | null>(null);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLElement>(null);
  const timing = timingOf(m, room, now);

  useEffect(() => {
    if (focused && ref.current) {
      ref.current.scrollIntoView({ block: "center" });
      ref.current.focus();
    }
  }, [focused]);

  async function act(work: () => Promise<unknown>, kind: "watch" | "course" | "broken") {
    setBusy(true);
    try {
      await work();
      onAction(kind);
    } catch (err) {
      say(
        err instanceof ApiError && err.status === 0
          ? t("errorNetwork")
          : t("errorGeneric", { message: (err as Error).message }),
      );
    } finally {
      setBusy(false);
    }
  }

  const status = m.outOfOrder ? t("outOfOrder") : t(m.status);
  const headingId = `machine-${m.id}-name`;
  return (
    <article
      ref={ref}
      class={`machine ${timing.running ? "running" : "idle"}${focused ? " focused" : ""}`}
      aria-labelledby={headingId}
      tabIndex={-1}
      data-machine={m.id}
      data-status={m.status}
    >
      <div class="machine-head">
        <h3 id={headingId}>{m.name}</h3>
        <span class="type">{t(m.type)}</span>
      </div>
      <p
        class={`status s-${m.outOfOrder ? "broken" : m.status.toLowerCase()}`}
        data-testid="status"
      >
        {status}
      </p>
      {timing.running && (
        <p class="left" data-testid="time-left">
          {timing.minutesLeft !== null && (
            <strong>{t("minutesLeft", { n: timing.minutesLeft })}</strong>
          )}
          {timing.range && (
            <span class="range">
              {" "}
              ({t("range", { low: timing.range.low, high: timing.range.high })})
            </span>
          )}
        </p>
      )}
      <p class="badges">
        {timing.running && timing.soon && <span class="chip soon">{t("finishingSoon")}</span>}
        {!m.online && <span class="chip offline">{t("offline")}</span>}
        {m.outOfOrder && <span class="chip broken">{t("outOfOrder")}</span>}
        {watching && <span class="chip watch">{t("watching")}</span>}
      </p>
      {m.course && timing.running && (
        <p class="meta">{t("course", { name: courseLabel(m.course, t) })}</p>
      )}
      <p class="meta">
        {m.lastSeenAt !== null
          ? t("lastSeen", { when: ago(m.lastSeenAt, now, locale) })
          : t("neverSeen")}
      </p>
      <div class="actions">
        <button
          type="button"
          class={watching ? "secondary" : "primary"}
          aria-pressed={watching}
          disabled={busy || m.outOfOrder}
          onClick={() =>
            void act(
              () =>
                api("POST /notify_me", { body: { machine_id: m.id, isusing: watching ? 0 : 1 } }),
              "watch",
            )
          }
        >
          {watching ? t("unwatch") : t("watch")}
        </button>
        <button type="button" disabled={busy || m.outOfOrder} onClick={() => setDialog("course")}>
          {t("startCourse")}
        </button>
        <button type="button" class="quiet" disabled={busy} onClick={() => setDialog("broken")}>
          {t("reportBroken")}
        </button>
      </div>
      {dialog === "course" && (
        <CourseDialog
          machine={m}
          onClose={() => setDialog(null)}
          onDone={(message) => {
            setDialog(null);
            say(message);
            onAction("course");
          }}
        />
      )}
      {dialog === "broken" && (
        <BrokenDialog
          machine={m}
          onClose={() => setDialog(null)}
          onDone={(message) => {
            setDialog(null);
            say(message);
            onAction("broken");
          }}
        />
      )}
    </article>
  );
}

function CourseDialog(props: {
  machine: Machine;
  onClose: () => void;
  onDone: (msg: string) => void;
}) {
  const { api, t } = useApp();
  const [course, setCourse] = useState<CourseKey>("standard");
  return (
    <FormDialog
      title={`${props.machine.name}: ${t("startCourse")}`}
      submitLabel={t("startCourse")}
      onClose={props.onClose}
      onDone={props.onDone}
      submit={async () => {
        const r = await api("POST /start_course", {
          body: { machine_id: props.machine.id, course_name: course },
        });
        return t("startedCourse", {
          name: courseLabel(r.course_name, t),
          n: r.expected_minutes,
          low: r.expected_range.low_minutes,
          high: r.expected_range.high_minutes,
        });
      }}
    >
      <label>
        {t("courseName")}
        <select value={course} onChange={(e) => setCourse(e.currentTarget.value as CourseKey)}>
          {COURSES.map((c) => (
            <option key={c} value={c}>
              {courseLabel(c, t)}
            </option>
          ))}
        </select>
      </label>
    </FormDialog>
  );
}

function BrokenDialog(props: {
  machine: Machine;
  onClose: () => void;
  onDone: (msg: string) => void;
}) {
  const { api, t } = useApp();
  const [reason, setReason] = useState("");
  return (
    <FormDialog
      title={`${props.machine.name}: ${t("reportBroken")}`}
      submitLabel={t("send")}
      onClose={props.onClose}
      onDone={props.onDone}
      submit={async () => {
        const r = await api("POST /report_broken", {
          body: { machine_id: props.machine.id, reason },
        });
        return r.counted
          ? t("brokenThanks", { n: r.reports, threshold: r.threshold })
          : t("brokenNotCounted");
      }}
    >
      <label>
        {t("brokenReason")}
        <textarea
          required
          maxLength={200}
          rows={3}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      </label>
    </FormDialog>
  );
}
