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
