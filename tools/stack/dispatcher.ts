/**
 * Delivers Firestore triggers and schedules to the real exported functions, which the Functions
 * emulator cannot do without its own (Java) Firestore emulator. Triggers and schedules are
 * discovered from each function's `__endpoint`, the manifest `firebase deploy` reads too.
 *
 * Where document events come from:
 * - the local Firestore in this process (`changes`): every committed write, with the document
 *   before and after, at the moment it commits, as the Firestore emulator tells the Functions
 *   emulator. Exact: an event is queued before the write's caller hears back, so `idle()` covers it;
 * - any other Firestore (the real emulator): one `collectionGroup().onSnapshot` per trigger; a
 *   listener hears of a write some time after it, so `idle()` first writes a marker document into
 *   each watched group and waits until the listener has seen it (listeners deliver in commit order).
 * Documents there before the dispatcher started are not events, as in production. Delivery is
 * at-least-once like production: a failed delivery of a function registered with `retry: true`
 * is retried with backoff. Events of one trigger for one parent (one machine's reports, say) are
 * delivered one at a time, in commit order; different parents, and documents of a top-level
 * collection, in parallel, as Cloud Functions scales out (see {@link orderingKey}).
 */
import type { DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import type { StoredDocument } from "../firestore/query";
import { toTimestamp } from "../firestore/store";

/** One committed write, as the local Firestore reports it. */
export interface DocumentWrite {
  /** Full resource name: projects/p/databases/d/documents/… */
  name: string;
  before: StoredDocument | null;
  after: StoredDocument | null;
  /** Commit time, microseconds since the epoch. */
  commitTime: number;
}

/** Subscribes to committed writes; returns the unsubscribe. */
export type ChangeFeed = (listener: (write: DocumentWrite) => void) => () => void;

interface Endpoint {
  eventTrigger?: {
    eventType: string;
    eventFilterPathPatterns?: { document?: string };
    retry?: boolean;
  };
  scheduleTrigger?: { schedule: string; timeZone?: string | null };
}
type TriggerFunction = { __endpoint?: Endpoint; run: (event: unknown) => Promise<unknown> };

export interface DispatcherLog {
  info(message: string, ctx?: Record<string, unknown>): void;
  error(message: string, ctx?: Record<string, unknown>): void;
}

export interface Dispatcher {
  triggers: string[];
  schedules: string[];
  /** Resolves once every trigger's listener is in place: documents created after are events. */
  ready: Promise<void>;
  /** Resolves when every event seen so far has been delivered. */
  idle(): Promise<void>;
  /** Runs every scheduled function once for `at` (as the scheduler would at that minute). */
  runSchedulesAt(at: Date): Promise<void>;
  /** Stops taking new events and waits for the deliveries under way. */
  stop(): Promise<void>;
}

export function startDispatcher(
  db: Firestore,
  functions: Record<string, unknown>,
  opts: {
    log: DispatcherLog;
    schedules: boolean;
    projectId: string;
    maxAttempts?: number;
    /** The local Firestore's write feed; without it, collection-group listeners are used. */
    changes?: ChangeFeed;
  },
): Dispatcher {
  const unsubscribers: (() => void)[] = [];
  const listening: Promise<void>[] = [];
  /** Listener mode: per watched group, a barrier that resolves once the listener is caught up. */
  const barriers: (() => Promise<void>)[] = [];
  const queues = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const triggers: string[] = [];
  const schedules: {
    name: string;
    fn: TriggerFunction;
    schedule: string;
    due: (at: Date) => boolean;
  }[] = [];
  const maxAttempts = opts.maxAttempts ?? 5;

  const enqueue = (key: string, work: () => Promise<void>) => {
    const prev = queues.get(key) ?? Promise.resolve();
    const next = prev.then(work, work);
    queues.set(key, next);
    inFlight.add(next);
    void next.finally(() => {
      inFlight.delete(next);
      if (queues.get(key) === next) queues.delete(key);
    });
  };

  for (const [name, value] of Object.entries(functions)) {
    const fn = value as TriggerFunction;
    const trigger = fn?.__endpoint?.eventTrigger;
    const pattern = trigger?.eventFilterPathPatterns?.document;
    if (trigger && pattern && trigger.eventType.startsWith("google.cloud.firestore.document.v1.")) {
      const kind = trigger.eventType.slice("google.cloud.firestore.document.v1.".length);
      if (!["created", "updated", "deleted", "written"].includes(kind)) {
        throw new Error(`${name}: unknown Firestore event type ${trigger.eventType}`);
      }
      triggers.push(`${name} ← ${pattern} (${kind})`);
      const segments = pattern.split("/");
      const group = segments[segments.length - 2];
      const onWrite = (w: SnapshotWrite) => {
        const params = match(segments, w.path);
        if (!params) return;
        const created = w.before === null && w.after !== null;
        const deleted = w.before !== null && w.after === null;
        if (kind === "created" && !created) return;
        if (kind === "deleted" && !deleted) return;
        if (kind === "updated" && (created || deleted)) return;
        const missing = () => missingSnapshot(db, opts.projectId, w.path);
        const data =
          kind === "created"
            ? w.after
            : kind === "deleted"
              ? w.before
              : { before: w.before ?? missing(), after: w.after ?? missing() };
        enqueue(orderingKey(name, w.path), () =>
          deliver(
            name,
            fn,
            firestoreEvent(opts.projectId, trigger.eventType, w, params, data),
            trigger.retry === true,
          ),
        );
      };
      if (opts.changes) {
        const prefix = `projects/${opts.projectId}/databases/(default)/documents/`;
        unsubscribers.push(
          opts.changes((write) => {
            if (!write.name.startsWith(prefix)) return;
            onWrite({
              path: write.name.slice(prefix.length),
              before: write.before && snapshotOf(db, write.before),
              after: write.after && snapshotOf(db, write.after),
              time: new Date(write.commitTime / 1000).toISOString(),
            });
          }),
        );
      } else {
        const watch = watchGroup(db, group, onWrite, opts.log, name);
        unsubscribers.push(watch.unsubscribe);
        listening.push(watch.ready);
        barriers.push(watch.caughtUp);
      }
    }
    const schedule = fn?.__endpoint?.scheduleTrigger;
    if (schedule) {
      schedules.push({
        name,
        fn,
        schedule: schedule.schedule,
        due: dueAt(schedule.schedule, schedule.timeZone ?? "UTC"),
      });
    }
  }

  async function deliver(name: string, fn: TriggerFunction, event: unknown, retry: boolean) {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn.run(event);
        return;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (!retry || attempt >= maxAttempts) {
          opts.log.error("delivery failed", { function: name, attempt, error });
          return;
        }
        opts.log.info("delivery failed, retrying", { function: name, attempt, error });
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  async function runSchedulesAt(at: Date) {
    for (const s of schedules) {
      if (!s.due(at)) continue;
      await deliver(
        s.name,
        s.fn,
        { scheduleTime: at.toISOString(), jobName: `local-${s.name}` },
        false,
      );
    }
  }

  if (opts.schedules && schedules.length > 0) {
    const arm = () => {
      const now = Date.now();
      const nextMinute = Math.floor(now / 60_000) * 60_000 + 60_000;
      timers[0] = setTimeout(() => {
        const at = new Date(nextMinute);
        enqueue("__schedules", () => runSchedulesAt(at));
        arm();
      }, nextMinute - now);
    };
    arm();
  }

  return {
    triggers,
    schedules: schedules.map((s) => `${s.name} (${s.schedule})`),
    ready: Promise.all(listening).then(() => undefined),
    async idle() {
      await Promise.all(barriers.map((b) => b()));
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    runSchedulesAt,
    async stop() {
      unsubscribers.forEach((u) => u());
      timers.forEach((t) => clearTimeout(t));
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Calls `onWrite` for every write to a document of collection group `group` after the
 * listener's first snapshot (which holds the documents already there), with the document as
 * last seen before it (a listener may merge quick successive writes into one). `caughtUp()`
 * writes a marker into the group (under `_dispatcher/`, which matches no trigger's pattern),
 * waits for the listener to see it, then deletes it.
 */
function watchGroup(
  db: Firestore,
  group: string,
  onWrite: (w: SnapshotWrite) => void,
  log: DispatcherLog,
  name: string,
): { unsubscribe: () => void; ready: Promise<void>; caughtUp: () => Promise<void> } {
  let first = true;
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const waiting = new Map<string, () => void>();
  const lastSeen = new Map<string, DocumentSnapshot>();
  let markers = 0;
  const unsubscribe = db.collectionGroup(group).onSnapshot(
    (snap) => {
      const time = snap.readTime.toDate().toISOString();
      for (const change of snap.docChanges()) {
        const path = change.doc.ref.path;
        if (change.type === "added") waiting.get(path)?.();
        const before = lastSeen.get(path) ?? null;
        if (change.type === "removed") lastSeen.delete(path);
        else lastSeen.set(path, change.doc);
        if (first) continue;
        onWrite({ path, before, after: change.type === "removed" ? null : change.doc, time });
      }
      if (first) {
        first = false;
        markReady();
      }
    },
    (err) => {
      log.error("listener failed", { function: name, error: err.message });
      markReady();
    },
  );
  const caughtUp = async () => {
    await ready;
    const ref = db.doc(`_dispatcher/${process.pid}-${name}/${group}/${++markers}`);
    const seen = new Promise<void>((resolve) => waiting.set(ref.path, resolve));
    await ref.set({ at: Date.now() });
    await seen;
    waiting.delete(ref.path);
    await ref.delete();
  };
  return { unsubscribe, ready, caughtUp };
}

/** A write as a trigger sees it: the path, the document before and after (null: missing). */
interface SnapshotWrite {
  path: string;
  before: DocumentSnapshot | null;
  after: DocumentSnapshot | null;
  /** When it was committed (ISO). */
  time: string;
}

type SnapshotFactory = {
  snapshot_: (d: object | string, t: object, e: string) => DocumentSnapshot;
};

/** The snapshot of a missing document, as a Change's before (creation) or after (deletion). */
function missingSnapshot(db: Firestore, projectId: string, path: string): DocumentSnapshot {
  const build = (db as unknown as SnapshotFactory).snapshot_;
  const now = toTimestamp(Date.now() * 1000);
  return build.call(
    db,
    `projects/${projectId}/databases/(default)/documents/${path}`,
    now,
    "protobufJS",
  );
}

/** An Admin SDK snapshot of a stored document, as firebase-functions builds event data. */
function snapshotOf(db: Firestore, doc: StoredDocument): DocumentSnapshot {
  const build = (
    db as unknown as { snapshot_: (d: object, t: object, e: string) => DocumentSnapshot }
  ).snapshot_;
  return build.call(
    db,
    {
      name: doc.name,
      fields: doc.fields,
      createTime: toTimestamp(doc.createTime),
      updateTime: toTimestamp(doc.updateTime),
    },
    toTimestamp(doc.updateTime),
    "protobufJS",
  );
}

function match(pattern: string[], path: string): Record<string, string> | null {
  const parts = path.split("/");
  if (parts.length !== pattern.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = pattern[i];
    if (p.startsWith("{") && p.endsWith("}")) params[p.slice(1, -1)] = parts[i]!;
    else if (p !== parts[i]) return null;
  }
  return params;
}

function firestoreEvent(
  projectId: string,
  type: string,
  w: SnapshotWrite,
  params: Record<string, string>,
  data: unknown,
) {
  return {
    specversion: "1.0",
    id: `${w.path}@${w.time}`,
    source: `//firestore.googleapis.com/projects/${projectId}/databases/(default)`,
    type,
    time: w.time,
    subject: `documents/${w.path}`,
    project: projectId,
    location: "local",
    database: "(default)",
    namespace: "(default)",
    document: w.path,
    params,
    data,
  };
}
/**
 * Which events of a trigger wait for each other: those under the same parent document
 * (`machines/1/reports/…` → `onReportCreated machines/1`), and each top-level document with
 * itself only (`pushes/p1` → `onPushCreated pushes/p1`).
 */
export function orderingKey(trigger: string, path: string): string {
  const segments = path.split("/");
  const scope = segments.length > 2 ? segments.slice(0, -2) : segments;
  return `${trigger} ${scope.join("/")}`;
}

/**
 * When a schedule is due: "every N minutes", or a cron whose minute field is "*", "*\/N" or a
 * number and whose hour field is "*" or a number (in the schedule's time zone); the day fields
 * must be "*".
 */
export function dueAt(schedule: string, timeZone: string): (at: Date) => boolean {
  const every = /^every (\d+) minutes?$/.exec(schedule.trim());
  if (every) return (at) => at.getUTCMinutes() % Number(every[1]) === 0;
  const [minute = "", hour = "", ...days] = schedule.trim().split(/\s+/);
  const field = (f: string): ((x: number) => boolean) | null => {
    if (f === "*") return () => true;
    const step = /^\*\/(\d+)$/.exec(f);
    if (step) return (x) => x % Number(step[1]) === 0;
    return /^\d+$/.test(f) ? (x) => x === Number(f) : null;
  };
  const m = field(minute);
  const h = field(hour);
  if (!m || !h || days.length !== 3 || days.some((d) => d !== "*")) {
    throw new Error(`schedule "${schedule}" is not supported by the local dispatcher`);
  }
  const clock = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "numeric",
    minute: "numeric",
    hourCycle: "h23",
  });
  return (at) => {
    const parts = clock.formatToParts(at);
    const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    return m(part("minute")) && h(part("hour"));
  };
}
