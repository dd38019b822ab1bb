/**
 * End-to-end helpers: the local stack started in this test process (the same code `npm start`
 * runs: compiled functions/lib, HTTP host, trigger dispatcher, outbox push transport), and small
 * HTTP clients for its `device` and `api` functions.
 *
 * Firestore: the stack shares the worker's (the real emulator, or the worker's local Firestore,
 * found through tools/stack/firestore.ts); test/support/setup.ts clears it before each test.
 */
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { createRequire } from "node:module";
import path from "node:path";
import { createMachine } from "../../functions/src/store/machines";
import { seedDemo } from "../../tools/stack/seed";
import type { MachineType } from "../../functions/src/domain/status";
import { ROOT, type Stack, startStack } from "../../tools/stack/stack";
import { type TestUser, bearer } from "../support/auth";

export interface E2eStack {
  stack: Stack;
  db: Firestore;
  /** Trigger deliveries that failed for good (the dispatcher's error log). */
  deliveryErrors: { message: string; ctx?: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/** Starts the stack on free ports, without schedules and without seeding (see resetStack). */
export async function startE2eStack(): Promise<E2eStack> {
  const deliveryErrors: E2eStack["deliveryErrors"] = [];
  const stack = await startStack({
    firestorePort: 0,
    functionsPort: 0,
    hostingPort: 0,
    auth: true,
    schedules: false,
    seed: false,
    log: {
      info: () => undefined,
      error: (message, ctx) => {
        deliveryErrors.push({ message, ctx });
        console.error(message, ctx);
      },
    },
  });
  const unmute = muteFunctionsInfoLogs();
  return {
    stack,
    db: getFirestore(),
    deliveryErrors,
    stop: async () => {
      unmute();
      await stack.stop();
    },
  };
}

/** A clean database with the demo room (room 1: washers 1–4, dryers 5–6, demo-secret-N). */
export async function resetStack(e: E2eStack): Promise<void> {
  await e.stack.dispatcher.idle();
  // Firestore itself was cleared by test/support/setup.ts before this test.
  e.deliveryErrors.length = 0;
  await seedDemo(e.db, masterKey());
}

export function masterKey(): string {
  const key = process.env.DEVICE_MASTER_KEY;
  if (!key) throw new Error("DEVICE_MASTER_KEY is not set: start the stack first");
  return key;
}

/** Adds a machine to room 1 with secret `demo-secret-<id>`. */
export async function addMachine(e: E2eStack, id: number, type: MachineType): Promise<void> {
  await createMachine(
    e.db,
    {
      machineId: String(id),
      roomId: "1",
      name: `${type === "washer" ? "세탁기" : "건조기"} ${id}`,
      type,
      secret: `demo-secret-${id}`,
    },
    masterKey(),
  );
}

export interface HttpReply {
  status: number;
  body: Record<string, unknown>;
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** POST …/device/update with the legacy secret_key of the demo machine. */
export function postUpdate(
  e: E2eStack,
  report: { machine_id: number; status: string; timestamp: number } & Record<string, unknown>,
): Promise<HttpReply> {
  return postJson(`${e.stack.deviceUrl}/update`, {
    secret_key: `demo-secret-${report.machine_id}`,
    ...report,
  });
}

/** Calls the api function as `user`; throws with the reply unless it answers 200. */
export async function callApi(
  e: E2eStack,
  user: TestUser,
  method: "GET" | "POST",
  route: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const url = `${e.stack.apiUrl}${route}`;
  const reply =
    method === "POST"
      ? await postJson(url, body ?? {}, bearer(user))
      : await fetch(url, { headers: bearer(user) }).then(async (res) => ({
          status: res.status,
          body: (await res.json()) as Record<string, unknown>,
        }));
  if (reply.status !== 200) {
    throw new Error(`${method} ${route} → ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

/** Resolves once `check` is true, polling every 20 ms; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every document of a collection (or collection group), id → data. */
export async function docsOf(
  query: FirebaseFirestore.Query,
): Promise<Map<string, FirebaseFirestore.DocumentData>> {
  const snap = await query.get();
  return new Map(snap.docs.map((d) => [d.id, d.data()]));
}

/**
 * Silences the functions' INFO/DEBUG log lines (one or more per report: hundreds in a simulated
 * day) while the stack runs; warnings and errors still print. firebase-functions/logger writes
 * through console methods it captured at load time, so those are what is swapped. Returns the
 * undo; does nothing if the logger's internals are not where expected.
 */
function muteFunctionsInfoLogs(): () => void {
  try {
    const requireLib = createRequire(path.join(ROOT, "functions", "lib", "index.js"));
    const loggerDir = path.dirname(requireLib.resolve("firebase-functions/logger"));
    const common = requireLib(path.join(loggerDir, "common.js")) as {
      UNPATCHED_CONSOLE?: Record<string, unknown>;
    };
    const sink = common.UNPATCHED_CONSOLE;
    if (!sink) return () => undefined;
    const saved = { ...sink };
    for (const level of ["debug", "info", "log"]) {
      if (typeof sink[level] === "function") sink[level] = () => undefined;
    }
    return () => Object.assign(sink, saved);
  } catch {
    return () => undefined;
  }
}
