/**
 * Delivers Firestore triggers and schedules to the real exported functions, which the Functions
 * emulator cannot do without its own (Java) Firestore emulator. Triggers and schedules are
 * discovered from each function's `__endpoint`, the manifest `firebase deploy` reads too.
 *
 * Delivery is at-least-once like production: documents present at start are delivered again
 * (the functions' idempotency markers make that harmless), and a failed delivery of a function
 * registered with `retry: true` is retried with backoff. Events of one trigger are delivered one
 * at a time: the embedded endpoint does not isolate transactions, and two machines finishing at
 * once both recompute one course's averages; real Firestore would serialise those transactions.
 */
import type { FirestoreServer } from "@firestore-emulator/server";
import type { DocumentSnapshot, Firestore } from "firebase-admin/firestore";

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
    /** The in-process embedded endpoint, whose collection-group listeners never fire. */
    embedded?: FirestoreServer | null;
  },
): Dispatcher {
  const unsubscribers: (() => void)[] = [];
  const queues = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const triggers: string[] = [];
  const schedules: { name: string; fn: TriggerFunction; everyMinutes: number }[] = [];
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
      if (!trigger.eventType.endsWith(".created")) {
        throw new Error(
          `${name}: only onDocumentCreated triggers are delivered locally (${trigger.eventType})`,
        );
      }
      triggers.push(`${name} ← ${pattern}`);
      const segments = pattern.split("/");
      const group = segments[segments.length - 2];
      const onAdded = (docPath: string) => {
        const params = match(segments, docPath);
        if (!params) return;
        const ref = db.doc(docPath);
        enqueue(name, async () => {
          const doc = await ref.get();
          if (!doc.exists) return;
          await deliver(
            name,
            fn,
            firestoreEvent(opts.projectId, trigger.eventType, doc, params),
            trigger.retry === true,
          );
        });
      };
      unsubscribers.push(watchCreated(db, opts.embedded ?? null, group, onAdded, opts.log, name));
    }
    const schedule = fn?.__endpoint?.scheduleTrigger;
    if (schedule) {
      schedules.push({ name, fn, everyMinutes: everyMinutes(schedule.schedule) });
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
      if (at.getUTCMinutes() % s.everyMinutes !== 0) continue;
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
    schedules: schedules.map((s) => `${s.name} every ${s.everyMinutes} min`),
    async idle() {
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
 * Calls `onAdded(path)` for every document of collection group `group`: those present now and
 * those created later. The real emulator supports collection-group listeners; the embedded
 * endpoint does not (its collection-group listeners and queries stay empty), so there we read
 * its in-process change events instead.
 */
function watchCreated(
  db: Firestore,
  embedded: FirestoreServer | null,
  group: string,
  onAdded: (path: string) => void,
  log: DispatcherLog,
  name: string,
): () => void {
  if (!embedded) {
    return db.collectionGroup(group).onSnapshot(
      (snap) => {
        for (const change of snap.docChanges())
          if (change.type === "added") onAdded(change.doc.ref.path);
      },
      (err) => log.error("listener failed", { function: name, error: err.message }),
    );
  }
  const listener = ({ document }: { document: { getDocumentPath(): string } }) => {
    const full = document.getDocumentPath();
    const at = full.indexOf("/documents/");
    const path = at >= 0 ? full.slice(at + "/documents/".length) : full;
    if (path.split("/").at(-2) === group) onAdded(path);
  };
  // The embedded endpoint lives and dies with this process, so there is nothing from before to
  // deliver (and its collection-group queries return nothing anyway).
  embedded.state.emitter.on("create-document", listener);
  return () => embedded.state.emitter.off("create-document", listener);
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
  doc: DocumentSnapshot,
  params: Record<string, string>,
) {
  const time = doc.createTime?.toDate().toISOString() ?? new Date().toISOString();
  return {
    specversion: "1.0",
    id: `${doc.ref.path}@${time}`,
    source: `//firestore.googleapis.com/projects/${projectId}/databases/(default)`,
    type,
    time,
    subject: `documents/${doc.ref.path}`,
    project: projectId,
    location: "local",
    database: "(default)",
    namespace: "(default)",
    document: doc.ref.path,
    params,
    data: doc,
  };
}

/** "every 1 minutes", "every 5 minutes" or a cron with a "*" or "*\/N" minute field. */
export function everyMinutes(schedule: string): number {
  const every = /^every (\d+) minutes?$/.exec(schedule.trim());
  if (every) return Number(every[1]);
  const minute = schedule.trim().split(/\s+/)[0] ?? "";
  if (minute === "*") return 1;
  const step = /^\*\/(\d+)$/.exec(minute);
  if (step) return Number(step[1]);
  throw new Error(`schedule "${schedule}" is not supported by the local dispatcher`);
}
