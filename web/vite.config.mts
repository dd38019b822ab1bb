/**
 * The resident PWA's build: Vite with Preact's JSX (no plugin: Vite's own transform with
 * Preact's automatic runtime), the app from index.html and the service worker as a second
 * entry written to a fixed `/sw.js` (a service worker's URL is its identity: it cannot carry
 * a content hash). Output: web/dist, which Firebase Hosting serves (firebase.json).
 */
import { fileURLToPath } from "node:url";
import { type Plugin, defineConfig } from "vite";

/**
 * Writes `shell-files.json`: every script and style of the build (lazy chunks too), which the
 * service worker stores at install so that the whole app opens offline.
 */
function shellFiles(): Plugin {
  return {
    name: "washcall-shell-files",
    generateBundle(_options, bundle) {
      const files = Object.values(bundle)
        .map((f) => `/${f.fileName}`)
        .filter((f) => /^\/assets\/.+\.(js|css)$/.test(f))
        .sort();
      this.emitFile({ type: "asset", fileName: "shell-files.json", source: JSON.stringify(files) });
    },
  };
}

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  publicDir: "public",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  plugins: [shellFiles()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    // .vite/manifest.json: the chunk graph the budget measures (tools/bench/web.ts); not deployed.
    manifest: true,
    rollupOptions: {
      input: { index: `${root}index.html`, sw: `${root}sw/sw.ts` },
      output: {
        entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js"),
      },
    },
  },
});
