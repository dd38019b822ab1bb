/**
 * `npx tsx tools/web/icons.ts`: renders web/public/icons/icon.svg to the PNG icons the manifest
 * lists (192, 512, and a 512 maskable one with the safe-zone padding), in headless Chromium.
 * Run it after changing the SVG; the PNGs are committed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const DIR = path.join(__dirname, "..", "..", "web", "public", "icons");

async function main() {
  const svg = readFileSync(path.join(DIR, "icon.svg"), "utf8");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    const page = await browser.newPage();
    const shots: [string, number, number][] = [
      ["icon-192.png", 192, 0],
      ["icon-512.png", 512, 0],
      ["icon-maskable-512.png", 512, 0.1],
    ];
    for (const [file, size, pad] of shots) {
      await page.setViewportSize({ width: size, height: size });
      const inner = Math.round(size * (1 - 2 * pad));
      await page.setContent(
        `<body style="margin:0;background:#0b5cad;display:grid;place-items:center;width:${size}px;height:${size}px">` +
          `<div style="width:${inner}px;height:${inner}px">${svg.replace("<svg ", `<svg width="${inner}" height="${inner}" `)}</div></body>`,
      );
      writeFileSync(path.join(DIR, file), await page.screenshot({ omitBackground: false }));
    }
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
