/**
 * What every entry point hands the code below it: the database, the clock and the settings, read
 * once (config.ts). Tests build one with their own database, a fixed clock and settings.
 */
import type { Firestore } from "firebase-admin/firestore";
import { type Settings, readSettings } from "./config";
import { db } from "./data/db";

export interface Invocation {
  db: Firestore;
  /**
   * The time, epoch ms. A clock, not the invocation's start: a transaction retried later stamps
   * what it writes (an offer's `offeredAt`) with the time it actually ran.
   */
  now: () => number;
  settings: Settings;
}

export function startInvocation(): Invocation {
  return { db: db(), now: Date.now, settings: readSettings() };
}
