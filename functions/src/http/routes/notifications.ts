/**
 * Notification routes: watches (`/notify_me`), room subscriptions (`/device_subscribe`), device
 * tokens (`/set_fcm_token`, `/logout`), the notification language (`/settings`) and the inbox.
 */
import { z } from "zod";
import {
  UnknownCursorError,
  listNotifications,
  markAllRead,
  markRead,
  setRoomSubscription,
  setWatch,
} from "../../store/notifications";
import { deleteFcmToken, saveFcmToken, saveLocale } from "../../store/users";
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
import {
  DeviceSubscribeBodySchema,
  LogoutBodySchema,
  NotificationsQuerySchema,
  NotificationsReadBodySchema,
  NotifyMeBodySchema,
  PLATFORMS,
  SetFcmTokenBodySchema,
  SettingsBodySchema,
} from "../apiSchemas";
import { HttpError, parseOrThrow } from "../errors";
import { machineOr404, roomOr404 } from "./common";

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
    await saveLocale(deps.db, user.uid, body.locale);
    return { message: "ok", locale: body.locale };
  }),
  defineRoute({
    method: "POST",
    path: "/logout",
    response: LogoutResponseSchema,
    auth: "user",
    body: LogoutBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const removed = await deleteFcmToken(deps.db, user.uid, body.fcm_token);
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
