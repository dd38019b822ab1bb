/**
 * Request bodies of the `device` function, exactly as firmware sends them. `.strict()`: an
 * unknown field is a 400 naming it. These schemas also generate docs/openapi.json.
 */
import { z } from "zod";
import { DECIMAL_ID } from "../domain/consoleConfig";
import { DEVICE_STATUSES, MACHINE_TYPES } from "../domain/status";

export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** The seed's integer ids; the same digits as a string are accepted too. Output: the string. */
export const IdSchema = z
  .union([
    z.number().int().positive().max(999_999_999),
    z.string().regex(DECIMAL_ID, "must be a positive integer"),
  ])
  .transform((v) => String(v));

/** Every body's machine and secret (or the fork firmware's JWT; a Bearer token may stand in). */
const DeviceFields = {
  machine_id: IdSchema,
  secret_key: z.string().min(1).max(2048).optional(),
};
const Battery = z.number().min(0).max(100);
const Magnitude = z.number().finite().min(0).max(1000);
/** A device clock before 2020-01-01T00:00:00Z has not synced NTP. */
const DeviceTimestamp = z
  .number()
  .int()
  .min(1577836800, "must be on or after 2020-01-01 (Unix seconds)");
/** One accelerometer axis delta of the firmware's raw sample. */
const AxisDelta = z.number().finite().min(-1000).max(1000);

export const UpdateBodySchema = z
  .object({
    ...DeviceFields,
    status: z.enum(DEVICE_STATUSES),
    /** Advisory (WashCall_Main sends "washer" on every board): the registered type wins. */
    machine_type: z.enum(MACHINE_TYPES).optional(),
    timestamp: DeviceTimestamp,
    battery: Battery.optional(),
    wash_avg_magnitude: Magnitude.optional(),
    wash_max_magnitude: Magnitude.optional(),
    spin_max_magnitude: Magnitude.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const given = [b.wash_avg_magnitude, b.wash_max_magnitude, b.spin_max_magnitude].filter(
      (m) => m !== undefined,
    ).length;
    if (given === 0 || (given === 3 && b.status === "FINISHED")) return;
    ctx.addIssue({
      code: "custom",
      path: ["wash_avg_magnitude"],
      message:
        b.status !== "FINISHED"
          ? "magnitudes are sent only with status FINISHED"
          : "wash_avg_magnitude, wash_max_magnitude and spin_max_magnitude come together",
    });
  });

export const HeartbeatBodySchema = z
  .object({
    ...DeviceFields,
    battery: Battery,
    rssi: z.number().int().min(-150).max(0).optional(),
    firmware: z.string().min(1).max(64).optional(),
  })
  .strict();

/** A batch of 1 Hz magnitudes (boards that buffer), starting at `timestamp`. */
export const RawDataBatchBodySchema = z
  .object({
    ...DeviceFields,
    /** Device time (Unix s) of the first sample. */
    timestamp: DeviceTimestamp,
    /** Vibration magnitudes at 1 Hz. */
    samples: z.array(Magnitude).min(1).max(600),
  })
  .strict();

/** One sample a second, as WashCall_Main sends it (`Connectivity::sendRawData`): no secret. */
export const RawDataSampleBodySchema = z
  .object({
    ...DeviceFields,
    timestamp: DeviceTimestamp,
    magnitude: Magnitude,
    deltaX: AxisDelta,
    deltaY: AxisDelta,
    deltaZ: AxisDelta,
  })
  .strict();

/** `POST …/device/device_update` (the seed's route): the board asks for its thresholds. */
export const DeviceUpdateBodySchema = z.object(DeviceFields).strict();
