/**
 * Serves the exported HTTPS functions at http://127.0.0.1:<port>/<project>/<region>/<name>/…,
 * the same URLs as the Functions emulator. Like Cloud Functions, it hands each function an
 * Express request with the body parsed and the raw bytes in `req.rawBody`.
 */
import express from "express";
import type { Server } from "node:http";

type HttpsFunction = ((req: express.Request, res: express.Response) => unknown) & {
  __endpoint?: { httpsTrigger?: unknown; region?: string[] };
};

export interface FunctionsHost {
  server: Server;
  port: number;
  urlOf(name: string): string;
  stop(): Promise<void>;
}

/** The status of a body-parser error (http-errors carries one), 500 for anything else. */
function bodyErrorStatus(err: unknown): number {
  const status = (err as { status?: unknown; statusCode?: unknown }).status;
  return typeof status === "number" && status >= 400 && status < 600 ? status : 500;
}

/** The contract's `{code, message}` for a body-parser error; no internals for a 500. */
export function bodyErrorOf(err: unknown): { code: string; message: string } {
  const type = (err as { type?: unknown }).type;
  switch (bodyErrorStatus(err)) {
    case 413:
      return { code: "payload_too_large", message: "body is larger than 10 MB once decoded" };
    case 415:
      return {
        code: "invalid_body",
        message:
          type === "encoding.unsupported"
            ? "content-encoding is not supported; send identity, gzip, deflate or br"
            : "content-type or charset is not supported",
      };
    case 500:
      return { code: "internal", message: "internal error" };
    default:
      return {
        code: "invalid_body",
        message:
          type === "request.aborted" || type === "request.size.invalid"
            ? "body was cut short"
            : "body could not be read (bad content-encoding data?)",
      };
  }
}

export async function startFunctionsHost(
  functions: Record<string, unknown>,
  projectId: string,
  port: number,
): Promise<FunctionsHost> {
  const app = express();
  app.disable("x-powered-by");
  // Cloud Functions accepts up to 10 MB; the functions themselves enforce their own limits.
  app.use(express.raw({ type: () => true, limit: "10mb" }));
  app.use((req, _res, next) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    (req as express.Request & { rawBody?: Buffer }).rawBody = raw.length > 0 ? raw : undefined;
    req.body = undefined;
    next();
  });
  const regions = new Map<string, string>();
  for (const [name, fn] of Object.entries(functions)) {
    const f = fn as HttpsFunction;
    if (typeof f !== "function" || !f.__endpoint?.httpsTrigger) continue;
    const region = f.__endpoint.region?.[0] ?? "us-central1";
    regions.set(name, region);
    app.use(`/${projectId}/${region}/${name}`, (req, res, next) => {
      Promise.resolve(f(req, res)).catch(next);
    });
  }
  app.use((req, res) => {
    res.status(404).json({ error: { code: "not_found", message: `no function at ${req.path}` } });
  });
  // Errors of the body parser (an 11 MB body, a gzip bomb, an unknown content-encoding, a body
  // cut short) in the contract's JSON error shape, as Cloud Functions' front end answers them,
  // never Express's HTML page with a stack trace.
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      res.status(bodyErrorStatus(err)).json({ error: bodyErrorOf(err) });
    },
  );
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return {
    server,
    port: bound,
    urlOf: (name) => `http://127.0.0.1:${bound}/${projectId}/${regions.get(name) ?? "?"}/${name}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
