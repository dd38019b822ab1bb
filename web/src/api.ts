/**
 * The `api` function's client, typed from the server's own route table: `ApiContract` maps
 * "METHOD /path" to the zod-derived body, query and 200 response types of each route
 * (functions/src/http/routes). Type imports only: no server code reaches the bundle.
 */
import type { z } from "zod";
import type { ApiContract } from "../../functions/src/http/routes";
import type { LoadBodySchema } from "../../functions/src/http/routes/status";

export type ApiKey = keyof ApiContract;
/** POST /load parses its optional body itself; every other route's body is its schema's input. */
type BodyOf<K extends ApiKey> = K extends "POST /load"
  ? z.input<typeof LoadBodySchema>
  : ApiContract[K]["body"];
type QueryOf<K extends ApiKey> = ApiContract[K]["query"];
export type ResponseOf<K extends ApiKey> = ApiContract[K]["response"];

export interface CallInput<K extends ApiKey> {
  body?: BodyOf<K>;
  query?: QueryOf<K> & Record<string, string | undefined>;
}

/** A non-2xx answer in the contract's error shape (`code`, `message` naming the problem). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Api = <K extends ApiKey>(key: K, input?: CallInput<K>) => Promise<ResponseOf<K>>;

export function createApi(
  base: string,
  idToken: () => Promise<string | null>,
  locale: () => string,
): Api {
  return async (key, input = {}) => {
    const [method, path] = key.split(" ") as [string, string];
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(input.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, v);
    }
    const headers: Record<string, string> = { "Accept-Language": locale() };
    const token = await idToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (input.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(input.body);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body });
    } catch {
      throw new ApiError(0, "network", "network");
    }
    const json = (await res.json().catch(() => null)) as unknown;
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, err?.code ?? "http", err?.message ?? `HTTP ${res.status}`);
    }
    return json as ResponseOf<typeof key>;
  };
}
