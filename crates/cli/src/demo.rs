//! `serve --demo`: accounts for trying the product, created once and reused.

use meditrustal_app::{AccessRequestInput, App, ConsentInput, RecordUpload};
use meditrustal_domain::Role;
use meditrustal_domain::{ConsentScope, Purpose, RecordCategory};
use meditrustal_store::{Page, RecordFilter};

/// A demo account. The passwords are public by design: never use `--demo` with real data.
struct DemoAccount {
    username: &'static str,
    email: &'static str,
    password: &'static str,
    role: Role,
}

const ACCOUNTS: [DemoAccount; 3] = [
    DemoAccount {
        username: "patient.li",
        email: "patient.li@demo.meditrustal.invalid",
        password: "Demo-Patient-2026",
        role: Role::Patient,
    },
    DemoAccount {
        username: "dr.wang",
        email: "dr.wang@demo.meditrustal.invalid",
        password: "Demo-Doctor-2026",
        role: Role::Doctor,
    },
    DemoAccount {
        username: "researcher.chen",
        email: "researcher.chen@demo.meditrustal.invalid",
        password: "Demo-Research-2026",
        role: Role::Researcher,
    },
];

const DEMO_ADMIN_PASSWORD: &str = "Demo-Operator-2026";

/// What to print once the server is listening.
pub struct DemoCredentials {
    lines: Vec<String>,
}

impl DemoCredentials {
    pub fn print(&self) {
        println!("  Demo accounts (username / password):");
        for line in &self.lines {
            println!("    {line}");
        }
    }
}

/// Seeds the demo accounts (approved, so they can log in at once). The admin gets the demo
/// password unless `MEDITRUSTAL_ADMIN_PASSWORD` already set one.
pub async fn seed(app: &App, admin_from_env: bool) -> anyhow::Result<DemoCredentials> {
    let mut lines = Vec::new();
    for account in &ACCOUNTS {
        app.ensure_user(
            account.username,
            account.email,
            account.password,
            account.role,
        )
        .await?;
        lines.push(format!(
            "{:<10} {} / {}",
            account.role, account.username, account.password
        ));
    }
    if admin_from_env {
        lines.push(format!(
            "{:<10} admin / (MEDITRUSTAL_ADMIN_PASSWORD)",
            Role::Admin
        ));
    } else {
        app.ensure_bootstrap_admin(DEMO_ADMIN_PASSWORD).await?;
        lines.push(format!("{:<10} admin / {DEMO_ADMIN_PASSWORD}", Role::Admin));
    }
    seed_clinical(app).await?;
    Ok(DemoCredentials { lines })
}

/// A note and a lab report for the patient, a consent letting the doctor read lab reports,
/// and the doctor's pending request for everything: the consent story, ready to try.
/// Skipped when the patient already has records.
async fn seed_clinical(app: &App) -> anyhow::Result<()> {
    let patient = app.act_as("patient.li").await?;
    let page = Page {
        limit: 1,
        offset: 0,
    };
    if !app
        .list_records(&patient, None, RecordFilter::default(), page)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let doctor = app.act_as("dr.wang").await?;
    for (category, text) in DEMO_RECORDS {
        let upload = RecordUpload {
            patient: None,
            category: Some(category.to_owned()),
            content_type: "text/plain".to_owned(),
            purpose: None,
            content: text.as_bytes().to_vec(),
        };
        app.create_record(&patient, upload).await?;
    }
    let labs = ConsentScope::Categories {
        categories: [RecordCategory::LabReport].into(),
    };
    let consent = ConsentInput {
        grantee: "dr.wang".to_owned(),
        scope: labs,
        purposes: [Purpose::Treatment].into(),
        allow_write: false,
        expires_at: None,
    };
    app.grant_consent(&patient, consent).await?;
    let request = AccessRequestInput {
        patient: "patient.li".to_owned(),
        scope: ConsentScope::All,
        purpose: Purpose::Treatment,
        reason: "复诊需要查看既往门诊记录".to_owned(),
    };
    app.request_access(&doctor, request).await?;
    Ok(())
}

/// Invented demo content: no real person.
const DEMO_RECORDS: [(&str, &str); 2] = [
    (
        "clinical-note",
        "门诊记录\n主诉：咳嗽、咳痰3天，发热1天。\n现病史：3天前受凉后出现咳嗽，咳黄痰，昨日起发热，体温最高38.6℃。\n既往史：高血压病史5年，口服氨氯地平。否认糖尿病史。\n体格检查：T 38.2℃，P 96次/分，R 20次/分，BP 138/86mmHg，双肺可闻及少量湿啰音。\n初步诊断：社区获得性肺炎。\n诊疗计划：血常规、胸片，阿莫西林口服。",
    ),
    (
        "lab-report",
        "血常规：WBC 12.4×10^9/L，中性粒细胞 82%，Hb 132g/L，PLT 210×10^9/L；CRP 48mg/L。",
    ),
];
