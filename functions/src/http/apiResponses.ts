/**
 * The 200 bodies of the `api` routes that answer views (status, queue, inbox, tip, …). Each
 * route names its schema in `response`; the handler's body must type-check against it,
 * docs/openapi.json shows it, the PWA's client is typed from it, and
 * test/integration/api-responses.test.ts checks real answers against it. Objects are strict: a
 * field the schema does not list fails that test, so the documentation cannot drift.
 */
import { z } from "zod";
import { LOCALES } from "../domain/messages";
import { MACHINE_STATUSES, MACHINE_TYPES } from "../domain/status";
import { PLATFORMS } from "./apiSchemas";

/** Ids go out as the seed's integers when they are decimal, else as the document id. */
const IdOutSchema = z.union([z.number().int(), z.string()]);
const OnOff = z.union([z.literal(0), z.literal(1)]);
const EpochMs = z.number().int().describe("Epoch milliseconds");

/** Machines by availability, in a room or in the `POST /load` answer. */
const AvailabilityCounts = {
  total: z.number().int(),
  free: z.number().int(),
  busy: z.number().int(),
  offline: z.number().int(),
  out_of_order: z.number().int(),
};

export const HealthResponseSchema = z.union([
  z.strictObject({ status: z.literal("ok") }),
  z.strictObject({
    status: z.literal("ok"),
    version: z.string(),
    firestore: z.literal("ok"),
    time: z.string().describe("Server time, ISO 8601"),
  }),
]);

export const NotifyMeResponseSchema = z.strictObject({
  message: z.literal("ok"),
  machine_id: z.number().int(),
  isusing: OnOff,
});

export const DeviceSubscribeResponseSchema = z.strictObject({
  message: z.literal("ok"),
  room_id: z.number().int(),
  isusing: OnOff,
});

export const SetFcmTokenResponseSchema = z.strictObject({
  message: z.literal("ok"),
  platform: z.enum(PLATFORMS),
});

export const SettingsResponseSchema = z.strictObject({
  message: z.literal("ok"),
  locale: z.enum(LOCALES),
});

export const LogoutResponseSchema = z.strictObject({
  message: z.literal("ok"),
  removed: z.boolean().describe("false when the token was not registered"),
});

export const InboxEntrySchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  body: z.string(),
  type: z.string(),
  machineId: z.string().nullable(),
  roomId: z.string().nullable(),
  createdAt: EpochMs.nullable(),
  readAt: EpochMs.nullable(),
});

export const NotificationsResponseSchema = z.strictObject({
  notifications: z.array(InboxEntrySchema),
  next_cursor: z
    .string()
    .nullable()
    .describe("Pass as `cursor` for the next page; null at the end"),
  unread_count: z.number().int(),
});

export const NotificationsReadResponseSchema = z.strictObject({
  message: z.literal("ok"),
  marked: z.number().int().describe("Notifications that were unread and now are read"),
});

const OfferSchema = z.strictObject({
  machine_id: IdOutSchema,
  offered_at: EpochMs,
  expires_at: EpochMs.describe("Claim before this time"),
});

/** The user's place in one room's queue. */
export const ReservationSchema = z.strictObject({
  room_id: IdOutSchema,
  room_name: z.string(),
  isreserved: OnOff,
  queue_position: z.number().int().nullable().describe("1 = first in line; null = not queued"),
  expected_wait_minutes: z.number().int().nullable(),
  queue_length: z.number().int(),
  offer: OfferSchema.nullable(),
});

export const ReserveResponseSchema = z.union([
  ReservationSchema.extend({ message: z.literal("ok"), joined: z.boolean() }),
  ReservationSchema.extend({ message: z.literal("ok"), left: z.boolean() }),
]);

export const ReserveClaimResponseSchema = z.strictObject({
  message: z.literal("claimed"),
  room_id: IdOutSchema,
  machine_id: IdOutSchema,
  offered_at: EpochMs,
  expires_at: EpochMs,
  claimed_at: EpochMs,
  isreserved: z.literal(0),
});

