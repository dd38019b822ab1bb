/**
 * The configuration fields admins may edit in the Firebase console, and what a valid value is.
 * Pure: the console triggers (store/console.ts) decide what to do with a problem.
 *
 * - machines/{id}: `name` (one line, 1–100 characters), `roomId` (a room id: a positive decimal
 *   integer as a string; the room must exist, which the caller checks), `type` ("washer" |
 *   "dryer"), `outOfOrder` and `calibration` (booleans; missing = false).
 * - rooms/{id}: `name` (one line, 1–100 characters).
 */
import { MACHINE_TYPES, type MachineType } from "./status";

export const MACHINE_CONFIG_FIELDS = [
  "name",
  "roomId",
  "type",
  "outOfOrder",
  "calibration",
] as const;
export const ROOM_CONFIG_FIELDS = ["name"] as const;

export interface MachineConfig {
  name: string;
  roomId: string;
  type: MachineType;
  outOfOrder: boolean;
  calibration: boolean;
}

export interface ConfigProblem {
  field: string;
  reason: string;
}

/** Room and machine ids: positive integers as text (a machine's is the board's MACHINE_ID). */
export const DECIMAL_ID = /^[1-9][0-9]{0,8}$/;
const ONE_LINE = /^[^\p{Cc}\u2028\u2029]*$/u;

function nameProblem(v: unknown): string | null {
  if (typeof v !== "string") return "must be text";
  const t = v.trim();
  if (t.length === 0) return "must not be empty";
  if (t.length > 100) return "must be at most 100 characters";
  if (!ONE_LINE.test(t)) return "must be one line of text";
  return null;
}

/** The machine's configuration, or what is wrong with it (field by field). */
export function checkMachineConfig(data: Record<string, unknown>): {
  config: MachineConfig | null;
  problems: ConfigProblem[];
} {
  const problems: ConfigProblem[] = [];
  const name = nameProblem(data.name);
  if (name) problems.push({ field: "name", reason: name });
  if (typeof data.roomId !== "string" || !DECIMAL_ID.test(data.roomId)) {
    problems.push({ field: "roomId", reason: 'must be a room id as text, e.g. "1"' });
  }
  if (!MACHINE_TYPES.includes(data.type as MachineType)) {
    problems.push({ field: "type", reason: `must be one of ${MACHINE_TYPES.join(", ")}` });
  }
  for (const field of ["outOfOrder", "calibration"] as const) {
    if (data[field] !== undefined && typeof data[field] !== "boolean") {
      problems.push({ field, reason: "must be true or false" });
    }
  }
  if (problems.length > 0) return { config: null, problems };
  return {
    config: {
      name: (data.name as string).trim(),
      roomId: data.roomId as string,
      type: data.type as MachineType,
      outOfOrder: data.outOfOrder === true,
      calibration: data.calibration === true,
    },
    problems,
  };
}

export function checkRoomConfig(data: Record<string, unknown>): ConfigProblem[] {
  const name = nameProblem(data.name);
  return name ? [{ field: "name", reason: name }] : [];
}

/** The configuration fields whose values differ between two versions of a document. */
export function changedFields(
  fields: readonly string[],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): string[] {
  return fields.filter((f) => JSON.stringify(before?.[f]) !== JSON.stringify(after?.[f]));
}
