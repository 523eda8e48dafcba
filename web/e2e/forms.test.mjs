// Sign-in failures, form validation and the language switch.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, close, launch, newPage, screenshot, signIn } from "./browser.mjs";

before(launch);
after(close);

test("a wrong password is refused with a message and no session", async () => {
  const page = await newPage();
  await page.goto("/login");
  await page.getByLabel("用户名").fill("nobody.here");
  await page.getByLabel("密码").fill("not-the-password");
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByRole("alert").filter({ hasText: "用户名或密码错误" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/login");
});

test("empty required fields show field errors and send nothing", async () => {
  const page = await newPage();
  let apiCalls = 0;
  page.on("request", (request) => {
    if (request.url().includes("/api/v1/auth/login")) apiCalls += 1;
  });
  await page.goto("/login");
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByText("请输入用户名").waitFor();
  await page.getByText("请输入密码").waitFor();
  assert.equal(apiCalls, 0);

  await signIn(page, DEMO.patient);
  await page.getByRole("link", { name: "授权管理" }).click();
  await page.getByRole("button", { name: "授权", exact: true }).click();
  await page.getByText("请输入医生用户名").waitFor();
  await page.getByLabel("医生", { exact: true }).fill("dr.wang");
  await page.getByRole("checkbox", { name: "诊疗", exact: true }).uncheck();
  await page.getByRole("button", { name: "授权", exact: true }).click();
  await page.getByText("请至少选择一个用途").waitFor();

  await page.getByRole("link", { name: "上传病历" }).click();
  await page.getByRole("radio", { name: "FHIR 资源" }).check();
  await page.getByLabel("FHIR 资源（JSON）").fill("{not json");
  await page.getByRole("button", { name: "上传" }).click();
  await page.getByText("不是有效的 JSON").waitFor();
  await page.getByLabel("FHIR 资源（JSON）").fill('{"status": "final"}');
  await page.getByRole("button", { name: "上传" }).click();
  await page.getByText("FHIR 资源必须包含 resourceType").waitFor();

  // Once valid, the resource is stored and shown.
  const observation = {
    resourceType: "Observation",
    status: "final",
    code: { coding: [{ system: "http://loinc.org", code: "8310-5", display: "Body temperature" }] },
    valueQuantity: { value: 37.2, unit: "Cel", system: "http://unitsofmeasure.org", code: "Cel" },
  };
  await page.getByLabel("FHIR 资源（JSON）").fill(JSON.stringify(observation));
  await page.getByRole("button", { name: "上传" }).click();
  await page.getByRole("heading", { level: 1, name: "FHIR 资源" }).waitFor();
  await page.getByTestId("record-text").filter({ hasText: '"resourceType": "Observation"' }).waitFor();
});

test("the language switch changes the UI to English and back, and is remembered", async () => {
  const page = await newPage();
  await page.goto("/login");
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  await page.reload();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Username").fill("nobody.here");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "Wrong username or password" }).waitFor();
  await screenshot(page, "login-en");
  await page.getByRole("button", { name: "中文" }).click();
  await page.getByRole("heading", { name: "登录" }).waitFor();
});

test("signing in and moving around works with the keyboard alone", async () => {
  const page = await newPage();
  await page.goto("/login");
  await page.getByRole("heading", { name: "登录" }).waitFor();
  await page.keyboard.press("Tab"); // the language switch
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "username");
  await page.keyboard.type(DEMO.patient.username);
  await page.keyboard.press("Tab");
  await page.keyboard.type(DEMO.patient.password);
  await page.keyboard.press("Enter");
  await page.getByRole("navigation", { name: "主导航" }).waitFor();

  // The first Tab reaches the skip link, which moves focus to the main content.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "跳到主要内容");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
});
