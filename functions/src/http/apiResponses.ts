/**
 * The 200 bodies of the `api` routes (a route's `response`: its handler's type, docs/openapi.json,
 * the PWA's client). Objects are strict, so test/integration/api-responses.test.ts fails on a
 * field the schema does not list: the documentation cannot drift.
 */
import { z } from "zod";
import { LOCALES } from "../domain/messages";
import { MACHINE_STATUSES, MACHINE_TYPES } from "../domain/status";
import { KOREAN_WEEKDAYS } from "../domain/time";
import { TipSchema } from "../domain/tip";
import { PLATFORMS } from "./apiSchemas";

/** Ids go out as the seed's integers when they are decimal, else as the document id. */
const Int = z.number().int();
const IdOutSchema = z.union([Int, z.string()]);
const OnOff = z.union([z.literal(0), z.literal(1)]);
const Ok = z.literal("ok");
const EpochMs = Int.describe("Epoch milliseconds");

/** Machines by availability, in a room or in the `POST /load` answer. */
const AvailabilityCounts = { total: Int, free: Int, busy: Int, offline: Int, out_of_order: Int };

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
  message: Ok,
  machine_id: Int,
  isusing: OnOff,
});

export const DeviceSubscribeResponseSchema = z.strictObject({
  message: Ok,
  room_id: Int,
  isusing: OnOff,
});

export const SetFcmTokenResponseSchema = z.strictObject({
  message: Ok,
  platform: z.enum(PLATFORMS),
});

export const SettingsResponseSchema = z.strictObject({
  message: Ok,
  locale: z.enum(LOCALES),
});

export const LogoutResponseSchema = z.strictObject({
  message: Ok,
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
  unread_count: Int,
});

export const NotificationsReadResponseSchema = z.strictObject({
  message: Ok,
  marked: Int.describe("Notifications that were unread and now are read"),
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
  queue_position: Int.nullable().describe("1 = first in line; null = not queued"),
  expected_wait_minutes: Int.nullable(),
  queue_length: Int,
  offer: OfferSchema.nullable(),
});

export const ReserveResponseSchema = z.union([
  ReservationSchema.extend({ message: Ok, joined: z.boolean() }),
  ReservationSchema.extend({ message: Ok, left: z.boolean() }),
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
      washers_free: Int,
      dryers_free: Int,
      queue_length: Int,
      isreserved: OnOff,
      queue_position: Int.nullable(),
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
  timer: Int.nullable().describe("Minutes left; null when idle"),
  finishing: z.boolean(),
  avg_minutes: Int,
  elapsed_time_minutes: Int.nullable(),
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
  queue_position: Int.nullable(),
  expected_wait_minutes: Int.nullable(),
  status_context: z.strictObject({
    ...AvailabilityCounts,
    washing: Int,
    spinning: Int,
    drying: Int,
    finished: Int,
    off: Int,
    queue_length: Int,
    next_free_minutes: Int.nullable(),
    watching: Int,
  }),
  now: EpochMs,
});

const Hours = z.array(z.number()).length(24);
type Weekday = (typeof KOREAN_WEEKDAYS)[number];

/** `{"월":[24 counts], …, "일":[…]}`: cycles per KST weekday (Monday first) and hour. */
export const CongestionResponseSchema = z.strictObject(
  Object.fromEntries(KOREAN_WEEKDAYS.map((d) => [d, Hours])) as Record<Weekday, typeof Hours>,
);

export const StartCourseResponseSchema = z.strictObject({
  message: Ok,
  machine_id: IdOutSchema,
  course_name: z.string(),
  course_key: z.string(),
  expected_minutes: Int,
  expected_range: z.strictObject({ low_minutes: Int, high_minutes: Int }),
  samples: Int.describe("Finished cycles behind the estimate (0: the type's default)"),
  isusing: z.literal(1),
});

const { tip, ...tipRest } = TipSchema.shape;
export const TipResponseSchema = z.strictObject({
  tip,
  tip_message: z.string().describe("The same text, for the seed PWA"),
  ...tipRest,
});
