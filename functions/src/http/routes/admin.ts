/**
 * Admin routes (the `admin: true` claim; `npm run admin -- grant <email>` sets it): rooms,
 * devices, their secrets and calibration. `secret_key` on add_device and rotate_device_secret is
 * the secret the board already has (docs/DECISIONS.md "Device secrets"). Secrets are never
 * logged; responses carrying one are `Cache-Control: no-store`.
 */
import * as logger from "firebase-functions/logger";
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { DECIMAL_ID, OneLineSchema } from "../../domain/consoleConfig";
import { MACHINE_TYPES } from "../../domain/status";
import { ChosenSecretSchema } from "../../security/deviceSecret";
import { isAlreadyExists } from "../../data/db";
import { refs } from "../../data/refs";
import {
  type MachineDescription,
  createMachine,
  createRoom,
  deviceUrl,
  newSecret,
  secretRecord,
} from "../../store/machines";
import { type ApiDeps, defineRoute } from "../apiRouter";
import { OnOffSchema } from "../apiSchemas";
import { IdSchema } from "../deviceSchemas";
import { HttpError } from "../errors";
import { machineOr404, roomOr404 } from "./common";

const AddRoomBodySchema = z
  .object({ room_name: OneLineSchema(100).describe("Display name, 1–100 characters.") })
  .strict();

const ChosenSecret = ChosenSecretSchema.describe(
  "The secret the board's firmware already has (optional; generated when absent). Weak or reused secrets are accepted with a warning.",
);

const AddDeviceBodySchema = z
  .object({
    room_id: IdSchema,
    machine_id: IdSchema,
    machine_name: OneLineSchema(100).describe("Display name, 1–100 characters."),
    machine_type: z.enum(MACHINE_TYPES),
    secret_key: ChosenSecret.optional(),
  })
  .strict();

const RotateDeviceSecretBodySchema = z
  .object({ machine_id: IdSchema, secret_key: ChosenSecret.optional() })
  .strict();

const CalibrationBodySchema = z
  .object({
    machine_id: IdSchema,
    on: OnOffSchema.describe("1 (or true) keeps /raw_data samples; 0 (or false) stops."),
  })
  .strict();

const AddRoomResponseSchema = z.strictObject({
  room_id: z.number().int(),
  room_name: z.string(),
});

const DeviceSecretResponseSchema = z.strictObject({
  machine_id: z.number().int(),
  room_id: z.number().int().nullable(),
  machine_name: z.string(),
  machine_type: z.enum(MACHINE_TYPES),
  secret_key: z.string().describe("The device secret. Shown only in this response."),
  firmware_snippet: z
    .string()
    .describe(
      "The lines to replace in WashCall_Main.ino (FASTAPI_URL, RAW_DATA_URL, MACHINE_ID, SECRET_KEY).",
    ),
  warnings: z
    .array(z.string())
    .describe("Why an admin-chosen secret is weak or reused; empty when it is not."),
});

const CalibrationResponseSchema = z.strictObject({
  message: z.literal("ok"),
  machine_id: z.number().int(),
  on: z.union([z.literal(0), z.literal(1)]),
});

function masterKey(deps: ApiDeps): string {
  if (!deps.masterKey) {
    throw new HttpError(500, "internal", "the device master key is not configured");
  }
  return deps.masterKey;
}

/** The room id after the largest decimal id in use; a taken id (a concurrent call) → the next. */
async function addRoom(db: Firestore, name: string): Promise<string> {
  const rooms = await refs(db).rooms.get();
  const ids = rooms.docs.map((d) => d.id).filter((id) => DECIMAL_ID.test(id));
  let candidate = Math.max(0, ...ids.map(Number)) + 1;
  // Up to 50 rooms taken by concurrent calls before this one gives up.
  for (let attempt = 0; attempt < 50; attempt++, candidate++) {
    try {
      await createRoom(db, String(candidate), name);
      return String(candidate);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  throw new HttpError(409, "conflict", "room_name: too many rooms added at once; try again");
}

/** The answer carrying a secret: never cached. */
function secretResponse(
  headers: Record<string, string>,
  m: MachineDescription,
  shown: Awaited<ReturnType<typeof newSecret>>,
) {
  headers["Cache-Control"] = "no-store";
  return {
    machine_id: Number(m.machineId),
    room_id: m.roomId === null ? null : Number(m.roomId),
    machine_name: m.name,
    machine_type: m.type,
    ...shown,
  };
}

export const adminRoutes = [
  defineRoute({
    method: "POST",
    path: "/admin/add_room",
    response: AddRoomResponseSchema,
    auth: "admin",
    body: AddRoomBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const roomId = await addRoom(deps.db, body.room_name);
    logger.info("room added", { roomId, by: user.uid });
    return { room_id: Number(roomId), room_name: body.room_name };
  }),
  defineRoute({
    method: "POST",
    path: "/admin/add_device",
    response: DeviceSecretResponseSchema,
    auth: "admin",
    body: AddDeviceBodySchema,
  }).handle(async ({ req, deps, user, body, headers }) => {
    const key = masterKey(deps);
    await roomOr404(deps.db, body.room_id);
    const machine = {
      machineId: body.machine_id,
      roomId: body.room_id,
      name: body.machine_name,
      type: body.machine_type,
    };
    const shown = await newSecret(deps.db, key, deviceUrl(req.headers), machine, body.secret_key);
    try {
      await createMachine(deps.db, { ...machine, secret: shown.secret_key }, key);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      throw new HttpError(409, "conflict", `machine_id: machine ${body.machine_id} already exists`);
    }
    logger.info("device added", {
      machineId: body.machine_id,
      roomId: body.room_id,
      type: body.machine_type,
      chosenSecret: body.secret_key !== undefined,
      warnings: shown.warnings.length,
      by: user.uid,
    });
    return secretResponse(headers, machine, shown);
  }),
  defineRoute({
    method: "POST",
    path: "/admin/rotate_device_secret",
    response: DeviceSecretResponseSchema,
    auth: "admin",
    body: RotateDeviceSecretBodySchema,
  }).handle(async ({ req, deps, user, body, headers }) => {
    const key = masterKey(deps);
    const machine = await machineOr404(deps.db, body.machine_id);
    const shown = await newSecret(deps.db, key, deviceUrl(req.headers), machine, body.secret_key);
    await refs(deps.db)
      .deviceSecret(body.machine_id)
      .set(secretRecord(shown.secret_key, key, body.machine_id));
    logger.info("device secret rotated", {
      machineId: body.machine_id,
      chosenSecret: body.secret_key !== undefined,
      warnings: shown.warnings.length,
      by: user.uid,
    });
    return secretResponse(headers, machine, shown);
  }),
  defineRoute({
    method: "POST",
    path: "/admin/calibration",
    response: CalibrationResponseSchema,
    auth: "admin",
    body: CalibrationBodySchema,
  }).handle(async ({ deps, user, body }) => {
    await machineOr404(deps.db, body.machine_id);
    await refs(deps.db).machine(body.machine_id).update({ calibration: body.on });
    logger.info("calibration switched", {
      machineId: body.machine_id,
      on: body.on,
      by: user.uid,
    });
    return { message: "ok", machine_id: Number(body.machine_id), on: body.on ? 1 : 0 };
  }),
];
