/**
 * The views the status and queue routes answer: `GET /rooms`, `POST /load` and the reservation
 * of `POST /reserve`, built from what store/status.ts reads. Times are computed from the
 * documents and `now` (no stored timer is trusted): the minutes left are the room timers of
 * domain/timers.ts, the averages those of domain/stats.ts.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { z } from "zod";
import {
  type RoomQueue,
  type WaitMachine,
  entryOf,
  expectedWaitMinutes,
  position,
} from "../domain/queue";
import { type CourseStats, DEFAULT_MINUTES, courseKey } from "../domain/stats";
import { type MachineStatus, isRunning } from "../domain/status";
import { MINUTE_MS } from "../domain/time";
import { type MachineTimer, roomTimers } from "../domain/timers";
import { type Machine, type Room, courseStatsId } from "../data/model";
import type { ReservationSchema } from "./apiResponses";
import { readQueues } from "../store/queue";
import {
  availability,
  displayCourse,
  idOut,
  readMachines,
  readRooms,
  readStats,
  watchedBy,
} from "../store/status";
import { refs } from "../data/refs";

export interface MachineTiming {
  /** Minutes left (rounded up, never negative); null when idle. */
  timer: number | null;
  /** The expected end has passed and the machine has not reported FINISHED yet. */
  finishing: boolean;
  /** Minutes the running phase takes on average (total, or the final spin while spinning). */
  avgMinutes: number;
  /** Whole minutes since that phase began; null when idle. */
  elapsedMinutes: number | null;
  expectedEndAt: number | null;
  /** A full cycle of this machine's course, for the wait estimate. */
  cycleMinutes: number;
}

/** Timer, average and elapsed time of one machine at `now`, from its course's averages. */
export function machineTiming(
  m: Machine,
  stats: ReadonlyMap<string, CourseStats>,
  now: number,
): MachineTiming {
  const key = courseKey(m.course);
  const s = stats.get(courseStatsId(m.type, key)) ?? null;
  const total = s?.avgTotalMinutes ?? DEFAULT_MINUTES[m.type].total;
  const timers = roomTimers(
    [m],
    (type, course) => stats.get(courseStatsId(type, course)) ?? null,
    now,
  );
  const t: MachineTimer | undefined = timers[m.machineId];
  let avg = total;
  let since = m.cycleStartedAt;
  const spinAvg = s?.avgSpinMinutes ?? DEFAULT_MINUTES[m.type].spin;
  if (m.status === "SPINNING" && m.spinStartedAt !== null && spinAvg !== null) {
    avg = spinAvg;
    since = m.spinStartedAt;
  }
  const running = isRunning(m.status);
  return {
    timer: t ? t.remainingMinutes : null,
    finishing: t?.finishing ?? false,
    avgMinutes: Math.round(avg),
    elapsedMinutes:
      running && since !== null ? Math.max(0, Math.floor((now - since) / MINUTE_MS)) : null,
    expectedEndAt: t ? t.expectedEndAt : null,
    cycleMinutes: total,
  };
}

function statsKeys(machines: readonly Machine[]) {
  return machines.map((m) => ({ type: m.type, course: courseKey(m.course) }));
}

function waitMachines(
  machines: readonly Machine[],
  timing: ReadonlyMap<string, MachineTiming>,
): WaitMachine[] {
  return machines.map((m) => {
    const t = timing.get(m.machineId);
    return {
      machineId: m.machineId,
      type: m.type,
      status: m.status,
      expectedEndAt: t?.expectedEndAt ?? m.expectedEndAt,
      cycleMinutes: t?.cycleMinutes ?? DEFAULT_MINUTES[m.type].total,
      // An idle machine whose sensor is silent cannot be counted on to be free.
      outOfOrder: m.outOfOrder || (!isRunning(m.status) && !m.online),
    };
  });
}

/** The user's place in one room's queue, as `ReservationSchema` documents it. */
export type Reservation = z.output<typeof ReservationSchema>;

/** The user's place in one room's queue. */
export function reservationView(
  room: Room,
  queue: RoomQueue,
  uid: string,
  machines: readonly Machine[],
  timing: ReadonlyMap<string, MachineTiming>,
  now: number,
): Reservation {
  const entry = entryOf(queue, uid);
  return {
    room_id: idOut(room.roomId),
    room_name: room.name,
    isreserved: entry ? (1 as const) : (0 as const),
    queue_position: position(queue, uid),
    expected_wait_minutes: entry
      ? expectedWaitMinutes(queue, uid, waitMachines(machines, timing), now)
      : null,
    queue_length: queue.entries.length,
    offer: entry?.offer
      ? {
          machine_id: idOut(entry.offer.machineId),
          offered_at: entry.offer.offeredAt,
          expires_at: entry.offer.expiresAt,
        }
      : null,
  };
}

/** The user's reservation in one room, read fresh (for `POST /reserve` answers). */
export async function readReservation(
  db: Firestore,
  room: Room,
  uid: string,
  now: number,
  queue?: RoomQueue,
): Promise<Reservation> {
  const machines = await readMachines(db, room.roomId);
  const stats = await readStats(db, statsKeys(machines));
  const timing = new Map(machines.map((m) => [m.machineId, machineTiming(m, stats, now)]));
  const q = queue ?? (await readQueues(db, [room.roomId])).get(room.roomId) ?? { entries: [] };
  return reservationView(room, q, uid, machines, timing, now);
}

interface Counts {
  total: number;
  free: number;
  busy: number;
  offline: number;
  out_of_order: number;
}

