//! Research access on both backends: patients' profiles and research consent, projects,
//! cohort counts over consenting patients only, and exports that are k-anonymous (checked
//! here from the file alone), free of planted PHI, repeatable, on the ledger and listed for
//! each patient; a withdrawal takes effect at once, also on a running export.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use meditrustal_app::{
    Actor, App, AppError, CSV_COLUMNS, CohortCriteria, ProfileInput, ProjectInput, RecordUpload,
    Registration, ResearchConsentInput, ResearchFormat,
};
use meditrustal_domain::{DataCategory, Role, Sex};
use meditrustal_store::{
    Change, ExportStatus, LedgerEvent, ResearchExport, ResearchWrite, StoreError, Write,
};
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use serde_json::Value;
use time::macros::date;
use uuid::Uuid;

on_both_backends!(
    profile_and_research_consent_are_the_patients_and_audited,
    projects_need_an_administrators_approval,
    counts_cover_consenting_patients_only,
    exports_are_k_anonymous_deidentified_repeatable_and_listed,
    withdrawal_takes_effect_at_once_even_for_a_running_export,
    an_export_left_pending_by_a_stopped_process_is_resumed,
);

const CONSENTING: usize = 6;
const OTHERS: usize = 5;
const PURPOSE: &str = "academic";

fn actor(user: meditrustal_store::User) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        did: user.did,
    }
}

