/**
 * What every entry point hands the code below it: the database, the invocation's clock and the
 * settings, read once (config.ts). Tests build one with their own database, clock and settings.
 */
import type { Firestore } from "firebase-admin/firestore";
import { type Settings, readSettings } from "./config";
import { db } from "./data/db";

export interface Invocation {
  db: Firestore;
  /** The invocation's time (the event's, or the request's arrival), epoch ms. */
  now: number;
  settings: Settings;
}

export function startInvocation(now: number = Date.now()): Invocation {
  return { db: db(), now, settings: readSettings() };
}
