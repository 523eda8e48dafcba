// Each portal's main page: it renders for its role, axe-core finds no serious or critical
// violation, and (with SCREENSHOT_DIR) a screenshot is written for the README.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, close, launch, newPage, screenshot, seriousViolations, signIn } from "./browser.mjs";

before(launch);
after(close);

test("the sign-in page is accessible", async () => {
  const page = await newPage();
  await page.goto("/login");
  await page.getByRole("heading", { name: "登录" }).waitFor();
  assert.deepEqual(await seriousViolations(page), []);
  await screenshot(page, "login");
});

const PORTALS = [
  ["patient", "/patient", "病历"],
  ["doctor", "/doctor", "我的患者"],
  ["researcher", "/researcher", "科研项目"],
  ["admin", "/admin", "待审批"],
];

for (const [role, path, heading] of PORTALS) {
  test(`the ${role} portal's main page is accessible`, async () => {
    const page = await newPage();
    await signIn(page, DEMO[role]);
    assert.equal(new URL(page.url()).pathname, path);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    // Every loading indicator gone (a page may show several at once; `first()` is
    // detached only when none is left).
    await page.getByRole("status").first().waitFor({ state: "detached" });
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(page.cspViolations, []);
    await screenshot(page, role);
  });
}

test("the patient's record view shows NLP highlights and codes", async () => {
  const page = await newPage();
  await signIn(page, DEMO.patient);
  const demoNote = page.locator('tr[data-category="clinical-note"]').last();
  await demoNote.getByRole("link", { name: /查看/ }).click();
  await page.locator("mark[data-entity]").first().waitFor();
  await page.getByText(/ICD-10/).first().waitFor();
  assert.deepEqual(await seriousViolations(page), []);
  assert.deepEqual(page.cspViolations, []);
  await screenshot(page, "patient-record");
});
