/**
 * The tick's notifications (reminders, admin offline notices), delivered by the shared deliverer
 * (store/inbox.ts): one inbox entry and one push per user per key, a repeated tick writes nothing,
 * and a push an earlier tick owes (it died between the entry and the push) is sent once its grace
 * period is over. This file only maps the tick's notices onto the deliverer's items and counts
 * reads and writes into the tick's counters.
 */
import * as logger from "firebase-functions/logger";
import type { Firestore } from "firebase-admin/firestore";
import type { Locale, MessageText } from "../../domain/messages";
import type { PushTransport } from "../../services/fcm/transport";
import { deliverInbox } from "../../store/inbox";
import type { TickCounters } from "./base";

export interface TickNotifyDeps {
  db: Firestore;
  now: number;
  transport: PushTransport;
  appUrl: string;
  sleep?: (ms: number) => Promise<void>;
  counters: TickCounters;
}

export interface TickNotification {
  /** Deterministic inbox id (a reminder key, an offline notice key). */
  key: string;
  uid: string;
  /** Inbox `type`: `finishing_soon`, `laundry_left`, `machine_offline`. */
  type: string;
  machineId: string;
  roomId: string | null;
  /** The text in the user's language. */
  text: (locale: Locale) => MessageText;
  /** Extra inbox fields (e.g. `cycleId`). */
  extra?: Record<string, string | number | null>;
  ttlSeconds: number;
}

export interface DeliverReport {
  created: number;
  alreadyDone: number;
  /** Existing entries whose owed push was sent now. */
  recovered: number;
  pushed: number;
  pushFailed: number;
}

export async function deliverTickNotifications(
  deps: TickNotifyDeps,
  items: readonly TickNotification[],
): Promise<DeliverReport> {
  if (items.length === 0) {
    return { created: 0, alreadyDone: 0, recovered: 0, pushed: 0, pushFailed: 0 };
  }
  const report = await deliverInbox(
    {
      db: deps.db,
      now: () => deps.now,
      transport: deps.transport,
      appUrl: deps.appUrl,
      counters: deps.counters,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
    items.map((n) => ({
      uid: n.uid,
      notificationId: n.key,
      type: n.type,
      machineId: n.machineId,
      roomId: n.roomId,
      text: n.text,
      ...(n.extra ? { extra: n.extra } : {}),
      ttlSeconds: n.ttlSeconds,
    })),
  );
  if (report.created + report.recovered > 0) logger.info("tick notifications", { ...report });
  return report;
}
