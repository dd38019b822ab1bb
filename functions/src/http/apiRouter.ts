/**
 * The `api` function's router: a table of routes, each
 * `{method, path, auth, body?, query?, response, handler}`.
 * Checks run in one fixed order for every request:
 *   unknown path 404 → method 405 (with Allow) → auth 401 (missing/bad Firebase ID token) /
 *   403 (route needs the `admin: true` custom claim) → query 400 → body 400 (JSON via jsonBody:
 *   413 over 8 KB; zod `.strict()` via parseOrThrow) → the route's handler.
 * A route file exports an array made with `defineRoute`; routes/index.ts concatenates them.
 */
import type { Auth, DecodedIdToken } from "firebase-admin/auth";
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { type Settings, readSettings } from "../config";
import { type Handler, type HttpRequest, type HttpResponse, jsonBody } from "./adapter";
import { HttpError, parseOrThrow } from "./errors";

type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/**
 * "none": anyone; "optional": anyone, and a token if one is sent must be valid (the route sees the
 * user or null); "user": a valid Firebase ID token; "admin": that plus the `admin: true` claim.
 */
export type AuthLevel = "none" | "optional" | "user" | "admin";

interface ApiUser {
  uid: string;
  admin: boolean;
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

interface RouteContext<A extends AuthLevel, B, Q = Record<string, never>> {
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
interface RouteResult<B> {
  status: number;
  body: B;
  headers?: Record<string, string>;
}

interface RouteSpec<
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
interface RouteTypes {
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

/**
 * The query string parsed with a `.strict()` schema: 400 invalid_query naming a parameter that
 * is unknown (even `__proto__`), malformed, or given more than once.
 */
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

/** What a route without a `query` schema accepts: no parameter at all. */
const NoQuerySchema = z.object({}).strict();

/** The user of a request at `level`: 401 for a missing or bad token, 403 for a non-admin. */
async function authenticate(
  deps: ApiDeps,
  req: HttpRequest,
  level: AuthLevel,
): Promise<ApiUser | null> {
  if (level === "none") return null;
  const unauthenticated = (message: string) => new HttpError(401, "unauthenticated", message);
  const header = req.headers.authorization?.trim() ?? "";
  if (header === "") {
    if (level === "optional") return null;
    throw unauthenticated("missing Authorization: Bearer <Firebase ID token>");
  }
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw unauthenticated("Authorization must be 'Bearer <Firebase ID token>'");
  let decoded: DecodedIdToken;
  try {
    decoded = await deps.auth.verifyIdToken(token);
  } catch {
    // The reason (expired, wrong project, bad signature) is the client's to fix; never log the token.
    throw unauthenticated("the ID token is invalid or expired");
  }
  const admin = decoded.admin === true;
  if (level === "admin" && !admin) {
    throw new HttpError(403, "forbidden", "this route is for admins only");
  }
  return { uid: decoded.uid, admin };
}

const normalizePath = (path: string) => path.replace(/\/+$/, "") || "/";

export function createRouter(routes: readonly ApiRoute[], deps: ApiDeps): Handler {
  const byPath = new Map<string, ApiRoute[]>();
  for (const r of routes) {
    const path = normalizePath(r.path);
    const list = byPath.get(path) ?? [];
    if (list.some((x) => x.method === r.method))
      throw new Error(`duplicate route ${r.method} ${path}`);
    byPath.set(path, [...list, r]);
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
        { Allow: allow },
      );
    }
    const user = await authenticate(deps, req, route.auth);
    return route.handler({
      req,
      deps,
      user,
      query: parseQuery(route.query ?? NoQuerySchema, req),
      body: route.body ? parseOrThrow(route.body, jsonBody(req)) : undefined,
      settings: deps.settings ?? readSettings(),
    });
  };
}