export const RoomsResponseSchema = z.strictObject({
  rooms: z.array(
    z.strictObject({
      room_id: IdOutSchema,
      room_name: z.string(),
      ...AvailabilityCounts,
      washers_free: z.number().int(),
      dryers_free: z.number().int(),
      queue_length: z.number().int(),
      isreserved: OnOff,
      queue_position: z.number().int().nullable(),
    }),
  ),
});

const MachineListItemSchema = z.strictObject({
  machine_id: IdOutSchema,
  machine_name: z.string(),
  room_id: IdOutSchema,
  room_name: z.string().nullable(),
  machine_type: z.enum(MACHINE_TYPES),
  status: z.enum(MACHINE_STATUSES),
  availability: z.enum(["free", "busy", "offline", "out_of_order"]),
  course_name: z.string().nullable(),
  timer: z.number().int().nullable().describe("Minutes left; null when idle"),
  finishing: z.boolean(),
  avg_minutes: z.number().int(),
  elapsed_time_minutes: z.number().int().nullable(),
  expected_end_at: EpochMs.nullable(),
  isusing: OnOff.describe("1 = the user is told when it finishes"),
  offered_to_me: OnOff,
  online: z.boolean(),
  out_of_order: z.boolean(),
});

export const LoadResponseSchema = z.strictObject({
  machine_list: z.array(MachineListItemSchema).describe("What the seed PWA reads"),
  machines: z.array(MachineListItemSchema).describe("The same list"),
  reservations: z.array(ReservationSchema),
  subscribed_rooms: z.array(IdOutSchema).describe("Rooms whose every FINISHED the user is told of"),
  isreserved: OnOff,
  queue_position: z.number().int().nullable(),
  expected_wait_minutes: z.number().int().nullable(),
  status_context: z.strictObject({
    ...AvailabilityCounts,
    washing: z.number().int(),
    spinning: z.number().int(),
    drying: z.number().int(),
    finished: z.number().int(),
    off: z.number().int(),
    queue_length: z.number().int(),
    next_free_minutes: z.number().int().nullable(),
    watching: z.number().int(),
  }),
  now: EpochMs,
});

const Hours = z.array(z.number()).length(24);

/** `{"월":[24 counts], …, "일":[…]}`: cycles per KST weekday (Monday first) and hour. */
export const CongestionResponseSchema = z.strictObject({
  월: Hours,
  화: Hours,
  수: Hours,
  목: Hours,
  금: Hours,
  토: Hours,
  일: Hours,
});

export const StartCourseResponseSchema = z.strictObject({
  message: z.literal("ok"),
  machine_id: IdOutSchema,
  course_name: z.string(),
  course_key: z.string(),
  expected_minutes: z.number().int(),
  expected_range: z.strictObject({ low_minutes: z.number().int(), high_minutes: z.number().int() }),
  samples: z.number().int().describe("Finished cycles behind the estimate (0: the type's default)"),
  isusing: z.literal(1),
});

const WeatherSchema = z.strictObject({
  forecastAt: z.string(),
  baseDate: z.string(),
  baseTime: z.string(),
  nx: z.number(),
  ny: z.number(),
  temperatureC: z.number().nullable(),
  precipitationProbability: z.number().nullable(),
  precipitationType: z
    .enum(["none", "rain", "rain_snow", "snow", "shower", "drizzle", "drizzle_snow", "snow_flurry"])
    .nullable(),
  precipitationMm: z.number().nullable(),
  precipitationText: z.string().nullable(),
  humidity: z.number().nullable(),
  sky: z.enum(["clear", "mostly_cloudy", "overcast"]).nullable(),
});

export const TipResponseSchema = z.strictObject({
  tip: z.string(),
  tip_message: z.string().describe("The same text, for the seed PWA"),
  source: z.enum(["gemini", "statistics"]),
  weather: WeatherSchema.nullable(),
  generatedAt: z.string(),
  roomId: z.string().nullable(),
});
