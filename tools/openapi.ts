/**
 * `npm run docs`: writes docs/openapi.json, the OpenAPI 3.1 description of both HTTP functions,
 * generated from the code (zod 4's `z.toJSONSchema`, no extra package):
 * - `device`: /update, /heartbeat, /raw_data with the bodies of http/deviceSchemas.ts;
 * - `api`: every route of the route table `apiRoutes` (method, path, auth → security, body
 *   schema, query schema, and the `response` schema of the 200 body), with what the table does
 *   not carry (summaries, an optional body, extra statuses) in DOC_EXTRAS below.
 * Every error is `{"error":{"code","message"}}`. The output is deterministic (keys sorted, two
 * spaces, trailing newline); test/unit/openapi.test.ts fails when the committed file differs.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { ApiRoute, AuthLevel } from "../functions/src/http/apiRouter";
import {
  DeviceUpdateBodySchema,
  HeartbeatBodySchema,
  RawDataBatchBodySchema,
  RawDataSampleBodySchema,
  UpdateBodySchema,
} from "../functions/src/http/deviceSchemas";
import { apiRoutes } from "../functions/src/http/routes";
import { LoadBodySchema } from "../functions/src/http/routes/status";

export const OPENAPI_PATH = path.join(__dirname, "..", "docs", "openapi.json");

const LOCAL_BASE = "http://127.0.0.1:5001/demo-washcall/asia-northeast3";
export const SERVERS = {
  device: { url: `${LOCAL_BASE}/device`, description: "device function (local stack)" },
  api: { url: `${LOCAL_BASE}/api`, description: "api function (local stack)" },
} as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** What the route table does not carry: summaries, optional bodies, route-specific statuses. */
interface DocExtra {
  query?: z.ZodType;
  /** A body the handler parses itself (an optional one), when the route has no `body`. */
  body?: z.ZodType;
  /** Statuses beyond the ones the auth level and schemas imply. */
  statuses?: number[];
  summary?: string;
}

/** Keyed "METHOD /path"; every key must be a route of the table (the test checks it). */
export const DOC_EXTRAS: Record<string, DocExtra> = {
  "GET /health": {
    summary:
      "Uptime check without a token (status only); an admin's token adds the version and Firestore state",
  },
  "GET /notifications": { summary: "The inbox, newest first" },
  "GET /tip": {
    summary: "The best time to do laundry (`tip`, and `tip_message` for the seed PWA)",
  },
  "POST /load": {
    body: LoadBodySchema,
    summary: "Machines with status, timers and queue state (optional body)",
  },
  "GET /statistics/congestion": {
    summary: "Weekday × hour cycle counts (Asia/Seoul), one room or all",
  },
  "POST /report_broken": {
    statuses: [404],
    summary: "Report a broken machine (once per user per outage)",
  },
  "POST /admin/clear_broken": {
    statuses: [404],
    summary: "Put a machine back in order",
  },
  "POST /admin/add_room": {
    summary: "Add a room (next decimal id)",
  },
  "POST /admin/add_device": {
    statuses: [404, 409],
    summary: "Add a machine; answers its secret once and a firmware snippet",
  },
  "POST /admin/rotate_device_secret": {
    statuses: [404],
    summary: "New device secret; the old one stops working",
  },
  "POST /survey": {
    summary: "Satisfaction survey (1–5, optional suggestion); one answer per resident and day",
  },
  "GET /admin/surveys": {
    summary: "The newest survey answers and their average",
  },
  "POST /admin/calibration": {
    statuses: [404],
    summary: "Switch raw-sample recording on or off",
  },
};

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Invalid JSON, body or query (`invalid_json`, `invalid_body`, `invalid_query`); the message names the field",
  401: "Missing or invalid credentials (`unauthenticated`)",
  403: "Not allowed (`forbidden`)",
  404: "Unknown machine or room (`not_found`); the message names the id",
  405: "Method not allowed (`method_not_allowed`); the `Allow` header lists the methods",
  409: "Already exists (`conflict`)",
  413: "Body over 8 KB (`payload_too_large`)",
  429: "More than one report a second for the machine (`rate_limited`)",
  500: "Internal error (`internal`)",
  503: "Firestore, or Auth checking the ID token, unreachable (`unavailable`); try again",
};

