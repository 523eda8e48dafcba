// The rest of the portals, on the demo data: break-glass and its notification, approving an
// access request, the admin's status and audit search.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO, close, launch, newPage, screenshot, seriousViolations, signIn } from "./browser.mjs";

before(launch);
after(close);

test("break-glass needs a reason, and is notified to the patient and audited", async () => {
  const doctor = await newPage();
  await signIn(doctor, DEMO.doctor);
  await doctor.getByRole("link", { name: /打开病历/ }).first().click();
  await doctor.locator('tr[data-category="lab-report"]').first().waitFor();

  await doctor.getByRole("button", { name: "紧急访问（破窗）" }).click();
  const dialog = doctor.getByRole("dialog");
  await dialog.getByRole("button", { name: "确认紧急访问" }).click();
  await dialog.getByText("请填写理由").waitFor();
  await dialog.getByLabel("理由").fill("患者昏迷送急诊，需要查看既往病史");
  await dialog.getByRole("button", { name: "确认紧急访问" }).click();
  await doctor.getByText("紧急访问已启用").waitFor();

  assert.equal(await doctor.getByRole("button", { name: "紧急访问（破窗）" }).count(), 0);

  const patient = await newPage();
  await signIn(patient, DEMO.patient);
  await patient.getByRole("link", { name: "通知" }).click();
  await patient.getByText("有医生对您的病历启用了紧急访问").first().waitFor();
  await patient.getByRole("link", { name: "审计记录" }).click();
  await patient.locator('tr[data-kind="access.emergency"] [data-verified="true"]').first().waitFor();
});

test("the patient approves the doctor's access request", async () => {
  const patient = await newPage();
  await signIn(patient, DEMO.patient);
  await patient.getByRole("link", { name: "访问申请" }).click();
  const pending = patient.getByRole("row").filter({ hasText: "复诊需要查看既往门诊记录" });
  await pending.getByRole("button", { name: "同意" }).click();
  const dialog = patient.getByRole("dialog", { name: "同意访问申请？" });
  await dialog.getByLabel("到期日期").fill("2020-01-01");
  await dialog.getByRole("button", { name: "确认同意" }).click();
  await dialog.getByText("到期日期不能早于今天").waitFor();
  await dialog.getByLabel("到期日期").fill("");
  await dialog.getByRole("button", { name: "确认同意" }).click();
  await pending.getByText("已同意").waitFor();
  await patient.getByRole("link", { name: "授权管理" }).click();
  await patient.locator('tr[data-state="active"]').filter({ hasText: "全部病历" }).waitFor();

  // With a consent for everything the doctor's chart lists the notes, their problems and
  // the risk scores.
  const doctor = await newPage();
  await signIn(doctor, DEMO.doctor);
  await doctor.getByRole("link", { name: /打开病历/ }).first().click();
  await doctor.locator('tr[data-category="clinical-note"]').first().waitFor();
  const problems = doctor.getByRole("region", { name: "问题列表" });
  await problems.getByText(/社区获得性肺炎/).waitFor();
  const risk = doctor.getByRole("region", { name: "风险评分" });
  await risk.getByText(/NEWS2/).waitFor();
  await doctor.locator('tr[data-category="clinical-note"]').last().getByRole("button", { name: /阅读/ }).click();
  await doctor.locator("mark[data-entity]").first().waitFor();
  assert.deepEqual(await seriousViolations(doctor), []);
  await screenshot(doctor, "doctor-chart");
});

test("the admin sees the system status and finds events in the audit", async () => {
  const admin = await newPage();
  await signIn(admin, DEMO.admin);
  await admin.getByRole("link", { name: "系统状态" }).click();
  await admin.getByRole("row", { name: /数据库/ }).getByText("正常").waitFor();
  await admin.getByRole("row", { name: /对象存储/ }).getByText("正常").waitFor();
  await admin.getByTestId("chain-status").getByText("未配置区块链").waitFor();
  await admin.waitForFunction(() => Number(document.querySelector('[data-testid="ledger-size"]')?.textContent) > 0);

  await admin.getByRole("link", { name: "审计查询" }).click();
  await admin.locator("tr[data-kind]").first().waitFor();
  await admin.getByLabel("按事件、用户或结果筛选").fill("consent.granted");
  await admin.locator('tr[data-kind="consent.granted"]').first().waitFor();
  assert.equal(await admin.locator('tr[data-kind]:not([data-kind="consent.granted"])').count(), 0);

  await admin.getByRole("link", { name: "用户", exact: true }).click();
  await admin.getByRole("heading", { level: 1, name: "用户" }).waitFor();
  await admin.getByRole("table", { name: "用户" }).getByRole("cell", { name: "patient.li", exact: true }).waitFor();
});

