/**
 * The configuration fields admins may edit in the Firebase console, and what a valid value is
 * (docs/ADMIN.md). Pure: the console triggers (store/console.ts) decide what to do with a problem.
 */
import { z } from "zod";
import { MACHINE_TYPES } from "./status";

/** Room and machine ids: positive integers as text (a machine's is the board's MACHINE_ID). */
export const DECIMAL_ID = /^[1-9][0-9]{0,8}$/;

/** One line of text (no control characters), trimmed; `notText`: the message for anything else. */
export const OneLineSchema = (max: number, notText?: string) =>
  z
    .string(notText === undefined ? undefined : { error: notText })
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}\u2028\u2029]*$/u, "must be one line of text");

const Name = OneLineSchema(100, "must be text");
const Flag = z.boolean({ error: "must be true or false" }).default(false);
const ROOM_ID = 'must be a room id as text, e.g. "1"';

/** Each kind of configuration document's schema: its keys are the fields admins edit. */
export const CONFIG_SCHEMAS = {
  machine: z.object({
    name: Name,
    roomId: z.string({ error: ROOM_ID }).regex(DECIMAL_ID, ROOM_ID),
    type: z.enum(MACHINE_TYPES, { error: `must be one of ${MACHINE_TYPES.join(", ")}` }),
    outOfOrder: Flag,
    calibration: Flag,
  }),
  room: z.object({ name: Name }),
};
export const MACHINE_CONFIG_FIELDS = CONFIG_SCHEMAS.machine.keyof().options;
export const ROOM_CONFIG_FIELDS = CONFIG_SCHEMAS.room.keyof().options;
export type MachineConfig = z.output<typeof CONFIG_SCHEMAS.machine>;

export interface ConfigProblem {
  field: string;
  reason: string;
}

/**
 * The configuration (names trimmed, flags false when missing), or null and what is wrong: the
 * first problem of each field at fault, in the schema's field order.
 */
export function checkConfig<T>(schema: z.ZodType<T>, data: Record<string, unknown>) {
  const parsed = schema.safeParse(data);
  const problems: ConfigProblem[] = [];
  for (const issue of parsed.error?.issues ?? []) {
    const field = String(issue.path[0]);
    if (!problems.some((p) => p.field === field)) problems.push({ field, reason: issue.message });
  }
  return { config: parsed.success ? parsed.data : null, problems };
}

/** The configuration fields whose values differ between two versions of a document. */
export function changedFields(
  fields: readonly string[],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): string[] {
  return fields.filter((f) => JSON.stringify(before?.[f]) !== JSON.stringify(after?.[f]));
}
