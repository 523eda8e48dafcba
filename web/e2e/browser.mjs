// Starts Debian's Chromium through playwright-core (no browser download) and gives each test
// a fresh context; screenshots go to SCREENSHOT_DIR when it is set.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

export const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || "";

export const DEMO = {
  patient: { username: "patient.li", password: "Demo-Patient-2026" },
  doctor: { username: "dr.wang", password: "Demo-Doctor-2026" },
  researcher: { username: "researcher.chen", password: "Demo-Research-2026" },
  admin: { username: "admin", password: "Demo-Operator-2026" },
};

let browser;

// launch() gives Chromium a fresh temporary profile (--user-data-dir) of its own and removes
// it on close; Playwright refuses the flag in `args`.
export async function launch() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return browser;
}

export async function close() {
  await browser?.close();
}

/** A fresh browser context (own storage, Chinese locale) and a page in it. */
export async function newPage() {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    locale: "zh-CN",
    reducedMotion: "reduce",
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  // The server's Content-Security-Policy must allow everything the UI does.
  page.cspViolations = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      page.cspViolations.push(message.text());
    }
  });
  return page;
}

export async function signIn(page, account) {
  await page.goto("/login");
  await page.getByLabel("用户名").fill(account.username);
  await page.getByLabel("密码").fill(account.password);
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByRole("navigation", { name: "主导航" }).waitFor();
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

export async function screenshot(page, name) {
  if (!SCREENSHOT_DIR) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
