// Research end to end: the patient opts in (default out), the researcher proposes a project,
// the admin approves it, the researcher counts a cohort (few patients: "<5") and exports it;
// the researcher's pages pass axe-core.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, close, launch, newPage, screenshot, seriousViolations, signIn } from "./browser.mjs";

before(launch);
after(close);

const TITLE = "2型糖尿病患者队列研究";

test("opt-in, proposal, approval and a suppressed count", async () => {
  const patient = await newPage();
  await signIn(patient, DEMO.patient);
  await patient.goto("/patient/research");
  await patient.getByRole("heading", { level: 1, name: "科研参与设置" }).waitFor();
  const demographics = patient.getByRole("checkbox", { name: "学术研究: 人口学信息" });
  const diagnoses = patient.getByRole("checkbox", { name: "学术研究: 诊断" });
  assert.equal(await demographics.isChecked(), false, "research participation defaults to out");
  assert.equal(await diagnoses.isChecked(), false);
  await demographics.click();
  await patient.waitForFunction(
    () => document.querySelector('input[aria-label="学术研究: 人口学信息"]')?.checked === true,
  );
  await diagnoses.click();
  await patient.waitForFunction(() => document.querySelector('input[aria-label="学术研究: 诊断"]')?.checked === true);
  await patient.getByLabel("地区代码").fill("33");
  await patient.getByRole("button", { name: "保存资料" }).click();
  await patient.getByText("请填写六位数字的地区代码").waitFor();
  await patient.getByLabel("出生日期").fill("1968-03-14");
  await patient.getByLabel("地区代码").fill("330106");
  await patient.getByRole("button", { name: "保存资料" }).click();
  await patient.getByText("资料已保存").waitFor();
  await patient.reload();
  await patient.getByRole("checkbox", { name: "学术研究: 诊断" }).waitFor();
  assert.equal(await patient.getByRole("checkbox", { name: "学术研究: 诊断" }).isChecked(), true);
  assert.equal(await patient.getByRole("checkbox", { name: "商业研究: 诊断" }).isChecked(), false);
  assert.deepEqual(await seriousViolations(patient), []);
  await screenshot(patient, "patient-research");

  const researcher = await newPage();
  await signIn(researcher, DEMO.researcher);
  await researcher.getByRole("heading", { level: 1, name: "科研项目" }).waitFor();
  await researcher.getByRole("button", { name: "提交申请" }).click();
  await researcher.getByText("请填写项目名称").waitFor();
  await researcher.getByText("请填写伦理批件号").waitFor();
  await researcher.getByLabel("项目名称").fill(TITLE);
  await researcher.getByLabel("研究说明").fill("比较不同年龄段 2 型糖尿病患者的血糖控制情况");
  await researcher.getByLabel("伦理批件号").fill("IRB-2026-017");
  await researcher.getByLabel("数据起始日期").fill("2020-01-01");
  await researcher.getByLabel("数据截止日期").fill("2026-12-31");
  await researcher.getByRole("button", { name: "提交申请" }).click();
  const row = researcher.locator(`tr[data-project="${TITLE}"]`);
  await row.locator('[data-status="pending"]').waitFor();

  const admin = await newPage();
  await signIn(admin, DEMO.admin);
  const pending = admin.locator(`tr[data-project="${TITLE}"]`);
  await pending.getByRole("button", { name: `批准 ${TITLE}` }).click();
  await pending.waitFor({ state: "detached" });
  await admin.getByText("没有待审批的科研项目").waitFor();

  await researcher.reload();
  await row.locator('[data-status="approved"]').waitFor();
  await researcher.getByRole("status").first().waitFor({ state: "detached" });
  assert.deepEqual(await seriousViolations(researcher), []);
  assert.deepEqual(researcher.cspViolations, []);

  await row.getByRole("link", { name: `查看 ${TITLE}` }).click();
  await researcher.getByRole("heading", { level: 1, name: TITLE }).waitFor();
  await researcher.getByTestId("queries-left").getByText("剩余查询次数：100").waitFor();
  await researcher.getByLabel("ICD-10 诊断").fill("糖尿病");
  await researcher.getByRole("button", { name: "统计人数" }).click();
  await researcher.getByText(/请填写 ICD-10 编码/).waitFor();
  await researcher.getByLabel("ICD-10 诊断").fill("");
  await researcher.getByRole("button", { name: "统计人数" }).click();
  await researcher.getByTestId("cohort-count").getByText("符合条件的患者：<5").waitFor();
  await researcher.getByText("人数少于 5，已隐藏具体数字。").waitFor();
  await researcher.getByTestId("queries-left").getByText("剩余查询次数：99").waitFor();
  await researcher.getByLabel("最小年龄").fill("18");
  await researcher.getByLabel("最大年龄").fill("90");
  await researcher.getByLabel("ICD-10 诊断").fill("e11*, I10");
  await researcher.getByRole("button", { name: "统计人数" }).click();
  await researcher.getByTestId("queries-left").getByText("剩余查询次数：98").waitFor();
  await researcher.getByTestId("cohort-count").getByText("符合条件的患者：<5").waitFor();
  assert.equal(await researcher.getByRole("alert").count(), 0);

  await researcher.getByRole("button", { name: "开始导出" }).click();
  await researcher.locator('tr[data-status="done"], tr[data-status="failed"]').first().waitFor();
  assert.equal(await researcher.locator('tr[data-status="failed"]').count(), 0);
  await researcher.getByText("查看报告").click();
  await researcher.getByText(/k_anonymity/).waitFor();
  const download = researcher.waitForEvent("download");
  await researcher.getByRole("button", { name: /^下载/ }).click();
  assert.match((await download).suggestedFilename(), /^research-export-.*\.csv$/);
  assert.deepEqual(await seriousViolations(researcher), []);
  assert.deepEqual(researcher.cspViolations, []);
  await screenshot(researcher, "researcher-project");
});

test("a rejected project shows the admin's reason and offers no cohort builder", async () => {
  const title = "商业用途的用药依从性分析";
  const researcher = await newPage();
  await signIn(researcher, DEMO.researcher);
  await researcher.getByLabel("项目名称").fill(title);
  await researcher.getByLabel("研究说明").fill("分析处方续配间隔");
  await researcher.getByLabel("伦理批件号").fill("IRB-2026-020");
  await researcher.getByLabel("数据起始日期").fill("2024-01-01");
  await researcher.getByLabel("数据截止日期").fill("2023-01-01");
  await researcher.getByRole("button", { name: "提交申请" }).click();
  await researcher.getByText("截止日期不能早于起始日期").waitFor();
  await researcher.getByLabel("数据截止日期").fill("2026-01-01");
  await researcher.getByRole("button", { name: "提交申请" }).click();
  const row = researcher.locator(`tr[data-project="${title}"]`);
  await row.locator('[data-status="pending"]').waitFor();

  const admin = await newPage();
  await signIn(admin, DEMO.admin);
  const pending = admin.locator(`tr[data-project="${title}"]`);
  await pending.getByLabel(`理由（可选）：${title}`).fill("伦理批件与研究用途不符");
  await pending.getByRole("button", { name: `驳回 ${title}` }).click();
  await pending.waitFor({ state: "detached" });

  await researcher.reload();
  await row.locator('[data-status="rejected"]').waitFor();
  await row.getByText("伦理批件与研究用途不符").waitFor();
  await row.getByRole("link", { name: `查看 ${title}` }).click();
  await researcher.getByText("项目已被驳回。").waitFor();
  assert.equal(await researcher.getByRole("button", { name: "统计人数" }).count(), 0);
});