const ErrorResponseSchema = z
  .object({
    error: z
      .object({
        code: z.string().describe("Machine-readable, e.g. invalid_body, not_found"),
        message: z.string().describe("Human-readable; for a 400 it names the field(s) at fault"),
      })
      .strict(),
  })
  .strict();

/** Either shape; the handler parses a body with `samples` as a batch. */
const RawDataBodySchema = z.union([RawDataSampleBodySchema, RawDataBatchBodySchema]);
const DeviceOkSchema = z.object({
  message: z.string(),
  NewWashThreshold: z.number().nullable(),
  NewSpinThreshold: z.number().nullable(),
});
const ThresholdsSchema = z.object({
  NewWashThreshold: z.number(),
  NewSpinThreshold: z.number(),
});
const HeartbeatOkSchema = z.object({ message: z.literal("ok") });
const RawDataOkSchema = z.object({
  message: z.literal("received"),
  stored: z.boolean().describe("false while calibration is off for the machine"),
  samples: z.number().int().optional(),
  reason: z.string().optional(),
});

/** A zod schema as a JSON Schema 2020-12 object (OpenAPI 3.1's dialect), without `$schema`. */
export function jsonSchema(schema: z.ZodType, io: "input" | "output" = "input"): JsonObject {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io }) as JsonObject;
  return rest;
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: JsonObject = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function jsonContent(schema: JsonObject): JsonObject {
  return { "application/json": { schema } };
}

function responses(statuses: Iterable<number>, ok: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const status of [...new Set(statuses)].sort((a, b) => a - b)) {
    out[String(status)] =
      status === 200
        ? { description: STATUS_TEXT[200] ?? "OK", content: jsonContent(ok) }
        : {
            description: STATUS_TEXT[status] ?? `HTTP ${status}`,
            content: jsonContent({ $ref: "#/components/schemas/ErrorResponse" }),
          };
  }
  return out;
}

function operationId(fn: string, method: string, p: string): string {
  return `${fn}_${method.toLowerCase()}${p.replace(/[^A-Za-z0-9]+/g, "_")}`.replace(/_+$/, "");
}

function hasIdField(schema: JsonObject | undefined): boolean {
  const props = schema?.properties;
  return (
    props !== undefined &&
    props !== null &&
    typeof props === "object" &&
    Object.keys(props).some((k) => k.endsWith("_id"))
  );
}

function queryParameters(schema: JsonObject): Json[] {
  const props = (schema.properties ?? {}) as JsonObject;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.keys(props).map((name) => ({
    name,
    in: "query",
    required: required.has(name),
    schema: props[name] ?? {},
  }));
}

function security(auth: AuthLevel): Json[] {
  // `{}`: no token is also fine.
  return auth === "optional" ? [{}, { firebaseIdToken: [] }] : [{ firebaseIdToken: [] }];
}

function authNote(auth: AuthLevel): string {
  if (auth === "admin")
    return "Admins only: a Firebase ID token with the custom claim `admin: true`.";
  if (auth === "user") return "Needs a Firebase ID token (`Authorization: Bearer <token>`).";
  return "A Firebase ID token is optional; one that is sent must be valid (else 401).";
}

function apiOperation(route: ApiRoute): JsonObject {
  const key = `${route.method} ${route.path}`;
  const extra = DOC_EXTRAS[key] ?? {};
  // A route may carry its own query schema (`query`), which wins over DOC_EXTRAS.
  const querySchema = route.query ?? extra.query;
  const bodySchema = route.body ?? extra.body;
  const body = bodySchema ? jsonSchema(bodySchema) : undefined;
  const query = querySchema ? jsonSchema(querySchema) : undefined;

  const statuses = [200, 401, 405, 500, 503, ...(extra.statuses ?? [])];
  if (body || query) statuses.push(400);
  if (body) statuses.push(413);
  if (route.auth === "admin") statuses.push(403);
  if (hasIdField(body) || hasIdField(query)) statuses.push(404);

  const op: JsonObject = {
    operationId: operationId("api", route.method, route.path),
    tags: [route.path.startsWith("/admin/") ? "admin" : "api"],
    summary: extra.summary ?? `${route.method} ${route.path}`,
    description: authNote(route.auth),
    security: security(route.auth),
    "x-washcall-auth": route.auth,
    responses: responses(statuses, jsonSchema(route.response, "output")),
  };
  if (query) op.parameters = queryParameters(query);
  if (body) {
    op.requestBody = {
      required: route.body !== undefined,
      content: jsonContent(body),
    };
  }
  return op;
}

