/**
 * The answers of `GET /rooms`, `POST /load` and `POST /reserve`, computed from the documents at
 * `now` (no stored timer is trusted): minutes left as domain/timers.ts, averages domain/stats.ts.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { z } from "zod";
import {
  EMPTY_QUEUE,
  type RoomQueue,
  entryOf,
  expectedWaitMinutes,
  position,
} from "../domain/queue";
import { DEFAULT_MINUTES, courseKey } from "../domain/stats";
import { type MachineStatus, type MachineType, isRunning } from "../domain/status";
import { MINUTE_MS } from "../domain/time";
import { roomTimers } from "../domain/timers";
import type { Machine, Room } from "../data/model";
import { refs } from "../data/refs";
import { readQueues } from "../store/queue";
import {
  existingIds,
  readMachines,
  readRooms,
  readStats,
  type FiguresLookup,
} from "../store/status";
import type { LoadResponseSchema, ReservationSchema, RoomsResponseSchema } from "./apiResponses";

/** Numeric document ids leave as the seed's integers, anything else as the string. */
export function idOut(id: string): number | string {
  return /^[1-9][0-9]{0,14}$/.test(id) ? Number(id) : id;
}

/** `out_of_order` wins; then running is `busy`; idle is `free` when online, else `offline`. */
function availability(m: Machine): "free" | "busy" | "offline" | "out_of_order" {
  if (m.outOfOrder) return "out_of_order";
  if (isRunning(m.status)) return "busy";
  return m.online ? "free" : "offline";
}

/** A machine with its timer, average and elapsed time at `now`, from its course's averages. */
function timed(m: Machine, figures: FiguresLookup, now: number) {
  // A running cycle keeps the figures it started with (store/applyReport.ts; roomTimers too).
  const s = m.estimate ?? figures(m.roomId, m.type, courseKey(m.course));
  const total = s?.avgTotalMinutes ?? DEFAULT_MINUTES[m.type].total;
  const spin = s?.avgSpinMinutes ?? DEFAULT_MINUTES[m.type].spin;
  const spinning = m.status === "SPINNING" && m.spinStartedAt !== null && spin !== null;
  const since = spinning ? m.spinStartedAt : m.cycleStartedAt;
  const t = roomTimers([m], () => s, now)[m.machineId];
  return {
    machine: m,
    /** Minutes left (rounded up); null when idle. */
    timer: t?.remainingMinutes ?? null,
    finishing: t?.finishing ?? false,
    /** The running phase's average (total, or the final spin while spinning). */
    avgMinutes: Math.round(spinning ? spin : total),
    elapsedMinutes:
      isRunning(m.status) && since !== null
        ? Math.max(0, Math.floor((now - since) / MINUTE_MS))
        : null,
    expectedEndAt: t?.expectedEndAt ?? null,
    /** A full cycle of this machine's course, for the wait estimate. */
    cycleMinutes: total,
  };
}

async function readTimed(db: Firestore, machines: readonly Machine[], now: number) {
  const keys = machines
    .filter((m) => m.estimate === null)
    .map((m) => ({ roomId: m.roomId, type: m.type, course: courseKey(m.course) }));
  const figures = await readStats(db, keys);
  return machines.map((m) => timed(m, figures, now));
}