function counts(machines: readonly Machine[]): Counts {
  const c: Counts = { total: 0, free: 0, busy: 0, offline: 0, out_of_order: 0 };
  for (const m of machines) {
    c.total += 1;
    c[availability(m)] += 1;
  }
  return c;
}

/** `GET /rooms`: every room with its machine counts and the user's place in its queue. */
export async function roomsView(db: Firestore, uid: string) {
  const [rooms, machines] = await Promise.all([readRooms(db), readMachines(db)]);
  const queues = await readQueues(
    db,
    rooms.map((r) => r.roomId),
  );
  return {
    rooms: rooms.map((r) => {
      const q = queues.get(r.roomId) ?? { entries: [] };
      const mine = machines.filter((m) => m.roomId === r.roomId);
      const c = counts(mine);
      return {
        room_id: idOut(r.roomId),
        room_name: r.name,
        ...c,
        washers_free: mine.filter((m) => m.type === "washer" && availability(m) === "free").length,
        dryers_free: mine.filter((m) => m.type === "dryer" && availability(m) === "free").length,
        queue_length: q.entries.length,
        isreserved: entryOf(q, uid) ? (1 as const) : (0 as const),
        queue_position: position(q, uid),
      };
    }),
  };
}

/** Which of `roomIds` the user subscribed to (rooms/{id}/subscribers/{uid}), in one read. */
async function subscribedRooms(db: Firestore, uid: string, roomIds: readonly string[]) {
  if (roomIds.length === 0) return [];
  const snaps = await db.getAll(...roomIds.map((id) => refs(db).subscribers(id).doc(uid)));
  return roomIds.filter((_, i) => snaps[i]?.exists === true);
}

/**
 * `POST /load`: the machines of one room (or of every room) as the seed's client lists them,
 * the user's reservations, and totals. The top-level `isreserved`, `queue_position` and
 * `expected_wait_minutes` are those of the requested room, or without one of the first room
 * (by id) where the user is queued.
 */
export async function loadView(db: Firestore, uid: string, room: Room | null, now: number) {
  const [rooms, machines] = await Promise.all([
    room ? Promise.resolve([room]) : readRooms(db),
    readMachines(db, room?.roomId),
  ]);
  const roomIds = new Set(rooms.map((r) => r.roomId));
  const listed = machines.filter((m) => m.roomId !== null && roomIds.has(m.roomId));
  const [stats, watched, queues, subscribed] = await Promise.all([
    readStats(db, statsKeys(listed)),
    watchedBy(
      db,
      uid,
      listed.map((m) => m.machineId),
    ),
    readQueues(
      db,
      rooms.map((r) => r.roomId),
    ),
    subscribedRooms(
      db,
      uid,
      rooms.map((r) => r.roomId),
    ),
  ]);
  const timing = new Map(listed.map((m) => [m.machineId, machineTiming(m, stats, now)]));
  const roomName = new Map(rooms.map((r) => [r.roomId, r.name]));

  const reservations = rooms.map((r) =>
    reservationView(
      r,
      queues.get(r.roomId) ?? { entries: [] },
      uid,
      listed.filter((m) => m.roomId === r.roomId),
      timing,
      now,
    ),
  );
  const offeredToMe = new Set(
    reservations.flatMap((r) => (r.offer ? [String(r.offer.machine_id)] : [])),
  );
  const focus = reservations.find((r) => r.isreserved === 1) ?? reservations[0] ?? null;

  const c = counts(listed);
  const byStatus = (s: MachineStatus) =>
    listed.filter((m) => m.status === s && !m.outOfOrder).length;
  const timers = listed.flatMap((m) => {
    const t = timing.get(m.machineId)?.timer;
    return t === null || t === undefined ? [] : [t];
  });

  const machineList = listed.map((m) => {
    const t = timing.get(m.machineId) ?? machineTiming(m, stats, now);
    return {
      machine_id: idOut(m.machineId),
      machine_name: m.name,
      room_id: idOut(m.roomId ?? ""),
      room_name: roomName.get(m.roomId ?? "") ?? null,
      machine_type: m.type,
      status: m.status,
      availability: availability(m),
      course_name: displayCourse(m),
      timer: t.timer,
      finishing: t.finishing,
      avg_minutes: t.avgMinutes,
      elapsed_time_minutes: t.elapsedMinutes,
      expected_end_at: t.expectedEndAt,
      isusing: watched.has(m.machineId) ? (1 as const) : (0 as const),
      offered_to_me: offeredToMe.has(m.machineId) ? (1 as const) : (0 as const),
      online: m.online,
      out_of_order: m.outOfOrder,
    };
  });
  return {
    /** The seed PWA (WashCall-Web) reads `machine_list`; `machines` is the same list. */
    machine_list: machineList,
    machines: machineList,
    reservations,
    /** Rooms whose every FINISHED the user is told of (POST /device_subscribe). */
    subscribed_rooms: subscribed.map(idOut),
    isreserved: focus?.isreserved ?? 0,
    queue_position: focus?.queue_position ?? null,
    expected_wait_minutes: focus?.expected_wait_minutes ?? null,
    status_context: {
      ...c,
      washing: byStatus("WASHING"),
      spinning: byStatus("SPINNING"),
      drying: byStatus("DRYING"),
      finished: byStatus("FINISHED"),
      off: byStatus("OFF"),
      queue_length: reservations.reduce((n, r) => n + r.queue_length, 0),
      /** Minutes until the first running machine is expected to finish (null: none running). */
      next_free_minutes: timers.length > 0 ? Math.min(...timers) : null,
      watching: listed.filter((m) => watched.has(m.machineId)).length,
    },
    now,
  };
}