/// A valid resident ID number (GB 11643 check digit), so the NLP engine detects it.
fn id_card(serial: usize) -> String {
    let body = format!("33010219800115{serial:03}");
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

struct Person {
    actor: Actor,
    /// Strings that must never leave in a research output.
    phi: Vec<String>,
}

struct World {
    app: App,
    admin: Actor,
    researcher: Actor,
    consenting: Vec<Person>,
    others: Vec<Person>,
    _db: TestDatabase,
}

const NAMES: [&str; 11] = [
    "王芳",
    "李娜",
    "张敏",
    "刘静",
    "陈丽",
    "杨秀英",
    "赵强",
    "黄磊",
    "周杰",
    "吴军",
    "徐涛",
];

async fn patient(app: &App, n: usize, female: bool, diagnosis: &str) -> Person {
    let user = app
        .register(Registration {
            username: format!("patient_{n}"),
            email: format!("patient{n}@example.cn"),
            password: "Sturdy-Passphrase-42".into(),
            role: "patient".into(),
        })
        .await
        .unwrap();
    let me = actor(user);
    let name = NAMES[n];
    let phone = format!("1381234{n:04}");
    let card = id_card(n);
    app.set_my_profile(
        &me,
        ProfileInput {
            sex: if female { "female" } else { "male" }.into(),
            birth_date: date!(1980 - 01 - 15)
                .replace_month(time::Month::try_from(1 + (n % 3) as u8).unwrap())
                .unwrap(),
            region: if n.is_multiple_of(2) {
                "330102"
            } else {
                "330106"
            }
            .into(),
            name: Some(name.into()),
        },
    )
    .await
    .unwrap();
    let note = format!(
        "姓名：{name}，电话：{phone}，身份证：{card}。主诉：口渴多饮三月。诊断：{diagnosis}。"
    );
    app.create_record(
        &me,
        RecordUpload {
            patient: None,
            category: Some("clinical-note".into()),
            content_type: "text/plain".into(),
            purpose: None,
            content: note.into_bytes(),
        },
    )
    .await
    .unwrap();
    let vitals = format!(
        r#"{{"observations":[{{"code":"heart_rate","value":{},"unit":"/min"}}]}}"#,
        105 + n
    );
    app.create_record(
        &me,
        RecordUpload {
            patient: None,
            category: Some("vital-signs".into()),
            content_type: "application/json".into(),
            purpose: None,
            content: vitals.into_bytes(),
        },
    )
    .await
    .unwrap();
    Person {
        actor: me,
        phi: vec![name.to_owned(), phone, card],
    }
}

async fn opt(app: &App, who: &Actor, purpose: &str, category: DataCategory, opted_in: bool) {
    app.set_research_consent(
        who,
        ResearchConsentInput {
            purpose: purpose.into(),
            category: category.as_str().into(),
            opted_in,
        },
    )
    .await
    .unwrap();
}

async fn world(backend: TestBackend) -> Option<World> {
    let db = TestDatabase::create(backend).await?;
    let app = common::local_app(&db).await;
    let admin = actor(
        app.create_admin(
            "ethics_admin",
            "admin@hospital.example",
            "Sturdy-Passphrase-43",
        )
        .await
        .unwrap(),
    );
    let researcher = actor(
        app.ensure_user(
            "dr_research",
            "research@university.example",
            "Sturdy-Passphrase-44",
            Role::Researcher,
        )
        .await
        .unwrap()
        .unwrap(),
    );
    let mut consenting = Vec::new();
    for n in 0..CONSENTING {
        let person = patient(&app, n, true, "糖尿病").await;
        for category in DataCategory::ALL {
            opt(&app, &person.actor, PURPOSE, *category, true).await;
        }
        consenting.push(person);
    }
    let mut others = Vec::new();
    for n in CONSENTING..CONSENTING + OTHERS {
        let person = patient(&app, n, false, "原发性高血压").await;
        match n - CONSENTING {
            // Never asked: opted out by default.
            0 | 1 => {}
            // Another purpose only.
            2 => {
                for category in DataCategory::ALL {
                    opt(&app, &person.actor, "commercial", *category, true).await;
                }
            }
            // In, then withdrew one category.
            3 => {
                for category in DataCategory::ALL {
                    opt(&app, &person.actor, PURPOSE, *category, true).await;
                }
                opt(&app, &person.actor, PURPOSE, DataCategory::Notes, false).await;
            }
            // Some categories only.
            _ => {
                opt(
                    &app,
                    &person.actor,
                    PURPOSE,
                    DataCategory::Demographics,
                    true,
                )
                .await
            }
        }
        others.push(person);
    }
    Some(World {
        app,
        admin,
        researcher,
        consenting,
        others,
        _db: db,
    })
}

fn project_input() -> ProjectInput {
    ProjectInput {
        title: "Diabetes in Hangzhou".into(),
        purpose: PURPOSE.into(),
        description: "Prevalence of diabetes by age band".into(),
        ethics_approval: "ZJU-IRB-2026-117".into(),
        categories: DataCategory::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        period_start: date!(2020 - 01 - 01),
        period_end: date!(2030 - 12 - 31),
    }
}

async fn approved_project(w: &World) -> Uuid {
    let project = w
        .app
        .propose_research_project(&w.researcher, project_input())
        .await
        .unwrap();
    w.app
        .decide_research_project(&w.admin, project.id, true, None)
        .await
        .unwrap();
    project.id
}

async fn finished(app: &App, who: &Actor, job: Uuid) -> ResearchExport {
    for _ in 0..1200 {
        let status = app.research_export_status(who, job).await.unwrap();
        if matches!(status.status, ExportStatus::Done | ExportStatus::Failed) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {job} did not finish");
}

async fn export(
    w: &World,
    project: Uuid,
    format: ResearchFormat,
    k: u32,
) -> (ResearchExport, Vec<u8>) {
    let job = w
        .app
        .start_research_export(&w.researcher, project, format, Some(k))
        .await
        .unwrap();
    let done = finished(&w.app, &w.researcher, job.id).await;
    assert_eq!(done.status, ExportStatus::Done, "{:?}", done.error);
    let file = w
        .app
        .download_research_export(&w.researcher, job.id)
        .await
        .unwrap();
    (done, file.bytes)
}

/// The k-anonymity check, from the CSV alone: rows grouped by their quasi-identifier
/// columns; every group has at least k rows.
fn csv_groups(bytes: &[u8]) -> (Vec<csv::StringRecord>, BTreeMap<Vec<String>, usize>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CSV_COLUMNS);
    let quasi =
        ["age", "sex", "region", "index_date"].map(|c| header.iter().position(|h| h == c).unwrap());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut groups = BTreeMap::new();
    for row in &rows {
        let key: Vec<String> = quasi.iter().map(|&i| row[i].to_owned()).collect();
        *groups.entry(key).or_insert(0) += 1;
    }
    (rows, groups)
}

fn assert_no_phi(w: &World, text: &str) {
    for person in w.consenting.iter().chain(&w.others) {
        for phi in &person.phi {
            assert!(
                !text.contains(phi.as_str()),
                "{phi} leaked into a research export"
            );
        }
        assert!(
            !text.contains(&person.actor.user_id.to_string()),
            "a patient id leaked"
        );
        assert!(!text.contains(person.actor.did.as_str()), "a DID leaked");
    }
    assert!(
        !text.contains("1980-01-15") && !text.contains("1980-02-15"),
        "a birth date leaked"
    );
}

async fn profile_and_research_consent_are_the_patients_and_audited(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let app = common::local_app(&db).await;
    let me = actor(
        app.register(Registration {
            username: "li_na".into(),
            email: "lina@example.cn".into(),
            password: "Sturdy-Passphrase-42".into(),
            role: "patient".into(),
        })
        .await
        .unwrap(),
    );
    assert_eq!(app.my_profile(&me).await.unwrap(), None);
    assert!(
        app.my_research_consents(&me).await.unwrap().is_empty(),
        "default out"
    );
    let input = ProfileInput {
        sex: "female".into(),
        birth_date: date!(1990 - 05 - 20),
        region: "330106".into(),
        name: Some("李娜".into()),
    };
    let profile = app.set_my_profile(&me, input.clone()).await.unwrap();
    assert_eq!(profile.sex, Sex::Female);
    assert_eq!(app.my_profile(&me).await.unwrap(), Some(profile));
    // Bad input changes nothing.
    for bad in [
        ProfileInput {
            region: "33010".into(),
            ..input.clone()
        },
        ProfileInput {
            sex: "f".into(),
            ..input.clone()
        },
        ProfileInput {
            birth_date: date!(2999 - 01 - 01),
            ..input.clone()
        },
    ] {
        assert!(matches!(
            app.set_my_profile(&me, bad).await,
            Err(AppError::Validation(_))
        ));
    }
    let bad_consent = ResearchConsentInput {
        purpose: "marketing".into(),
        category: "notes".into(),
        opted_in: true,
    };
    assert!(matches!(
        app.set_research_consent(&me, bad_consent).await,
        Err(AppError::Validation(_))
    ));
    opt(&app, &me, PURPOSE, DataCategory::Diagnoses, true).await;
    opt(&app, &me, PURPOSE, DataCategory::Diagnoses, false).await;
    opt(&app, &me, "public-health", DataCategory::Notes, true).await;
    let choices = app.my_research_consents(&me).await.unwrap();
    assert_eq!(choices.len(), 2);
    assert!(
        choices
            .iter()
            .any(|c| c.category == DataCategory::Diagnoses && !c.opted_in)
    );
    assert!(
        choices
            .iter()
            .any(|c| c.category == DataCategory::Notes && c.opted_in)
    );

    let audit = app
        .audit(
            &me,
            meditrustal_store::Page {
                limit: 100,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = audit.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "profile.updated",
        "profile.read",
        "research.consent_given",
        "research.consent_withdrawn",
    ] {
        assert!(
            kinds.contains(&kind),
            "{kind} in the patient's audit: {kinds:?}"
        );
    }
    for entry in &audit {
        let text = entry.entry.to_string();
        assert!(
            !text.contains("李娜") && !text.contains("330106"),
            "no personal data on the ledger"
        );
    }

    // Only the patient: a doctor or researcher cannot set or read profiles or consent.
    let doctor = actor(
        app.ensure_user(
            "dr_wu",
            "wu@hospital.example",
            "Sturdy-Passphrase-45",
            Role::Doctor,
        )
        .await
        .unwrap()
        .unwrap(),
    );
    assert!(matches!(
        app.my_profile(&doctor).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.set_my_profile(&doctor, input).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.my_research_consents(&doctor).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.my_research_participation(&doctor).await,
        Err(AppError::Forbidden)
    ));
}

async fn projects_need_an_administrators_approval(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let app = common::local_app(&db).await;
    let admin = actor(
        app.create_admin(
            "root_admin",
            "root@hospital.example",
            "Sturdy-Passphrase-43",
        )
        .await
        .unwrap(),
    );
    let researcher = actor(
        app.ensure_user(
            "dr_zhou",
            "zhou@university.example",
            "Sturdy-Passphrase-44",
            Role::Researcher,
        )
        .await
        .unwrap()
        .unwrap(),
    );
    let other = actor(
        app.ensure_user(
            "dr_qian",
            "qian@university.example",
            "Sturdy-Passphrase-46",
            Role::Researcher,
        )
        .await
        .unwrap()
        .unwrap(),
    );
    // Only researchers propose; bad input is refused.
    assert!(matches!(
        app.propose_research_project(&admin, project_input()).await,
        Err(AppError::Forbidden)
    ));
    for bad in [
        ProjectInput {
            categories: vec![],
            ..project_input()
        },
        ProjectInput {
            categories: vec!["genome".into()],
            ..project_input()
        },
        ProjectInput {
            title: " ".into(),
            ..project_input()
        },
        ProjectInput {
            period_end: date!(2019 - 01 - 01),
            ..project_input()
        },
        ProjectInput {
            purpose: "marketing".into(),
            ..project_input()
        },
    ] {
        assert!(matches!(
            app.propose_research_project(&researcher, bad).await,
            Err(AppError::Validation(_))
        ));
    }
    let project = app
        .propose_research_project(&researcher, project_input())
        .await
        .unwrap();
    // Pending: no counts, no exports.
    assert!(matches!(
        app.count_cohort(&researcher, project.id, CohortCriteria::default())
            .await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.start_research_export(&researcher, project.id, ResearchFormat::Csv, None)
            .await,
        Err(AppError::Forbidden)
    ));
    // Another researcher cannot even see it; only admins decide.
    assert!(matches!(
        app.research_project(&other, project.id).await,
        Err(AppError::NotFound { .. })
    ));
    assert!(matches!(
        app.decide_research_project(&researcher, project.id, true, None)
            .await,
        Err(AppError::Forbidden)
    ));
    let rejected = app
        .decide_research_project(
            &admin,
            project.id,
            false,
            Some("consent form missing".into()),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status.as_str(), "rejected");
    assert!(matches!(
        app.decide_research_project(&admin, project.id, true, None)
            .await,
        Err(AppError::StateConflict(_))
    ));
    assert!(matches!(
        app.count_cohort(&researcher, project.id, CohortCriteria::default())
            .await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(app.research_projects(&researcher).await.unwrap().len(), 1);
    assert!(app.research_projects(&other).await.unwrap().is_empty());
    assert_eq!(app.research_projects(&admin).await.unwrap().len(), 1);

    // Each step is on the ledger.
    let head = app.store().latest_tree_head().await.unwrap().unwrap();
    let leaves = app
        .store()
        .leaves(0, u32::try_from(head.head.tree_size).unwrap())
        .await
        .unwrap();
    let kinds: Vec<&str> = leaves.iter().map(|l| l.kind.as_str()).collect();
    assert!(kinds.contains(&"research.project_proposed"));
    assert!(kinds.contains(&"research.project_rejected"));
    let project_text = project.id.to_string();
    assert!(leaves.iter().any(|l| l.kind == "research.project_rejected"
        && String::from_utf8_lossy(&l.entry).contains(&project_text)));
}

async fn counts_cover_consenting_patients_only(backend: TestBackend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let project = approved_project(&w).await;
    let count = |criteria: CohortCriteria| w.app.count_cohort(&w.researcher, project, criteria);
    let women = CohortCriteria {
        sex: Some(Sex::Female),
        ..CohortCriteria::default()
    };
    let men = CohortCriteria {
        sex: Some(Sex::Male),
        ..CohortCriteria::default()
    };
    // Six consenting women: shown, rounded to a multiple of 5.
    let first = count(women.clone()).await.unwrap();
    let shown = first
        .count
        .expect("six consenting patients are not suppressed");
    assert!(
        shown.is_multiple_of(5) && (5..=10).contains(&shown),
        "{shown}"
    );
    // Five men, none with research consent for this purpose and all categories: were any
    // counted the answer could not be "<5" (five or more is never suppressed).
    let male = count(men).await.unwrap();
    assert_eq!((male.count, male.display.as_str()), (None, "<5"));
    let hypertension = CohortCriteria {
        icd10: vec!["I10".into()],
        ..CohortCriteria::default()
    };
    assert_eq!(count(hypertension).await.unwrap().display, "<5");
    let diabetes = CohortCriteria {
        icd10: vec!["e14*".into()],
        ..CohortCriteria::default()
    };
    assert!(count(diabetes).await.unwrap().count.is_some());
    // The same question gets the same answer: repeating it cannot average noise away.
    let again = count(women.clone()).await.unwrap();
    assert_eq!(again.count, first.count);
    assert_eq!(
        again.queries_left + 4,
        first.queries_left,
        "every question spends budget"
    );
    // Observation ranges (codes compared without case) and dates.
    let fast = |min, max| CohortCriteria {
        observations: vec![meditrustal_app::ObservationRange {
            code: "HEART_RATE".into(),
            min,
            max,
        }],
        ..CohortCriteria::default()
    };
    assert!(
        count(fast(Some(100.0), None))
            .await
            .unwrap()
            .count
            .is_some()
    );
    assert_eq!(count(fast(None, Some(100.0))).await.unwrap().display, "<5");
    assert_eq!(
        count(fast(Some(200.0), Some(300.0))).await.unwrap().display,
        "<5"
    );
    let later = CohortCriteria {
        from: Some(date!(2030 - 01 - 01)),
        ..CohortCriteria::default()
    };
    assert_eq!(count(later).await.unwrap().display, "<5");
    let recent = CohortCriteria {
        from: Some(date!(2020 - 01 - 01)),
        ..CohortCriteria::default()
    };
    assert!(count(recent).await.unwrap().count.is_some());
    // Ages are on the period's end: everyone is 50 by 2030-12-31.
    let old = CohortCriteria {
        age_min: Some(60),
        ..CohortCriteria::default()
    };
    assert_eq!(count(old).await.unwrap().display, "<5");
    // Bad criteria: 422, no budget spent.
    let before = w
        .app
        .research_project(&w.researcher, project)
        .await
        .unwrap()
        .queries_used;
    for bad in [
        CohortCriteria {
            icd10: vec!["diabetes".into()],
            ..CohortCriteria::default()
        },
        CohortCriteria {
            age_min: Some(50),
            age_max: Some(40),
            ..CohortCriteria::default()
        },
        CohortCriteria {
            from: Some(date!(2026 - 02 - 01)),
            to: Some(date!(2026 - 01 - 01)),
            ..CohortCriteria::default()
        },
    ] {
        assert!(matches!(count(bad).await, Err(AppError::Validation(_))));
    }
    assert_eq!(
        w.app
            .research_project(&w.researcher, project)
            .await
            .unwrap()
            .queries_used,
        before
    );
    // Nobody else may count.
    for who in [&w.admin, &w.consenting[0].actor] {
        assert!(count_by(&w, who, project).await.is_err());
    }
    // An erased account leaves the population at once: its profile goes, and it is opted
    // out of research.
    let erased = &w.consenting[5].actor;
    w.app
        .erase_account(erased, erased.user_id, None)
        .await
        .unwrap();
    assert!(
        w.app
            .store()
            .patient_profile(erased.user_id)
            .await
            .unwrap()
            .is_none()
    );
    let choices = w
        .app
        .store()
        .research_consents(Some(erased.user_id), None)
        .await
        .unwrap();
    assert!(!choices.is_empty() && choices.iter().all(|c| !c.opted_in));
    let five = count(women).await.unwrap();
    assert_eq!(five.count, Some(5), "five consenting women remain");
}

async fn count_by(w: &World, who: &Actor, project: Uuid) -> Result<(), AppError> {
    w.app
        .count_cohort(who, project, CohortCriteria::default())
        .await
        .map(|_| ())
}

async fn exports_are_k_anonymous_deidentified_repeatable_and_listed(backend: TestBackend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let project = approved_project(&w).await;
    let (job, bytes) = export(&w, project, ResearchFormat::Csv, 5).await;
    let text = String::from_utf8(bytes.clone()).unwrap();
    let (rows, groups) = csv_groups(&bytes);
    assert!(groups.values().all(|&n| n >= 5), "k-anonymity: {groups:?}");
    let report: Value = serde_json::from_str(job.report.as_deref().unwrap()).unwrap();
    let suppressed = report["k_anonymity"]["rows_suppressed"].as_u64().unwrap() as usize;
    assert_eq!(
        report["k_anonymity"]["rows_in"], CONSENTING,
        "consenting patients only"
    );
    assert_eq!(rows.len() + suppressed, CONSENTING);
    assert!(!rows.is_empty());
    assert_no_phi(&w, &text);
    assert!(text.contains("E14.9"), "the diagnosis is exported");
    assert!(
        !text.contains("I10"),
        "no data of a patient without research consent"
    );
    assert!(
        text.contains("口渴多饮"),
        "notes are exported, de-identified"
    );
    // The same request over the same data: the same bytes.
    let (again, again_bytes) = export(&w, project, ResearchFormat::Csv, 5).await;
    assert_eq!(again_bytes, bytes);
    assert_eq!(again.sha256, job.sha256);
    // A larger k generalises at least as much and still holds.
    let (_, k6) = export(&w, project, ResearchFormat::Csv, 6).await;
    let (_, groups6) = csv_groups(&k6);
    assert!(groups6.values().all(|&n| n >= 6), "{groups6:?}");

    // FHIR NDJSON: the same people, the same guarantees.
    let (_, ndjson) = export(&w, project, ResearchFormat::Ndjson, 5).await;
    let mut patients = BTreeMap::new();
    let mut decoded = String::new();
    for line in String::from_utf8(ndjson).unwrap().lines() {
        let resource: Value = serde_json::from_str(line).unwrap();
        match resource["resourceType"].as_str().unwrap() {
            "Patient" => {
                let key =
                    resource["extension"].to_string() + resource["gender"].as_str().unwrap_or("*");
                *patients.entry(key).or_insert(0) += 1;
            }
            "DocumentReference" => {
                let data = resource["content"][0]["attachment"]["data"]
                    .as_str()
                    .unwrap();
                decoded.push_str(
                    &String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(data)
                            .unwrap(),
                    )
                    .unwrap(),
                );
            }
            "Condition" | "Observation" => {}
            other => panic!("unexpected {other}"),
        }
        decoded.push_str(line);
    }
    assert_eq!(patients.values().sum::<usize>(), rows.len());
    assert!(patients.values().all(|&n| n >= 5), "{patients:?}");
    assert_no_phi(&w, &decoded);

    // On the ledger: the file's hash; each download audited.
    let head = w.app.store().latest_tree_head().await.unwrap().unwrap();
    let leaves = w
        .app
        .store()
        .leaves(0, u32::try_from(head.head.tree_size).unwrap())
        .await
        .unwrap();
    let sha = job.sha256.clone().unwrap();
    assert_eq!(
        sha,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    let entries: Vec<Value> = leaves
        .iter()
        .map(|l| serde_json::from_slice(&l.entry).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "research.exported" && e["export_sha256"] == sha.as_str())
    );
    assert!(
        entries.iter().any(
            |e| e["kind"] == "research.export_downloaded" && e["export_sha256"] == sha.as_str()
        )
    );
    for entry in &entries {
        let text = entry.to_string();
        for person in w.consenting.iter().chain(&w.others) {
            assert!(
                person.phi.iter().all(|phi| !text.contains(phi.as_str())),
                "PHI on the ledger"
            );
        }
    }

    // Each consenting patient sees the exports that held their data; the others see none.
    for person in &w.consenting {
        let listed = w
            .app
            .my_research_participation(&person.actor)
            .await
            .unwrap();
        if listed.is_empty() {
            continue; // suppressed from every export
        }
        assert!(
            listed
                .iter()
                .any(|p| p.export_id == job.id && p.sha256.as_deref() == Some(sha.as_str()))
        );
        assert!(
            listed
                .iter()
                .all(|p| p.researcher_did == w.researcher.did.as_str())
        );
    }
    let listed: usize = {
        let mut n = 0;
        for person in &w.consenting {
            n += usize::from(
                w.app
                    .my_research_participation(&person.actor)
                    .await
                    .unwrap()
                    .iter()
                    .any(|p| p.export_id == job.id),
            );
        }
        n
    };
    assert_eq!(listed, rows.len());
    for person in &w.others {
        assert!(
            w.app
                .my_research_participation(&person.actor)
                .await
                .unwrap()
                .is_empty()
        );
    }
    // Only the project's researcher downloads.
    assert!(
        w.app
            .download_research_export(&w.admin, job.id)
            .await
            .is_err()
    );
    assert!(
        w.app
            .download_research_export(&w.consenting[0].actor, job.id)
            .await
            .is_err()
    );
}

async fn withdrawal_takes_effect_at_once_even_for_a_running_export(backend: TestBackend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let project = approved_project(&w).await;
    let leaving = &w.consenting[0];
    // Start an export, then withdraw while it may still be running.
    let job = w
        .app
        .start_research_export(&w.researcher, project, ResearchFormat::Csv, Some(2))
        .await
        .unwrap();
    opt(
        &w.app,
        &leaving.actor,
        PURPOSE,
        DataCategory::Diagnoses,
        false,
    )
    .await;
    let done = finished(&w.app, &w.researcher, job.id).await;
    assert_eq!(done.status, ExportStatus::Done, "{:?}", done.error);
    let report: Value = serde_json::from_str(done.report.as_deref().unwrap()).unwrap();
    assert_eq!(report["k_anonymity"]["rows_in"], CONSENTING - 1);
    assert!(
        w.app
            .my_research_participation(&leaving.actor)
            .await
            .unwrap()
            .is_empty()
    );
    let bytes = w
        .app
        .download_research_export(&w.researcher, job.id)
        .await
        .unwrap()
        .bytes;
    assert!(!String::from_utf8(bytes).unwrap().contains(&leaving.phi[0]));

    // The mechanism: an export that read research consent before a change cannot finish.
    let store = w.app.store();
    let key = meditrustal_ledger::SigningKey::from_bytes(&[9; 32]);
    let pending = ResearchExport {
        id: Uuid::now_v7(),
        project,
        format: "csv".into(),
        k: 5,
        status: ExportStatus::Pending,
        sealed: None,
        size_bytes: None,
        sha256: None,
        report: None,
        error: None,
        created_at: time::OffsetDateTime::now_utc(),
        finished_at: None,
    };
    let marker = || LedgerEvent {
        entry: br#"{"kind":"test.marker","v":1}"#.to_vec(),
        kind: "test.marker".into(),
        actor: None,
        patient: None,
        record: None,
        outcome: "allowed".into(),
        at: time::OffsetDateTime::now_utc(),
    };
    let commit = |writes: Vec<Write>| {
        store.commit(
            Change {
                writes,
                events: vec![marker()],
            },
            &key,
            1,
        )
    };
    commit(vec![Write::Research(ResearchWrite::InsertExport(
        pending.clone(),
    ))])
    .await
    .unwrap();
    let epoch = store.research_consent_epoch().await.unwrap();
    opt(
        &w.app,
        &w.consenting[1].actor,
        PURPOSE,
        DataCategory::Notes,
        false,
    )
    .await;
    let finish = |epoch| {
        Write::Research(ResearchWrite::FinishExport {
            job: ResearchExport {
                status: ExportStatus::Done,
                ..pending.clone()
            },
            epoch: Some(epoch),
            subjects: vec![w.consenting[1].actor.user_id],
        })
    };
    assert!(matches!(
        commit(vec![finish(epoch)]).await,
        Err(StoreError::Stale { .. })
    ));
    let current = store.research_consent_epoch().await.unwrap();
    assert_eq!(current, epoch + 1);
    commit(vec![finish(current)]).await.unwrap();

    // Counting and exporting after the withdrawals leave both patients out at once.
    let (later, _) = export(&w, project, ResearchFormat::Csv, 2).await;
    let report: Value = serde_json::from_str(later.report.as_deref().unwrap()).unwrap();
    assert_eq!(report["k_anonymity"]["rows_in"], CONSENTING - 2);
}

async fn an_export_left_pending_by_a_stopped_process_is_resumed(backend: TestBackend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let project = approved_project(&w).await;
    // Another process requests the export and stops before its build task ever runs: a
    // current-thread runtime never polls the spawned task before `block_on` returns, and
    // dropping the runtime drops it.
    let job = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let app = common::local_app(&w._db).await;
                    app.start_research_export(&w.researcher, project, ResearchFormat::Csv, None)
                        .await
                        .unwrap()
                })
            })
            .join()
            .unwrap()
    });
    let status = w.app.research_export_status(&w.researcher, job.id).await;
    assert_eq!(
        status.unwrap().status,
        ExportStatus::Pending,
        "left unfinished"
    );

    assert_eq!(w.app.resume_exports().await.unwrap(), 1);
    let done = finished(&w.app, &w.researcher, job.id).await;
    assert_eq!(done.status, ExportStatus::Done, "{:?}", done.error);
    assert_eq!(
        w.app.resume_exports().await.unwrap(),
        0,
        "finished jobs stay"
    );
}
