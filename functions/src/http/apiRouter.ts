/**
 * The `api` function's router over a table of `defineRoute(…).handle(…)` routes. Checks run in
 * one order for every request: unknown path 404 → method 405 (with Allow) → token 401 / admin
 * claim 403 → query 400 → body 400 (413 over 8 KB) → the route's handler.
 */
import * as logger from "firebase-functions/logger";
import type { Auth } from "firebase-admin/auth";
import { z } from "zod";
import type { Invocation } from "../invocation";
import { type Handler, type HttpRequest, jsonBody, requireMethod } from "./adapter";
import { HttpError, parseOrThrow } from "./errors";

type HttpMethod = "GET" | "POST";
/**
 * "optional": anyone, but a token, if sent, must be valid (the route sees the user or null);
 * "admin": a valid Firebase ID token with the `admin: true` claim.
 */
export type AuthLevel = "optional" | "user" | "admin";

interface ApiUser {
  uid: string;
  admin: boolean;
}

export interface ApiDeps extends Invocation {
  /** `getUser` tells an account's age (broken reports). */
  auth: Pick<Auth, "verifyIdToken" | "getUser">;
  /** Reported by GET /health. */
  version: string;
  /** DEVICE_MASTER_KEY: admin routes encrypt new device secrets with it. */
  masterKey?: string;
}

interface RouteContext<A extends AuthLevel, B, Q> {
  req: HttpRequest;
  deps: ApiDeps;
  user: A extends "optional" ? ApiUser | null : ApiUser;
  body: B;
  /** Empty for a route without a `query` schema. */
  query: Q;
  /** Headers of the 200 answer, set by the handler (an error is answered without them). */
  headers: Record<string, string>;
}

type Input<S> = S extends z.ZodType ? z.input<S> : undefined;

/** A route with its types erased, as the router holds it. */
export interface ApiRoute<K extends string = string, T = unknown> {
  method: HttpMethod;
  /** Exact path: ids travel in bodies and queries. */
  path: string;
  auth: AuthLevel;
  /** `.strict()` zod objects; a route without `query` takes no query parameter. */
  body?: z.ZodType;
  query?: z.ZodType;
  /** The 200 body: docs/openapi.json, the PWA's types and test/integration/api-responses.test.ts. */
  response: z.ZodType;
  /** Answers the 200 body; failures are thrown {@link HttpError}s. */
  handler: (ctx: RouteContext<AuthLevel, unknown, unknown>) => Promise<unknown>;
  /** Type-level only (never set): "METHOD /path" and the types, for {@link ContractOf}. */
  readonly types?: { key: K } & T;
}

/**
 * `defineRoute({method, path, auth, body?, query?, response}).handle(async (ctx) => …)`: two
 * steps, so that the handler sees the parsed body, query and user, and its 200 body is checked
 * against `response`.
 */
export function defineRoute<
  M extends HttpMethod,
  P extends string,
  A extends AuthLevel,
  R extends z.ZodType,
  S extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(spec: { method: M; path: P; auth: A; body?: S; query?: Q; response: R }) {
  type Body = S extends z.ZodType ? z.output<S> : undefined;
  type Query = Q extends z.ZodType ? z.output<Q> : Record<string, never>;
  type Types = { body: Input<S>; query: Input<Q>; response: z.output<R> };
  return {
    handle(handler: (ctx: RouteContext<A, Body, Query>) => Promise<z.input<R>>) {
      return { ...spec, handler } as unknown as ApiRoute<`${M} ${P}`, Types>;
    },
  };
}

/** Every route's types keyed "METHOD /path": what the PWA's client imports (types only). */
export type ContractOf<R extends ApiRoute> = {
  [K in R as NonNullable<K["types"]>["key"]]: Omit<NonNullable<K["types"]>, "key">;
};

/** 400 invalid_query naming a parameter that is unknown (even `__proto__`), bad, or repeated. */
function parseQuery(schema: z.ZodType, req: HttpRequest): unknown {
  if (req.repeatedQuery && req.repeatedQuery.length > 0) {
    throw new HttpError(
      400,
      "invalid_query",
      `${req.repeatedQuery.join(", ")}: given more than once; give each query parameter once`,
    );
  }
  const pairs = Object.entries(req.query).filter((e): e is [string, string] => e[1] !== undefined);
  return parseOrThrow(schema, Object.fromEntries(pairs), "invalid_query");
}

/** verifyIdToken's failures that are Auth's or the network's, not the token's. */
const AUTH_UNAVAILABLE: ReadonlySet<string> = new Set([
  "auth/internal-error",
  "app/network-error",
  "app/network-timeout",
]);

async function authenticate(
  deps: ApiDeps,
  req: HttpRequest,
  level: AuthLevel,
): Promise<ApiUser | null> {
  const unauthenticated = (message: string) => new HttpError(401, "unauthenticated", message);
  const header = req.headers.authorization?.trim() ?? "";
  if (header === "") {
    if (level === "optional") return null;
    throw unauthenticated("missing Authorization: Bearer <Firebase ID token>");
  }
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw unauthenticated("Authorization must be 'Bearer <Firebase ID token>'");
  const decoded = await deps.auth.verifyIdToken(token).catch((err: unknown) => {
    // Auth failed on its side (an internal error, or a network failure: under the emulator every
    // check looks the account up): ours to retry, not a reason to sign the user out. firebase-admin
    // reports a failed fetch of its public keys as a bad token, so that one stays 401. Never log
    // the token.
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === "string" && AUTH_UNAVAILABLE.has(code)) {
      logger.warn("ID token not checked: Auth unavailable", { code });
      throw new HttpError(503, "unavailable", "could not check the ID token; try again", {
        "Retry-After": "1",
      });
    }
    // Anything else (expired, wrong project, bad signature) is the client's to fix.
    throw unauthenticated("the ID token is invalid or expired");
  });
  const admin = decoded.admin === true;
  if (level === "admin" && !admin) {
    throw new HttpError(403, "forbidden", "this route is for admins only");
  }
  return { uid: decoded.uid, admin };
}

export function createRouter(routes: readonly ApiRoute[], deps: ApiDeps): Handler {
  const keys = routes.map((r) => `${r.method} ${r.path}`);
  const twice = keys.find((key, i) => keys.indexOf(key) !== i);
  if (twice) throw new Error(`duplicate route ${twice}`);
  return async (req) => {
    // A trailing slash is the same path; route paths are written without one.
    const path = req.path.replace(/\/+$/, "") || "/";
    const candidates = routes.filter((r) => r.path === path);
    if (candidates.length === 0) throw new HttpError(404, "not_found", `no api endpoint ${path}`);
    requireMethod({ ...req, path }, ...candidates.map((r) => r.method));
    const route = candidates.find((r) => r.method === req.method)!;
    const user = await authenticate(deps, req, route.auth);
    const headers: Record<string, string> = {};
    const body = await route.handler({
      req,
      deps,
      user,
      query: parseQuery(route.query ?? z.object({}).strict(), req),
      body: route.body ? parseOrThrow(route.body, jsonBody(req)) : undefined,
      headers,
    });
    return Object.keys(headers).length > 0 ? { status: 200, body, headers } : { status: 200, body };
  };
}
