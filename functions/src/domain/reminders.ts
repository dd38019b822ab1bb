/**
 * Reminders the tick sends, decided for one machine at one `now`. Pure.
 *
 * - `finishingSoon` (N = 5 min): to every user who asked, once per cycle, on the first tick with
 *   0 < time left ≤ N. Key `soon-${machineId}-${cycleStartedAt}-${uid}`.
 * - `laundryLeft` (M = 15 min): to the user who started the cycle and its watchers, once, on the
 *   first tick at least M after FINISHED if no new cycle started since, and not later than M +
 *   `maxLateMinutes` (a tick down for a day does not wake people about yesterday's laundry).
 *   Key `leftover-${machineId}-${finishedAt}-${uid}`.
 *
 * The keys are deterministic: the caller creates each reminder under its key only if absent, so
 * a repeated tick sends nothing new.
 */
import { DEFAULT_LOCALE, type Locale, type MessageText, TYPE_WORD, countEn } from "./messages";
import { type MachineStatus, type MachineType, isRunning } from "./status";
import { MINUTE_MS, minutesUntil } from "./time";

export const DEFAULT_SOON_MINUTES = 5;
export const DEFAULT_LEFTOVER_MINUTES = 15;
/** A laundry-left reminder is given up this many minutes after it became due. */
const LEFTOVER_MAX_LATE_MINUTES = 60;

export type ReminderKind = "finishingSoon" | "laundryLeft";

interface ReminderMachine {
  machineId: string;
  name: string;
  type: MachineType;
  status: MachineStatus;
  cycleStartedAt: number | null;
}

export interface Reminder {
  /** One reminder per user, machine, cycle and kind. */
  key: string;
  kind: ReminderKind;
  uid: string;
  machineId: string;
  /** Minutes left (`finishingSoon`) or since FINISHED (`laundryLeft`), as in the text. */
  minutes: number;
}

export interface FinishingSoonInput {
  machine: ReminderMachine & { expectedEndAt: number | null };
  /** Uids of the users who asked. */
  subscribers: readonly string[];
  now: number;
  /** N: remind when at most this many minutes are left. */
  minutes: number;
}

export function finishingSoonReminders(input: FinishingSoonInput): Reminder[] {
  const { machine, now } = input;
  if (!isRunning(machine.status)) return [];
  if (machine.cycleStartedAt === null || machine.expectedEndAt === null) return [];
  const leftMs = machine.expectedEndAt - now;
  if (!(leftMs > 0 && leftMs <= input.minutes * MINUTE_MS)) return [];
  const minutes = minutesUntil(now, machine.expectedEndAt);
  return [...new Set(input.subscribers)].map((uid) => ({
    key: `soon-${machine.machineId}-${machine.cycleStartedAt}-${uid}`,
    kind: "finishingSoon",
    uid,
    machineId: machine.machineId,
    minutes,
  }));
}

export interface LaundryLeftInput {
  /** `cycleStartedAt`: the start of the cycle running now, if any. */
  machine: ReminderMachine & {
    /** When the latest cycle FINISHED; null if none. */
    finishedAt: number | null;
  };
  /** Uids of who started the finished cycle and who watched it. */
  recipients: readonly string[];
  now: number;
  /** M: remind this many minutes after FINISHED. */
  minutes: number;
}

export function laundryLeftReminders(input: LaundryLeftInput): Reminder[] {
  const { machine, now } = input;
  const { finishedAt } = machine;
  if (finishedAt === null || isRunning(machine.status)) return [];
  if (machine.cycleStartedAt !== null && machine.cycleStartedAt > finishedAt) return [];
  const sinceMs = now - finishedAt;
  const dueMs = input.minutes * MINUTE_MS;
  if (sinceMs < dueMs || sinceMs >= dueMs + LEFTOVER_MAX_LATE_MINUTES * MINUTE_MS) return [];
  return [...new Set(input.recipients)].map((uid) => ({
    key: `leftover-${machine.machineId}-${finishedAt}-${uid}`,
    kind: "laundryLeft",
    uid,
    machineId: machine.machineId,
    minutes: Math.floor(sinceMs / MINUTE_MS),
  }));
}

/** Title and body of a reminder, in the user's language. */
export function reminderText(
  kind: ReminderKind,
  machine: Pick<ReminderMachine, "name" | "type">,
  minutes: number,
  locale: Locale = DEFAULT_LOCALE,
): MessageText {
  const label = machineLabel(machine, locale);
  const dryer = machine.type === "dryer";
  if (locale === "ko") {
    const work = dryer ? "건조가" : "세탁이";
    return kind === "finishingSoon"
      ? { title: `곧 ${work} 끝나요`, body: `${label} ${work} ${minutes}분 후 끝나요` }
      : {
          title: dryer ? "건조된 옷을 꺼내 주세요" : "세탁물을 꺼내 주세요",
          body: `${label} ${work} ${minutes}분 전에 끝났어요. ${dryer ? "옷이" : "세탁물이"} 아직 안에 있어요`,
        };
  }
  const mins = countEn(minutes, "minute");
  const work = dryer ? "drying" : "washing";
  return kind === "finishingSoon"
    ? {
        title: dryer ? "Drying almost done" : "Wash almost done",
        body: `${label} finishes ${work} in ${mins}`,
      }
    : {
        title: dryer ? "Clothes still in the dryer" : "Laundry still inside",
        body: `${label} finished ${work} ${mins} ago. Your ${dryer ? "clothes are" : "laundry is"} still inside`,
      };
}

/**
 * The machine's name as the text shows it: a leading type word ("세탁기 3", "Dryer 5") is put in
 * the reader's language, a bare number gets one ("3" → "세탁기 3"), any other name is kept.
 */
export function machineLabel(
  machine: Pick<ReminderMachine, "name" | "type">,
  locale: Locale = DEFAULT_LOCALE,
): string {
  const word = TYPE_WORD[locale][machine.type];
  const name = machine.name.trim();
  const typed = /^(세탁기|건조기|washer|dryer)\s*(.*)$/i.exec(name);
  const rest = typed ? typed[2] : /^\d*$/.test(name) ? name : null;
  if (rest === null) return name;
  return rest ? `${word} ${rest}` : word;
}
