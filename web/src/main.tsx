/** Entry: runtime config → Firebase → the app. The service worker is registered after load. */
import { render } from "preact";
import { App } from "./app";
import { loadConfig } from "./config";
import { startFirebase } from "./firebase";
import "./styles.css";

const root = document.getElementById("app")!;

async function boot() {
  const config = await loadConfig();
  const fb = startFirebase(config);
  render(<App fb={fb} />, root);
}

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch((err: unknown) => {
      console.warn("service worker not registered", err);
    });
  });
}

boot().catch((err: unknown) => {
  console.error(err);
  root.innerHTML = "";
  const p = document.createElement("p");
  p.className = "boot";
  p.setAttribute("role", "alert");
  p.textContent = "WashCall을 시작하지 못했어요. / WashCall could not start.";
  root.append(p);
});