/** The user's place in one room's queue, given the room's machines. */
function reservationView(
  room: Room,
  queue: RoomQueue,
  uid: string,
  machines: readonly ReturnType<typeof timed>[],
  now: number,
): z.output<typeof ReservationSchema> {
  const entry = entryOf(queue, uid);
  const waitMachines = machines.map(({ machine: m, ...t }) => ({
    ...m,
    expectedEndAt: t.expectedEndAt ?? m.expectedEndAt,
    cycleMinutes: t.cycleMinutes,
    // An idle machine whose sensor is silent cannot be counted on to be free.
    outOfOrder: m.outOfOrder || (!isRunning(m.status) && !m.online),
  }));
  return {
    room_id: idOut(room.roomId),
    room_name: room.name,
    isreserved: entry ? 1 : 0,
    queue_position: position(queue, uid),
    expected_wait_minutes: expectedWaitMinutes(queue, uid, waitMachines, now),
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

/** The user's reservation in `room` with the queue a `POST /reserve` just wrote. */
export async function readReservation(
  db: Firestore,
  room: Room,
  uid: string,
  now: number,
  queue: RoomQueue,
) {
  const machines = await readTimed(db, await readMachines(db, room.roomId), now);
  return reservationView(room, queue, uid, machines, now);
}

function counts(machines: readonly Machine[]) {
  const c = { total: machines.length, free: 0, busy: 0, offline: 0, out_of_order: 0 };
  for (const m of machines) c[availability(m)] += 1;
  return c;
}

/** `GET /rooms`: every room with its machine counts and the user's place in its queue. */
export async function roomsView(
  db: Firestore,
  uid: string,
): Promise<z.output<typeof RoomsResponseSchema>> {
  const [rooms, machines] = await Promise.all([readRooms(db), readMachines(db)]);
  const queues = await readQueues(
    db,
    rooms.map((r) => r.roomId),
  );
  return {
    rooms: rooms.map((r) => {
      const q = queues.get(r.roomId) ?? EMPTY_QUEUE;
      const mine = machines.filter((m) => m.roomId === r.roomId);
      const freeOf = (type: MachineType) =>
        mine.filter((m) => m.type === type && availability(m) === "free").length;
      return {
        room_id: idOut(r.roomId),
        room_name: r.name,
        ...counts(mine),
        washers_free: freeOf("washer"),
        dryers_free: freeOf("dryer"),
        queue_length: q.entries.length,
        isreserved: entryOf(q, uid) ? 1 : 0,
        queue_position: position(q, uid),
      };
    }),
  };
}

type Load = z.output<typeof LoadResponseSchema>;

/**
 * `POST /load`: the machines of one room (or of every room) as the seed's client lists them, the
 * user's reservations, and totals. The top-level `isreserved`, `queue_position` and
 * `expected_wait_minutes` are those of the requested room, or else of the first room (by id)
 * where the user is queued.
 */
export async function loadView(
  db: Firestore,
  uid: string,
  room: Room | null,
  now: number,
): Promise<Load> {
  const [rooms, machines] = await Promise.all([
    room ? [room] : readRooms(db),
    readMachines(db, room?.roomId),
  ]);
  const roomIds = rooms.map((r) => r.roomId);
  const listed = machines.filter((m) => m.roomId !== null && roomIds.includes(m.roomId));
  const machineIds = listed.map((m) => m.machineId);
  const [timedMachines, watched, queues, subscribed] = await Promise.all([
    readTimed(db, listed, now),
    existingIds(db, machineIds, (id) => refs(db).watchers(id).doc(uid)),
    readQueues(db, roomIds),
    existingIds(db, roomIds, (id) => refs(db).subscribers(id).doc(uid)),
  ]);
  const roomName = new Map(rooms.map((r) => [r.roomId, r.name]));

  const reservations = rooms.map((r) =>
    reservationView(
      r,
      queues.get(r.roomId) ?? EMPTY_QUEUE,
      uid,
      timedMachines.filter(({ machine }) => machine.roomId === r.roomId),
      now,
    ),
  );
  const offeredToMe = new Set(
    reservations.flatMap((r) => (r.offer ? [String(r.offer.machine_id)] : [])),
  );
  const focus = reservations.find((r) => r.isreserved === 1) ?? reservations[0] ?? null;

  const byStatus = (s: MachineStatus) =>
    listed.filter((m) => m.status === s && !m.outOfOrder).length;
  const timers = timedMachines.flatMap((t) => (t.timer === null ? [] : [t.timer]));

  const machineList: Load["machine_list"] = timedMachines.map(({ machine: m, ...t }) => ({
    machine_id: idOut(m.machineId),
    machine_name: m.name,
    room_id: idOut(m.roomId ?? ""),
    room_name: roomName.get(m.roomId ?? "") ?? null,
    machine_type: m.type,
    status: m.status,
    availability: availability(m),
    // The name the user gave the course while the stored key is still its key.
    course_name:
      m.courseName !== null && courseKey(m.courseName) === m.course ? m.courseName : m.course,
    timer: t.timer,
    finishing: t.finishing,
    avg_minutes: t.avgMinutes,
    elapsed_time_minutes: t.elapsedMinutes,
    expected_end_at: t.expectedEndAt,
    isusing: watched.has(m.machineId) ? 1 : 0,
    offered_to_me: offeredToMe.has(m.machineId) ? 1 : 0,
    online: m.online,
    out_of_order: m.outOfOrder,
  }));
  return {
    // The seed PWA (WashCall-Web) reads `machine_list`; `machines` is the same list.
    machine_list: machineList,
    machines: machineList,
    reservations,
    subscribed_rooms: [...subscribed].map(idOut),
    isreserved: focus?.isreserved ?? 0,
    queue_position: focus?.queue_position ?? null,
    expected_wait_minutes: focus?.expected_wait_minutes ?? null,
    status_context: {
      ...counts(listed),
      washing: byStatus("WASHING"),
      spinning: byStatus("SPINNING"),
      drying: byStatus("DRYING"),
      finished: byStatus("FINISHED"),
      off: byStatus("OFF"),
      queue_length: reservations.reduce((n, r) => n + r.queue_length, 0),
      // Minutes until the first running machine is expected to finish (null: none running).
      next_free_minutes: timers.length > 0 ? Math.min(...timers) : null,
      watching: listed.filter((m) => watched.has(m.machineId)).length,
    },
    now,
  };
}
