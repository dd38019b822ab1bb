/**
 * The words users read: push and inbox texts, Korean first, English when the user's `locale`
 * asks for it. Pure: no firebase imports, no clock.
 *
 * Korean texts avoid subject/object particles that depend on the last syllable of a machine's
 * name (이/가, 을/를): names are admin-chosen ("세탁기 3", "A동 2번") and a digit's reading decides
 * the particle, so sentences use 의 or end the name phrase without a particle.
 */
import type { MachineType } from "./status";

export const LOCALES = ["ko", "en"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "ko";

/** A user's stored `locale` ("en", "en-US", "ko-KR", missing …) → the texts to use. Korean by default. */
export function resolveLocale(value: unknown): Locale {
  if (typeof value !== "string") return DEFAULT_LOCALE;
  const primary = value.trim().toLowerCase().split(/[-_]/)[0];
  return primary === "en" ? "en" : DEFAULT_LOCALE;
}

export interface MessageMachine {
  id: string;
  /** Display name, e.g. "세탁기 3". Empty or missing → "세탁기 3" / "Washer 3" from type and id. */
  name?: string | null;
  type: MachineType;
}

export interface MessageText {
  title: string;
  body: string;
}

/** What a machine of each type is called. */
export const TYPE_WORD: Record<Locale, Record<MachineType, string>> = {
  ko: { washer: "세탁기", dryer: "건조기" },
  en: { washer: "Washer", dryer: "Dryer" },
};

/** An English count: "1 minute", "2 minutes". */
export function countEn(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

function machineName(machine: MessageMachine, locale: Locale): string {
  return machine.name?.trim() || `${TYPE_WORD[locale][machine.type]} ${machine.id}`;
}

/** To a watcher (`notify_me`) of the machine that just finished. */
export function finishedMessage(machine: MessageMachine, locale: Locale): MessageText {
  const name = machineName(machine, locale);
  const dryer = machine.type === "dryer";
  return locale === "en"
    ? {
        title: dryer ? "Drying finished!" : "Wash finished!",
        body: `${name} has finished ${dryer ? "drying" : "washing"}. Please take your ${dryer ? "clothes" : "laundry"} out.`,
      }
    : {
        title: dryer ? "건조 완료!" : "세탁 완료!",
        body: `${name}의 ${dryer ? "건조가" : "세탁이"} 끝났어요. ${dryer ? "옷을" : "빨래를"} 꺼내 주세요.`,
      };
}

/**
 * To a room subscriber (`device_subscribe`) who was not watching the machine: the machine will be
 * free soon. `roomName` (null: unnamed) says which room, for users subscribed to several.
 */
export function roomFinishedMessage(
  machine: MessageMachine,
  locale: Locale,
  roomName: string | null,
): MessageText {
  const name = machineName(machine, locale);
  const room = roomName?.trim();
  const dryer = machine.type === "dryer";
  if (locale === "en") {
    const where = room ? `${name} in ${room}` : name;
    return {
      title: dryer ? `${name}: drying finished` : `${name}: wash finished`,
      body: `${where} has finished ${dryer ? "drying" : "washing"} and will be free soon.`,
    };
  }
  const where = room ? `${room} ${name}` : name;
  return {
    title: dryer ? `${name} 건조 완료` : `${name} 세탁 완료`,
    body: `${where}의 ${dryer ? "건조가" : "세탁이"} 끝났어요. 곧 사용할 수 있어요.`,
  };
}

/** To the first user in a room's queue: the machine is offered to them for `minutesToClaim`. */
export function offerMessage(
  machine: MessageMachine,
  minutesToClaim: number,
  locale: Locale,
): MessageText {
  const name = machineName(machine, locale);
  const minutes = Math.max(1, Math.round(minutesToClaim));
  return locale === "en"
    ? {
        title: "Your turn!",
        body: `${name} is free for you. Start it within ${countEn(minutes, "minute")} or it passes to the next person in line.`,
      }
    : {
        title: "내 차례예요!",
        body: `${name} 사용 차례예요. ${minutes}분 안에 사용을 시작하지 않으면 다음 분께 넘어가요.`,
      };
}

/** The machine as admins see it: its name and id, "세탁기 3(#3)" / "Washer 3 (#3)". */
function adminName(machine: MessageMachine, locale: Locale): string {
  return `${machineName(machine, locale)}${locale === "en" ? " " : ""}(#${machine.id})`;
}

/** To admins: a machine's sensor went silent. `lastSeenText` is already formatted ("14:05", "3분 전"). */
export function offlineAdminMessage(
  machine: MessageMachine,
  lastSeenText: string,
  locale: Locale,
): MessageText {
  const name = adminName(machine, locale);
  return locale === "en"
    ? { title: "Sensor offline", body: `${name} stopped reporting. Last seen: ${lastSeenText}.` }
    : {
        title: "센서 연결 끊김",
        body: `${name} 센서의 신호가 끊겼어요. 마지막 신호: ${lastSeenText}.`,
      };
}

/** To admins: a cycle too short or too long to be real was kept out of the statistics. */
export function implausibleCycleAdminMessage(
  machine: MessageMachine,
  totalMinutes: number,
  locale: Locale,
): MessageText {
  const name = adminName(machine, locale);
  return locale === "en"
    ? {
        title: "Implausible cycle",
        body: `${name} reported a ${totalMinutes}-minute cycle. It is kept out of the statistics; check the device clock.`,
      }
    : {
        title: "비정상 사이클",
        body: `${name}에서 ${totalMinutes}분짜리 사이클이 보고되어 통계에서 제외했어요. 기기 시계를 확인해 주세요.`,
      };
}

/** To admins: a user reported the machine broken. An empty `reason` leaves the reason out. */
export function brokenAdminMessage(
  machine: MessageMachine,
  reason: string,
  locale: Locale,
): MessageText {
  const name = adminName(machine, locale);
  const why = reason.trim() ? `: ${reason.trim()}` : ".";
  return locale === "en"
    ? { title: "Breakdown reported", body: `${name} was reported broken${why}` }
    : { title: "고장 신고", body: `${name} 고장 신고가 들어왔어요${why}` };
}

/** To admins: a console edit was refused (reverted or flagged), and why. */
export function configErrorMessage(
  what: { kind: "machine" | "room"; id: string; problems: { field: string; reason: string }[] },
  locale: Locale,
): MessageText {
  const list = what.problems.map((p) => `${p.field}: ${p.reason}`).join("; ");
  const machine = what.kind === "machine";
  return locale === "en"
    ? { title: "Console edit refused", body: `${machine ? "Machine" : "Room"} ${what.id}: ${list}` }
    : {
        title: "콘솔 수정이 반영되지 않았어요",
        body: `${machine ? "기계" : "세탁실"} ${what.id}: ${list}`,
      };
}

/**
 * The page a notification opens: the machine on its room's board in the PWA
 * (`/rooms/{roomId}/machines/{machineId}`), or the room's board without a machine.
 */
export function notificationLink(appUrl: string, roomId: string, machineId?: string): string {
  const room = `${appUrl.replace(/\/+$/, "")}/rooms/${encodeURIComponent(roomId)}`;
  return machineId ? `${room}/machines/${encodeURIComponent(machineId)}` : room;
}
