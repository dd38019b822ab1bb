/**
 * Notification routes: watches (`/notify_me`), room subscriptions (`/device_subscribe`), device
 * tokens (`/set_fcm_token`, `/logout`), the notification language (`/settings`) and the inbox.
 */
import { z } from "zod";
import { LOCALES } from "../../domain/messages";
import {
  UnknownCursorError,
  listNotifications,
  markAllRead,
  markRead,
  setRoomSubscription,
  setWatch,
} from "../../store/notifications";
import { refs } from "../../data/refs";
import { saveFcmToken, tokenRef } from "../../store/users";
import { defineRoute } from "../apiRouter";
import {
  DeviceSubscribeResponseSchema,
  LogoutResponseSchema,
  SettingsResponseSchema,
  NotificationsReadResponseSchema,
  NotificationsResponseSchema,
  NotifyMeResponseSchema,
  SetFcmTokenResponseSchema,
} from "../apiResponses";
import { OnOffSchema, PLATFORMS } from "../apiSchemas";
import { IdSchema } from "../deviceSchemas";
import { HttpError, parseOrThrow } from "../errors";
import { machineOr404, roomOr404 } from "./common";

/** An FCM registration token: opaque, no whitespace. Never logged. */
const FcmTokenSchema = z
  .string()
  .min(1, "must not be empty")
  .max(4096)
  .regex(/^\S+$/, "must not contain whitespace");

/** An inbox entry's id (and a page's cursor, the id it ends at). */
const InboxIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/]+$/, "must not contain '/'");

/** POST /notify_me: one-shot watch of a machine's next FINISHED. isusing 1 = on, 0 = off. */
const NotifyMeBodySchema = z.object({ machine_id: IdSchema, isusing: OnOffSchema }).strict();

/** POST /device_subscribe: every FINISHED in a room; `isusing` 1 (default) or 0 to stop. */
const DeviceSubscribeBodySchema = z
  .object({ room_id: IdSchema, isusing: OnOffSchema.optional() })
  .strict();

/**
 * POST /set_fcm_token: registers one device token; `platform` defaults to the X-Client-Platform
 * header, else "web"; `locale` sets the language of the user's notifications.
 */
const SetFcmTokenBodySchema = z
  .object({
    fcm_token: FcmTokenSchema,
    platform: z.enum(PLATFORMS).optional(),
    locale: z.enum(LOCALES).optional(),
  })
  .strict();

/** POST /settings: the language of the user's notifications. */
const SettingsBodySchema = z.object({ locale: z.enum(LOCALES) }).strict();

/** POST /logout: forgets this device's token. */
const LogoutBodySchema = z.object({ fcm_token: FcmTokenSchema }).strict();

/** POST /notifications/read: exactly one of `{id}` or `{all: true}`. */
const NotificationsReadBodySchema = z
  .object({
    id: InboxIdSchema.optional(),
    all: z.literal(true, { error: "must be true" }).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.id === undefined) === (b.all === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["id"],
        message: "give exactly one of id or all: true",
      });
    }
  });

/** GET /notifications?limit=&cursor= (limit 20 when absent; cursor: the previous `next_cursor`). */
const NotificationsQuerySchema = z
  .object({
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/, "must be an integer from 1 to 100")
      .transform(Number)
      .pipe(z.number().max(100, "must be an integer from 1 to 100"))
      .optional(),
    cursor: InboxIdSchema.optional(),
  })
  .strict();

/** The X-Client-Platform header, when sent (the body's `platform` wins). */
const PlatformHeaderSchema = z.object({
  platform: z
    .enum(PLATFORMS, `X-Client-Platform must be one of ${PLATFORMS.join(", ")}`)
    .optional(),
});

export const notificationRoutes = [
  defineRoute({
    method: "POST",
    path: "/notify_me",
    response: NotifyMeResponseSchema,
    auth: "user",
    body: NotifyMeBodySchema,
  }).handle(async ({ deps, user, body }) => {
    await machineOr404(deps.db, body.machine_id);
    await setWatch(deps.db, user.uid, body.machine_id, body.isusing, deps.now());
    return { message: "ok", machine_id: Number(body.machine_id), isusing: body.isusing ? 1 : 0 };
  }),
  defineRoute({
    method: "POST",
    path: "/device_subscribe",
    response: DeviceSubscribeResponseSchema,
    auth: "user",
    body: DeviceSubscribeBodySchema,
  }).handle(async ({ deps, user, body }) => {
    await roomOr404(deps.db, body.room_id);
    const on = body.isusing ?? true;
    await setRoomSubscription(deps.db, user.uid, body.room_id, on, deps.now());
    return { message: "ok", room_id: Number(body.room_id), isusing: on ? 1 : 0 };
  }),
  defineRoute({
    method: "POST",
    path: "/set_fcm_token",
    response: SetFcmTokenResponseSchema,
    auth: "user",
    body: SetFcmTokenBodySchema,
  }).handle(async ({ req, deps, user, body }) => {
    const header = req.headers["x-client-platform"]?.trim().toLowerCase();
    const platform =
      body.platform ?? parseOrThrow(PlatformHeaderSchema, { platform: header }).platform ?? "web";
    await saveFcmToken(deps.db, user.uid, {
      token: body.fcm_token,
      platform,
      locale: body.locale,
      now: deps.now(),
    });
    return { message: "ok", platform };
  }),
  defineRoute({
    method: "POST",
    path: "/settings",
    response: SettingsResponseSchema,
    auth: "user",
    body: SettingsBodySchema,
  }).handle(async ({ deps, user, body }) => {
    await refs(deps.db).user(user.uid).set({ locale: body.locale }, { merge: true });
    return { message: "ok", locale: body.locale };
  }),
  defineRoute({
    method: "POST",
    path: "/logout",
    response: LogoutResponseSchema,
    auth: "user",
    body: LogoutBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const token = tokenRef(deps.db, user.uid, body.fcm_token);
    const removed = (await token.get()).exists;
    if (removed) await token.delete();
    return { message: "ok", removed };
  }),
  defineRoute({
    method: "GET",
    path: "/notifications",
    response: NotificationsResponseSchema,
    auth: "user",
    query: NotificationsQuerySchema,
  }).handle(async ({ deps, user, query: q }) => {
    const page = await listNotifications(deps.db, user.uid, q.limit ?? 20, q.cursor).catch(
      (err: unknown) => {
        if (!(err instanceof UnknownCursorError)) throw err;
        throw new HttpError(400, "invalid_query", "cursor: is not a notification of yours");
      },
    );
    return {
      notifications: page.entries,
      next_cursor: page.nextCursor,
      unread_count: page.unreadCount,
    };
  }),
  defineRoute({
    method: "POST",
    path: "/notifications/read",
    response: NotificationsReadResponseSchema,
    auth: "user",
    body: NotificationsReadBodySchema,
  }).handle(async ({ deps, user, body }) => {
    if (body.all) {
      const { marked } = await markAllRead(deps.db, user.uid, deps.now());
      return { message: "ok", marked };
    }
    const id = body.id ?? "";
    const result = await markRead(deps.db, user.uid, id, deps.now());
    // Someone else's notification is indistinguishable from a missing one.
    if (!result) throw new HttpError(404, "not_found", `id: you have no notification ${id}`);
    return { message: "ok", marked: result.marked };
  }),
];