const DEVICE_PATHS: { path: string; body: z.ZodType; ok: z.ZodType; summary: string }[] = [
  {
    path: "/update",
    body: UpdateBodySchema,
    ok: DeviceOkSchema,
    summary: "A state change (WASHING, SPINNING, DRYING, FINISHED, EXT_VIBE, OFF)",
  },
  {
    path: "/heartbeat",
    body: HeartbeatBodySchema,
    ok: HeartbeatOkSchema,
    summary: "Keeps lastSeenAt fresh between state changes",
  },
  {
    path: "/raw_data",
    body: RawDataBodySchema,
    ok: RawDataOkSchema,
    summary:
      "1 Hz vibration samples (one per request, as WashCall_Main sends them, or a batch); without a secret a sign of life only; stored only when authenticated while calibration is on",
  },
  {
    path: "/device_update",
    body: DeviceUpdateBodySchema,
    ok: ThresholdsSchema,
    summary: "The board's calibration thresholds (404 before its first calibrated cycle)",
  },
];

function deviceOperation(d: (typeof DEVICE_PATHS)[number]): JsonObject {
  return {
    operationId: operationId("device", "POST", d.path),
    tags: ["device"],
    summary: d.summary,
    description:
      "Authenticated by `secret_key` in the body (legacy firmware; the fork firmware's device JWT is " +
      "accepted there too) or `Authorization: Bearer <JWT>` HS256-signed with the device secret " +
      "(`sub` = machine id; `exp` at most 1 h after `iat`, or no `exp` and `iat` at most 1 h old). " +
      "`raw_data` is also accepted without credentials, as a sign of life only. `machine_type` is " +
      "advisory: the registered type wins.",
    security: [{}, { deviceJwt: [] }],
    requestBody: { required: true, content: jsonContent(jsonSchema(d.body)) },
    responses: responses([200, 400, 401, 403, 404, 405, 413, 429, 500], jsonSchema(d.ok, "output")),
  };
}

/** The whole document, keys sorted. */
export function buildOpenApi(routes: readonly ApiRoute[] = apiRoutes): JsonObject {
  const paths: JsonObject = {};
  const fnOfPath = new Map<string, string>();
  const add = (fn: "device" | "api", p: string, method: string, op: JsonObject) => {
    const taken = fnOfPath.get(p);
    if (taken !== undefined && taken !== fn) {
      throw new Error(`path ${p} exists in both the ${taken} and ${fn} functions`);
    }
    fnOfPath.set(p, fn);
    const item = (paths[p] ??= { servers: [SERVERS[fn]] }) as JsonObject;
    item[method.toLowerCase()] = op;
  };
  for (const d of DEVICE_PATHS) add("device", d.path, "POST", deviceOperation(d));
  for (const r of routes) add("api", r.path, r.method, apiOperation(r));

  return sortKeys({
    openapi: "3.1.0",
    info: {
      title: "WashCall",
      version: "1.0.0",
      description:
        "The two HTTP functions of WashCall: `device` (firmware) and `api` (the PWA). Each path " +
        "names its function's server. Deployed, they are " +
        "`https://asia-northeast3-<project>.cloudfunctions.net/{device|api}`. Generated by " +
        "`npm run docs` from the zod schemas; do not edit by hand.",
    },
    servers: [SERVERS.device, SERVERS.api],
    tags: [
      { name: "device", description: "device function: firmware reports" },
      { name: "api", description: "api function: signed-in users" },
      { name: "admin", description: "api function: admins only" },
    ],
    paths,
    components: {
      schemas: { ErrorResponse: jsonSchema(ErrorResponseSchema, "output") },
      securitySchemes: {
        firebaseIdToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "Firebase ID token",
          description: "Admin routes also need the custom claim `admin: true`.",
        },
        deviceJwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT (HS256, device secret)",
        },
      },
    },
  }) as JsonObject;
}

/** The file's exact text. */
export function renderOpenApi(routes: readonly ApiRoute[] = apiRoutes): string {
  return `${JSON.stringify(buildOpenApi(routes), null, 2)}\n`;
}

function main(): void {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${path.relative(process.cwd(), OPENAPI_PATH)}`);
}

// Run only as `tsx tools/openapi.ts`, not when a test imports the module.
if (process.argv[1] && path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, "") === "openapi") {
  main();
}
