/** Machine kinds, the statuses a device reports, and how they map onto the machine's. Pure. */
export const MACHINE_TYPES = ["washer", "dryer"] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];

/** What firmware sends in `status`. */
export const DEVICE_STATUSES = [
  "WASHING",
  "SPINNING",
  "DRYING",
  "FINISHED",
  "EXT_VIBE",
  "OFF",
] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** What `machines/{id}.status` holds. EXT_VIBE never becomes a machine status. */
export const MACHINE_STATUSES = ["WASHING", "SPINNING", "DRYING", "FINISHED", "OFF"] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

/** A dryer's drum turning is DRYING whatever the firmware calls it. */
export function normalizeStatus(type: MachineType, status: DeviceStatus): DeviceStatus {
  if (type === "dryer" && (status === "WASHING" || status === "SPINNING")) return "DRYING";
  return status;
}

/** A running machine is in the middle of a cycle; the others are free to use. */
export function isRunning(status: MachineStatus): boolean {
  return status === "WASHING" || status === "SPINNING" || status === "DRYING";
}

/**
 * Order of statuses that share one device timestamp, so that a fold over reports sorted by
 * (timestamp, rank) is deterministic whatever order they were delivered in.
 */
export const STATUS_RANK: Record<DeviceStatus, number> = {
  WASHING: 0,
  DRYING: 0,
  SPINNING: 1,
  EXT_VIBE: 2,
  FINISHED: 3,
  OFF: 4,
};

/** FINISHED and OFF end whatever cycle was running: they are the boundaries of the fold. */
export function isBoundary(status: DeviceStatus): boolean {
  return status === "FINISHED" || status === "OFF";
}
