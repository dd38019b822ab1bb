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
import { type Settings, readSettings } from "../config";
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
  /** The settings; default: read from the params once per request. */
  settings?: Settings;
}

export interface RouteContext<A extends AuthLevel, B, Q = Record<string, never>> {
  req: HttpRequest;
  deps: ApiDeps;
  /** The request's settings, read once. */
  settings: Settings;
  user: A extends "none" | "optional" ? ApiUser | null : ApiUser;
  body: B;
  /** The parsed query string (empty for routes without a `query` schema). */
  query: Q;
}

type BodyOf<S> = S extends z.ZodType ? z.output<S> : undefined;
type QueryOf<Q> = Q extends z.ZodType ? z.output<Q> : Record<string, never>;

/** What a handler answers: the 200 body must be what the route's `response` schema describes. */
export interface RouteResult<B> {
  status: number;
  body: B;
  headers?: Record<string, string>;
}

export interface RouteSpec<
  M extends HttpMethod,
  P extends string,
  A extends AuthLevel,
  S extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  R extends z.ZodType,
> {
  method: M;
  /** Exact path below the function, e.g. "/notify_me" (no parameters: ids travel in bodies/queries). */
  path: P;
  auth: A;
  /** A `.strict()` zod object; when present the body must be JSON that parses with it. */
  body?: S;
  /**
   * A `.strict()` zod object of string fields for the query string. Without it the route takes
   * no query parameters. Unknown, malformed or repeated parameters are 400s naming them.
   */
  query?: Q;
  /**
   * The 200 body (docs/openapi.json, the PWA's typed client, and the test that checks real
   * answers against it). The handler's body must type-check against it.
   */
  response: R;
}

/** A route's request and response types, as a client sees them (inputs in, outputs out). */
export interface RouteTypes {
  body: unknown;
  query: unknown;
  response: unknown;
}

/** A route with its types erased, as the router holds it. */
export interface ApiRoute<K extends string = string, T extends RouteTypes = RouteTypes> {
  method: HttpMethod;
  path: string;
  auth: AuthLevel;
  body?: z.ZodType;
  query?: z.ZodType;
  response: z.ZodType;
  handler: (ctx: RouteContext<AuthLevel, unknown, unknown>) => Promise<HttpResponse>;
  /** Type-level only (never set): "METHOD /path" and the types, for `ApiContract`. */
  readonly types?: { key: K } & T;
}

type InputOf<S> = S extends z.ZodType ? z.input<S> : undefined;

/**
 * Typed route declaration, in two steps so that the handler is checked against the route's
 * schemas: `defineRoute({method, path, auth, body?, query?, response}).handle(async (ctx) => …)`.
 * The handler sees the parsed body and query and (for auth routes) the user, and its 200 body must
 * be what `response` describes.
 */
export function defineRoute<
  M extends HttpMethod,
  P extends string,
  A extends AuthLevel,
  R extends z.ZodType,
  S extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<M, P, A, S, Q, R>) {
  type Typed = ApiRoute<
    `${M} ${P}`,
    { body: InputOf<S>; query: InputOf<Q>; response: z.output<R> }
  >;
  return {
    handle(
      handler: (ctx: RouteContext<A, BodyOf<S>, QueryOf<Q>>) => Promise<RouteResult<z.input<R>>>,
    ): Typed {
      return { ...spec, handler } as unknown as Typed;
    },
  };
}

/**
 * Every route's types keyed "METHOD /path", from a route table: what a typed client (the PWA)
 * imports, with `import type` only.
 */
export type ContractOf<R extends ApiRoute> = {
  [K in R as NonNullable<K["types"]>["key"]]: Omit<NonNullable<K["types"]>, "key">;
};

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
    return route.handler({
      req,
      deps,
      settings: deps.settings ?? readSettings(),
      user,
      body,
      query,
    });
  };
}
