/**
 * The configuration fields admins may edit in the Firebase console, and what a valid value is
 * (docs/ADMIN.md). Pure: the console triggers (store/console.ts) decide what to do with a problem.
 */
import { z } from "zod";
import { MACHINE_TYPES } from "./status";

/** Room and machine ids: positive integers as text (a machine's is the board's MACHINE_ID). */
export const DECIMAL_ID = /^[1-9][0-9]{0,8}$/;

const Name = z
  .string({ error: "must be text" })
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .regex(/^[^\p{Cc}\u2028\u2029]*$/u, "must be one line of text");
const Flag = z.boolean({ error: "must be true or false" }).default(false);
const ROOM_ID = 'must be a room id as text, e.g. "1"';

const MachineConfigSchema = z.object({
  name: Name,
  roomId: z.string({ error: ROOM_ID }).regex(DECIMAL_ID, ROOM_ID),
  type: z.enum(MACHINE_TYPES, { error: `must be one of ${MACHINE_TYPES.join(", ")}` }),
  outOfOrder: Flag,
  calibration: Flag,
});
const RoomConfigSchema = z.object({ name: Name });
export const MACHINE_CONFIG_FIELDS = MachineConfigSchema.keyof().options;
export const ROOM_CONFIG_FIELDS = RoomConfigSchema.keyof().options;

export type MachineConfig = z.output<typeof MachineConfigSchema>;

export interface ConfigProblem {
  field: string;
  reason: string;
}

/** The first problem of each field at fault, in the schema's field order. */
function problemsOf(error: z.ZodError): ConfigProblem[] {
  const problems = new Map<string, string>();
  for (const issue of error.issues) {
    const field = String(issue.path[0]);
    if (!problems.has(field)) problems.set(field, issue.message);
  }
  return [...problems].map(([field, reason]) => ({ field, reason }));
}

/** The machine's configuration (name trimmed, flags false when missing), or what is wrong. */
export function checkMachineConfig(data: Record<string, unknown>): {
  config: MachineConfig | null;
  problems: ConfigProblem[];
} {
  const parsed = MachineConfigSchema.safeParse(data);
  return parsed.success
    ? { config: parsed.data, problems: [] }
    : { config: null, problems: problemsOf(parsed.error) };
}

export function checkRoomConfig(data: Record<string, unknown>): ConfigProblem[] {
  const parsed = RoomConfigSchema.safeParse(data);
  return parsed.success ? [] : problemsOf(parsed.error);
}

/** The configuration fields whose values differ between two versions of a document. */
export function changedFields(
  fields: readonly string[],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): string[] {
  return fields.filter((f) => JSON.stringify(before?.[f]) !== JSON.stringify(after?.[f]));
}