test("a doctor allowed to write adds a note, and uploaded vital signs become trend charts", async () => {
  const patient = await newPage();
  await signIn(patient, DEMO.patient);
  await patient.getByRole("link", { name: "上传病历" }).click();
  await patient.getByRole("radio", { name: "文件" }).check();
  await patient.getByLabel("类别").click();
  await patient.getByRole("option", { name: "生命体征" }).click();
  const observations = [36.8, 37.9, 38.6].map((temp, hour) => [
    { code: "temp_c", value: temp, unit: "Cel", time: `2026-12-04T0${hour + 6}:00:00Z` },
    { code: "pulse_bpm", value: 88 + hour * 10, unit: "/min", time: `2026-12-04T0${hour + 6}:00:00Z` },
  ]);
  await patient.getByLabel("选择文件").setInputFiles({
    name: "vitals.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ observations: observations.flat() })),
  });
  await patient.getByRole("button", { name: "上传" }).click();
  await patient.getByTestId("record-text").filter({ hasText: "temp_c" }).waitFor();

  await patient.getByRole("link", { name: "授权管理" }).click();
  await patient.getByLabel("医生", { exact: true }).fill("dr.wang");
  await patient.getByRole("checkbox", { name: "生命体征" }).check();
  await patient.getByRole("checkbox", { name: "允许医生添加记录" }).check();
  await patient.getByRole("button", { name: "授权", exact: true }).click();
  await patient.locator('tr[data-state="active"]').filter({ hasText: "门诊/病程记录" }).waitFor();

  const doctor = await newPage();
  await signIn(doctor, DEMO.doctor);
  await doctor.getByRole("link", { name: /打开病历/ }).first().click();
  const vitals = doctor.getByRole("region", { name: "生命体征趋势" });
  await vitals.getByRole("img", { name: /temp_c: 36.8, 37.9, 38.6/ }).waitFor();

  const notesBefore = await doctor.locator('tr[data-category="clinical-note"]').count();
  const writeNote = doctor.getByRole("region", { name: "书写病程记录" });
  await writeNote.getByRole("button", { name: "上传" }).click();
  await writeNote.getByText("请输入内容").waitFor();
  await writeNote.getByLabel("记录内容").fill("病程记录：体温下降，咳嗽减轻，继续口服阿莫西林。");
  await writeNote.getByRole("button", { name: "上传" }).click();
  await doctor.waitForFunction(
    (before) => document.querySelectorAll('tr[data-category="clinical-note"]').length > before,
    notesBefore,
  );
});

test("an alert raised by new vital signs reaches the doctor's open alerts page live", async () => {
  const patient = await newPage();
  await signIn(patient, DEMO.patient);
  await patient.getByRole("link", { name: "授权管理" }).click();
  await patient.getByLabel("医生", { exact: true }).fill("dr.wang");
  await patient.getByRole("checkbox", { name: "门诊/病程记录" }).uncheck();
  await patient.getByRole("checkbox", { name: "生命体征" }).check();
  await patient.getByRole("button", { name: "授权", exact: true }).click();
  await patient.locator('tr[data-state="active"]').filter({ hasText: "生命体征" }).first().waitFor();

  const doctor = await newPage();
  await signIn(doctor, DEMO.doctor);
  await doctor.getByRole("link", { name: "预警" }).click();
  await doctor.getByRole("heading", { level: 1, name: "预警" }).waitFor();
  await doctor.getByRole("status").first().waitFor({ state: "detached" });
  const before = await doctor.getByTestId("alert").count();

  await patient.getByRole("link", { name: "上传病历" }).click();
  await patient.getByRole("radio", { name: "文件" }).check();
  await patient.getByLabel("类别").click();
  await patient.getByRole("option", { name: "生命体征" }).click();
  const time = new Date().toISOString();
  const observations = [
    ["resp_rate", 32, "/min"],
    ["spo2_pct", 86, "%"],
    ["sbp_mmhg", 82, "mm[Hg]"],
    ["pulse_bpm", 138, "/min"],
    ["temp_c", 39.6, "Cel"],
  ].map(([code, value, unit]) => ({ code, value, unit, time }));
  await patient.getByLabel("选择文件").setInputFiles({
    name: "deterioration.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ observations: [...observations, { code: "consciousness", value: "C", time }] })),
  });
  await patient.getByRole("button", { name: "上传" }).click();
  await patient.getByTestId("record-text").filter({ hasText: "resp_rate" }).waitFor();

  // No reload and no navigation on the doctor's side: the stream brings it.
  await doctor.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="alert"]').length > count,
    before,
  );
});

test("the doctor's access request form checks its fields and sends the request", async () => {
  const doctor = await newPage();
  await signIn(doctor, DEMO.doctor);
  await doctor.getByRole("link", { name: "申请访问" }).first().click();
  await doctor.getByRole("button", { name: "提交申请" }).click();
  await doctor.getByText("请输入患者用户名").waitFor();
  await doctor.getByText("请填写理由").waitFor();
  await doctor.getByLabel("患者用户名").fill("patient.li");
  await doctor.getByLabel("理由").fill("会诊需要查看检验结果");
  await doctor.getByRole("button", { name: "提交申请" }).click();
  await doctor.getByText("申请已提交").waitFor();
  await doctor.getByRole("row").filter({ hasText: "会诊需要查看检验结果" }).getByText("待处理").waitFor();
});
