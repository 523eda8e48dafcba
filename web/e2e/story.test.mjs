// The consent story through the UI, with two browsers side by side: the patient writes a note
// and grants the doctor notes for treatment; the doctor reads it; the patient revokes; the
// doctor's next read is refused; the patient's audit trail shows the refusal, every event
// verified against the ledger in the browser.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, close, launch, newPage, screenshot, seriousViolations, signIn } from "./browser.mjs";

before(launch);
after(close);

test("patient grants, doctor reads, patient revokes, doctor is refused, audit shows it", async () => {
  const note = `复诊记录 ${Date.now()}：头痛2天，否认发热。诊断：偏头痛。`;
  const patient = await newPage();
  await signIn(patient, DEMO.patient);

  // The patient uploads a note through the form.
  await patient.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "上传病历" }).click();
  await patient.getByLabel("记录内容").fill(note);
  await patient.getByRole("button", { name: "上传" }).click();
  await patient.getByTestId("record-text").filter({ hasText: "头痛" }).waitFor();

  // Grants dr.wang clinical notes for treatment (the form's default scope and purpose).
  await patient.getByRole("link", { name: "授权管理" }).click();
  await patient.getByLabel("医生", { exact: true }).fill("dr.wang");
  await patient.getByRole("button", { name: "授权", exact: true }).click();
  const noteConsent = patient.locator('tr[data-state="active"]').filter({ hasText: "门诊/病程记录" });
  await noteConsent.waitFor();

  // The doctor opens the patient's chart and reads the newest note.
  const doctor = await newPage();
  await signIn(doctor, DEMO.doctor);
  await doctor.getByRole("link", { name: /打开病历/ }).first().click();
  const newestNote = doctor.locator('tr[data-category="clinical-note"]').first();
  await newestNote.getByRole("button", { name: /阅读/ }).click();
  await doctor.getByTestId("record-text").filter({ hasText: "头痛" }).waitFor();

  // The patient revokes that consent.
  await noteConsent.getByRole("button", { name: /撤销/ }).click();
  await patient.getByRole("button", { name: "确认撤销" }).click();
  await patient.locator('tr[data-state="revoked"]').filter({ hasText: "门诊/病程记录" }).waitFor();
  assert.equal(await noteConsent.count(), 0);

  // The doctor's next read is refused, and nothing of the note is shown.
  await newestNote.getByRole("button", { name: /阅读/ }).click();
  await doctor.getByRole("alert").filter({ hasText: "访问被拒绝" }).waitFor();
  assert.equal(await doctor.getByTestId("record-text").count(), 0);

  // The patient's audit trail shows the refused read, verified against the ledger.
  await patient.getByRole("link", { name: "审计记录" }).click();
  const refused = patient.locator('tr[data-kind="access.denied"][data-outcome="denied"]');
  await refused.first().waitFor();
  assert.match(await refused.first().innerText(), /dr\.wang/);
  await refused.first().locator('[data-verified="true"]').waitFor();
  await patient.locator('tr[data-kind="consent.revoked"] [data-verified="true"]').first().waitFor();
  // Every check finished before axe looks (the browser asks for reduced motion, so no chip
  // is caught halfway through a colour transition).
  await patient.waitForFunction(() => !document.querySelector('[data-verified="pending"]'));
  assert.equal(await patient.locator('[data-verified="false"]').count(), 0);
  assert.deepEqual(await seriousViolations(patient), []);
  await screenshot(patient, "patient-audit");

  await patient.getByRole("link", { name: "授权管理" }).click();
  await patient.locator('tr[data-state="revoked"]').first().waitFor();
  assert.deepEqual(await seriousViolations(patient), []);
  await screenshot(patient, "patient-consents");
});

test("the audit trail marks a changed event, or a badly signed tree head, as not verified", async () => {
  const patient = await newPage();
  await signIn(patient, DEMO.patient);

  // The server's answer altered on the way: one event claims another actor.
  await patient.route("**/api/v1/audit?*", async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.events[0].entry.actor = "did:meditrustal:00000000000000000000000000000000";
    await route.fulfill({ response, json: body });
  });
  await patient.getByRole("link", { name: "审计记录" }).click();
  const rows = patient.locator("tr[data-kind]");
  await rows.first().locator('[data-verified="false"]').waitFor();
  await rows.nth(1).locator('[data-verified="true"]').waitFor();

  // A tree head whose signature does not match: nothing is verified.
  const forged = await newPage();
  await signIn(forged, DEMO.patient);
  await forged.route("**/api/v1/ledger/head", async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const last = body.tree_head.signature.at(-1) === "0" ? "1" : "0";
    body.tree_head.signature = body.tree_head.signature.slice(0, -1) + last;
    await route.fulfill({ response, json: body });
  });
  await forged.getByRole("link", { name: "审计记录" }).click();
  await forged.locator('tr[data-kind] [data-verified="false"]').first().waitFor();
  assert.equal(await forged.locator('[data-verified="true"]').count(), 0);
});
