/**
 * The local stand-in for Firebase Hosting: serves the built PWA (web/dist) at
 * http://127.0.0.1:5000 with the two runtime-config files the PWA reads at start-up:
 * - `/__/firebase/init.json`: the (demo) project's web config, as Hosting serves it;
 * - `/washcall.json`: the site settings, pointing the PWA at the local emulators and api.
 * Every other path that is not a file answers index.html (the PWA routes in the page), as the
 * `rewrites` of firebase.json do in production.
 */
import express from "express";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import type { SiteConfig } from "../../web/src/config";

export interface LocalHosting {
  url: string;
  stop(): Promise<void>;
}

export interface HostingOptions {
  port: number;
  projectId: string;
  /** The built PWA (web/dist). */
  dir: string;
  apiUrl: string;
  authHost: string;
  firestoreHost: string;
  /** Student numbers sign in as `{number}@{domain}` (demo: students.washcall.local). */
  studentEmailDomain?: string | null;
}

export async function startHosting(opts: HostingOptions): Promise<LocalHosting> {
  if (!existsSync(path.join(opts.dir, "index.html"))) {
    throw new Error(`${opts.dir}/index.html is missing: run \`npm run build\` first`);
  }
  const [fsHost, fsPort] = opts.firestoreHost.split(":");
  const site: SiteConfig = {
    region: "asia-northeast3",
    apiBase: opts.apiUrl,
    vapidKey: null,
    studentEmailDomain: opts.studentEmailDomain ?? null,
    emulators: {
      auth: `http://${opts.authHost}`,
      firestore: { host: fsHost ?? "127.0.0.1", port: Number(fsPort) },
    },
  };
  const app = express();
  app.disable("x-powered-by");
  app.get("/__/firebase/init.json", (_req, res) => {
    res.set("Cache-Control", "no-cache").json({
      projectId: opts.projectId,
      apiKey: "demo-api-key",
      authDomain: `${opts.projectId}.firebaseapp.com`,
      appId: "1:000000000000:web:0000000000000000",
      messagingSenderId: "000000000000",
    });
  });
  app.get("/washcall.json", (_req, res) => {
    res.set("Cache-Control", "no-cache").json(site);
  });
  app.get("/sw.js", (_req, res) => {
    res.set("Cache-Control", "no-cache").sendFile(path.join(opts.dir, "sw.js"));
  });
  app.use(
    express.static(opts.dir, {
      index: false,
      setHeaders: (res, file) => {
        // Hashed assets never change; everything else is revalidated (firebase.json's headers).
        res.setHeader(
          "Cache-Control",
          file.includes(`${path.sep}assets${path.sep}`)
            ? "public, max-age=31536000, immutable"
            : "no-cache",
        );
      },
    }),
  );
  app.use((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.status(405).end();
      return;
    }
    res.set("Cache-Control", "no-cache").sendFile(path.join(opts.dir, "index.html"));
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
