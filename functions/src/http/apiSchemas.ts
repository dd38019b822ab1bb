/**
 * The notification routes' bodies and queries, and the on/off flag other routes share. Bodies are
 * `.strict()`: an unknown field is a 400 naming it.
 */
import { z } from "zod";
import { LOCALES } from "../domain/messages";
import { IdSchema } from "./deviceSchemas";

/** The seed's on/off flag: 1 or 0 (booleans accepted too). Output: boolean. */
export const OnOffSchema = z
  .union([z.literal(0), z.literal(1), z.boolean()], { error: "must be 1 (on) or 0 (off)" })
  .transform((v) => v === 1 || v === true);

/** An FCM registration token: opaque, no whitespace. Never logged. */
const FcmTokenSchema = z
  .string()
  .min(1, "must not be empty")
  .max(4096)
  .regex(/^\S+$/, "must not contain whitespace");

export const PLATFORMS = ["web", "android", "ios"] as const;

/** An inbox entry's id (and a page's cursor, the id it ends at). */
const InboxIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/]+$/, "must not contain '/'");

/** POST /notify_me: one-shot watch of a machine's next FINISHED. isusing 1 = on, 0 = off. */
export const NotifyMeBodySchema = z.object({ machine_id: IdSchema, isusing: OnOffSchema }).strict();

/** POST /device_subscribe: every FINISHED in a room; `isusing` 1 (default) or 0 to stop. */
export const DeviceSubscribeBodySchema = z
  .object({ room_id: IdSchema, isusing: OnOffSchema.optional() })
  .strict();

/**
 * POST /set_fcm_token: registers one device token; `platform` defaults to the X-Client-Platform
 * header, else "web"; `locale` sets the language of the user's notifications.
 */
export const SetFcmTokenBodySchema = z
  .object({
    fcm_token: FcmTokenSchema,
    platform: z.enum(PLATFORMS).optional(),
    locale: z.enum(LOCALES).optional(),
  })
  .strict();

/** POST /settings: the language of the user's notifications. */
export const SettingsBodySchema = z.object({ locale: z.enum(LOCALES) }).strict();

/** POST /logout: forgets this device's token. */
export const LogoutBodySchema = z.object({ fcm_token: FcmTokenSchema }).strict();

/** POST /notifications/read: exactly one of `{id}` or `{all: true}`. */
export const NotificationsReadBodySchema = z
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
export const NotificationsQuerySchema = z
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
