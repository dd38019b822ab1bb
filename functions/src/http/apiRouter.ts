/**
 * The `api` function's router: a table of routes, each `{method, path, auth, body?, handler}`.
 * Checks run in one fixed order for every request:
 *   unknown path 404 → method 405 (with Allow) → auth 401 (missing/bad Firebase ID token) /
 *   403 (route needs the `admin: true` custom claim) → body 400 (JSON via jsonBody: 413 over
 *   8 KB; zod `.strict()` via parseOrThrow) → the route's handler.
 * A route file exports an array made with `defineRoute`; routes/index.ts concatenates them.
 */
import type { Auth } from "firebase-admin/auth";
import type { Firestore } from "firebase-admin/firestore";
import type { z } from "zod";
import type { PushTransport } from "../services/fcm/transport";
import { type Handler, type HttpRequest, type HttpResponse, jsonBody } from "./adapter";
import { HttpError, parseOrThrow } from "./errors";
import { NoQuerySchema, parseQuery } from "./routes/common";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/**
 * "none": anyone; "optional": anyone, and a token if one is sent must be valid (the route sees the
 * user or null); "user": a valid Firebase ID token; "admin": that plus the `admin: true` claim.
 */
export type AuthLevel = "none" | "optional" | "user" | "admin";

export interface ApiUser {
  uid: string;
  admin: boolean;
  email: string | null;
}

export interface ApiDeps {
  db: Firestore;
  /** `verifyIdToken` for every route; `getUser` for an account's age (broken reports). */
  auth: Pick<Auth, "verifyIdToken" | "getUser">;
  now: () => number;
  /** Reported by GET /health. */
  version: string;
  /** DEVICE_MASTER_KEY's value: admin routes encrypt new device secrets with it. */
  masterKey?: string;
  /** Pushes sent by routes (admin notices); default: PUSH_TRANSPORT's transport and APP_URL. */
  push?: { transport: PushTransport; appUrl: string };
}

export interface RouteContext<A extends AuthLevel, B, Q = Record<string, never>> {
  req: HttpRequest;
  deps: ApiDeps;
  user: A extends "none" | "optional" ? ApiUser | null : ApiUser;
  body: B;
  /** The parsed query string (empty for routes without a `query` schema). */
  query: Q;
}

type BodyOf<S> = S extends z.ZodType ? z.output<S> : undefined;
type QueryOf<Q> = Q extends z.ZodType ? z.output<Q> : Record<string, never>;

export interface RouteSpec<
  A extends AuthLevel,
  S extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
> {
  method: HttpMethod;
  /** Exact path below the function, e.g. "/notify_me" (no parameters: ids travel in bodies/queries). */
  path: string;
  auth: A;
  /** A `.strict()` zod object; when present the body must be JSON that parses with it. */
  body?: S;
  /**
   * A `.strict()` zod object of string fields for the query string. Without it the route takes
   * no query parameters. Unknown, malformed or repeated parameters are 400s naming them.
   */
  query?: Q;
  handler: (ctx: RouteContext<A, BodyOf<S>, QueryOf<Q>>) => Promise<HttpResponse>;
}

/** A route with its types erased, as the router holds it. */
export interface ApiRoute {
  method: HttpMethod;
  path: string;
  auth: AuthLevel;
  body?: z.ZodType;
  query?: z.ZodType;
  handler: (ctx: RouteContext<AuthLevel, unknown, unknown>) => Promise<HttpResponse>;
}

/** Typed route declaration: the handler sees the parsed body and query and (for auth routes) the user. */
export function defineRoute<
  A extends AuthLevel,
  S extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<A, S, Q>): ApiRoute {
  return spec as unknown as ApiRoute;
}

export function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** The bearer token of `Authorization: Bearer <token>`, or a 401. */
function bearerToken(req: HttpRequest): string {
  const header = req.headers.authorization;
  if (header === undefined || header.trim() === "") {
    throw new HttpError(
      401,
      "unauthenticated",
      "missing Authorization: Bearer <Firebase ID token>",
    );
  }
  const token = /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
  if (!token)
    throw new HttpError(
      401,
      "unauthenticated",
      "Authorization must be 'Bearer <Firebase ID token>'",
    );
  return token;
}

async function authenticate(
  deps: ApiDeps,
  req: HttpRequest,
  level: AuthLevel,
): Promise<ApiUser | null> {
  if (level === "none") return null;
  if (level === "optional" && !req.headers.authorization?.trim()) return null;
  const token = bearerToken(req);
  let decoded: Awaited<ReturnType<Auth["verifyIdToken"]>>;
  try {
    decoded = await deps.auth.verifyIdToken(token);
  } catch {
    // The reason (expired, wrong project, bad signature) is the client's to fix; never log the token.
    throw new HttpError(401, "unauthenticated", "the ID token is invalid or expired");
  }
  const user: ApiUser = {
    uid: decoded.uid,
    admin: decoded.admin === true,
    email: typeof decoded.email === "string" ? decoded.email : null,
  };
  if (level === "admin" && !user.admin) {
    throw new HttpError(403, "forbidden", "this route is for admins only");
  }
  return user;
}

export function createRouter(routes: readonly ApiRoute[], deps: ApiDeps): Handler {
  const byPath = new Map<string, ApiRoute[]>();
  for (const r of routes) {
    const path = normalizePath(r.path);
    const list = byPath.get(path) ?? [];
    if (list.some((x) => x.method === r.method))
      throw new Error(`duplicate route ${r.method} ${path}`);
    list.push(r);
    byPath.set(path, list);
  }
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const path = normalizePath(req.path);
    const candidates = byPath.get(path);
    if (!candidates) throw new HttpError(404, "not_found", `no api endpoint ${path}`);
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      const allow = candidates.map((r) => r.method).join(", ");
      throw new HttpError(
        405,
        "method_not_allowed",
        `${req.method} is not allowed on ${path}; use ${allow}`,
        {
          Allow: allow,
        },
      );
    }
    const user = await authenticate(deps, req, route.auth);
    // A route without a query schema takes no query parameters: any is a 400 naming it.
    const query = parseQuery(route.query ?? NoQuerySchema, req);
    const body = route.body ? parseOrThrow(route.body, jsonBody(req)) : undefined;
    return route.handler({ req, deps, user, body, query });
  };
}
