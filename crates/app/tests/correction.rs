//! Correction (PIPL Art. 46) on both backends: a patient proposes, a doctor with write
//! consent accepts (a new version; the old one stays readable and superseded) or rejects
//! with a reason; the patient is notified and every step is in the audit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use meditrustal_app::{
    Actor, App, AppError, ConsentInput, CorrectionDecision, CorrectionInput, NoProgress,
    RecordUpload, Registration,
};
use meditrustal_domain::{ConsentScope, Purpose, RecordId, Role};
use meditrustal_store::{CorrectionStatus, Page};
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};

on_both_backends!(
    accepted_correction_supersedes_and_keeps_the_old_version,
    rejected_correction_keeps_the_record_and_tells_the_patient,
    only_the_patient_requests_and_only_a_writing_doctor_decides,
);

struct Fixture {
    app: App,
    patient: Actor,
    doctor: Actor,
    reader: Actor,
    record: RecordId,
    _db: TestDatabase,
}

const ORIGINAL: &str = "过敏史：磺胺类药物过敏";
const CORRECTED: &str = "过敏史：青霉素过敏（非磺胺类）";

fn actor(user: meditrustal_store::User) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        did: user.did,
    }
}

impl Fixture {
    async fn create(backend: TestBackend) -> Option<Fixture> {
        let db = TestDatabase::create(backend).await?;
        let app = common::local_app(&db).await;
        let patient = actor(
            app.register(Registration {
                username: "patient_liu".into(),
                email: "liu@example.cn".into(),
                password: "Sturdy-Passphrase-42".into(),
                role: "patient".into(),
            })
            .await
            .unwrap(),
        );
        let mut doctors = Vec::new();
        for name in ["dr_writer", "dr_reader"] {
            let user = app
                .ensure_user(
                    name,
                    &format!("{name}@hospital.example"),
                    "Sturdy-Passphrase-44",
                    Role::Doctor,
                )
                .await
                .unwrap()
                .unwrap();
            doctors.push(actor(user));
            app.grant_consent(
                &patient,
                ConsentInput {
                    grantee: name.into(),
                    scope: ConsentScope::All,
                    purposes: [Purpose::Treatment].into(),
                    allow_write: name == "dr_writer",
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        }
        let reader = doctors.pop().unwrap();
        let doctor = doctors.pop().unwrap();
        let record = app
            .create_record(
                &doctor,
                RecordUpload {
                    patient: Some(patient.user_id),
                    category: Some("clinical-note".into()),
                    content_type: "text/plain; charset=utf-8".into(),
                    purpose: Some(Purpose::Treatment),
                    content: ORIGINAL.as_bytes().to_vec(),
                },
            )
            .await
            .unwrap()
            .id;
        Some(Fixture {
            app,
            patient,
            doctor,
            reader,
            record,
            _db: db,
        })
    }

    async fn request(&self) -> uuid::Uuid {
        let input = CorrectionInput {
            content_type: "text/plain; charset=utf-8".into(),
            content: CORRECTED.as_bytes().to_vec(),
            reason: "我对青霉素过敏，不是磺胺".into(),
        };
        let request = self
            .app
            .request_correction(&self.patient, self.record, input)
            .await
            .unwrap();
        assert_eq!(request.status, CorrectionStatus::Pending);
        assert_eq!(request.base_version, 1);
        request.id
    }

    async fn notification_kinds(&self) -> Vec<String> {
        let page = Page {
            limit: 50,
            offset: 0,
        };
        self.app
            .store()
            .notifications(self.patient.user_id, page)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.kind)
            .collect()
    }

    async fn audit_kinds(&self) -> Vec<(String, serde_json::Value)> {
        let page = Page {
            limit: 200,
            offset: 0,
        };
        self.app
            .audit(&self.patient, page)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.entry))
            .collect()
    }
}

async fn accepted_correction_supersedes_and_keeps_the_old_version(backend: TestBackend) {
    let Some(f) = Fixture::create(backend).await else {
        return;
    };
    let request = f.request().await;
    let decided = f
        .app
        .decide_correction(&f.doctor, request, CorrectionDecision::Accept)
        .await
        .unwrap();
    assert_eq!(decided.status, CorrectionStatus::Accepted);
    assert_eq!(decided.new_version, Some(2));
    assert_eq!(decided.decided_by, Some(f.doctor.user_id));

    // Both versions readable by those allowed: the patient and a reading doctor.
    for who in [&f.patient, &f.reader] {
        let purpose = (who.role == Role::Doctor).then_some(Purpose::Treatment);
        let current = f
            .app
            .read_record(who, f.record, None, purpose)
            .await
            .unwrap();
        assert_eq!(current.content, CORRECTED.as_bytes());
        assert_eq!(current.version.correction_id, Some(request));
        let old = f
            .app
            .read_record(who, f.record, Some(1), purpose)
            .await
            .unwrap();
        assert_eq!(old.content, ORIGINAL.as_bytes());
    }
    let (meta, versions) = f
        .app
        .record_details(&f.patient, f.record, None)
        .await
        .unwrap();
    assert_eq!(meta.current_version, 2);
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].correction_id, None);

    // Deciding twice is a conflict; the patient was told.
    let again = f
        .app
        .decide_correction(&f.doctor, request, CorrectionDecision::Accept)
        .await;
    assert!(matches!(again, Err(AppError::StateConflict(_))));
    assert!(
        f.notification_kinds()
            .await
            .contains(&"correction.accepted".to_owned())
    );

    // The supersession is in the audit: the request, the new version naming the request,
    // and the acceptance naming the new version.
    let audit = f.audit_kinds().await;
    let find = |kind: &str| {
        audit
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| panic!("no {kind} in {audit:?}"))
    };
    let requested = find("correction.requested");
    assert_eq!(requested["request"], request.to_string());
    assert_eq!(requested["version"], 1);
    let accepted = find("correction.accepted");
    assert_eq!(accepted["version"], 2);
    assert_eq!(accepted["request"], request.to_string());
    let updated = audit
        .iter()
        .find(|(k, e)| k == "record.updated" && e["request"] == request.to_string())
        .unwrap();
    assert_eq!(updated.1["version"], 2);
    // No clinical text or reason on the ledger.
    for (_, entry) in &audit {
        let text = entry.to_string();
        assert!(!text.contains("青霉素") && !text.contains("磺胺"), "{text}");
    }

    let report = f.app.verify(&NoProgress).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.versions, 2);
}

async fn rejected_correction_keeps_the_record_and_tells_the_patient(backend: TestBackend) {
    let Some(f) = Fixture::create(backend).await else {
        return;
    };
    let request = f.request().await;
    let no_reason = f
        .app
        .decide_correction(
            &f.doctor,
            request,
            CorrectionDecision::Reject { reason: " ".into() },
        )
        .await;
    assert!(matches!(no_reason, Err(AppError::Validation(ref v)) if v.field == "reason"));
    let decided = f
        .app
        .decide_correction(
            &f.doctor,
            request,
            CorrectionDecision::Reject {
                reason: "皮试结果支持原记录".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(decided.status, CorrectionStatus::Rejected);
    assert_eq!(
        decided.decision_reason.as_deref(),
        Some("皮试结果支持原记录")
    );
    let current = f
        .app
        .read_record(&f.patient, f.record, None, None)
        .await
        .unwrap();
    assert_eq!(current.version.version, 1);
    assert_eq!(current.content, ORIGINAL.as_bytes());
    assert!(
        f.notification_kinds()
            .await
            .contains(&"correction.rejected".to_owned())
    );
    let audit = f.audit_kinds().await;
    assert!(
        audit
            .iter()
            .any(|(k, e)| k == "correction.rejected" && e["request"] == request.to_string())
    );
    let listed = f
        .app
        .record_corrections(&f.reader, f.record, Some(Purpose::Treatment))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, CorrectionStatus::Rejected);
}

async fn only_the_patient_requests_and_only_a_writing_doctor_decides(backend: TestBackend) {
    let Some(f) = Fixture::create(backend).await else {
        return;
    };
    let input = || CorrectionInput {
        content_type: "text/plain; charset=utf-8".into(),
        content: CORRECTED.as_bytes().to_vec(),
        reason: "wrong allergy".into(),
    };
    let by_doctor = f.app.request_correction(&f.doctor, f.record, input()).await;
    assert!(matches!(by_doctor, Err(AppError::Forbidden)));
    let request = f.request().await;
    let by_reader = f
        .app
        .decide_correction(&f.reader, request, CorrectionDecision::Accept)
        .await;
    assert!(matches!(by_reader, Err(AppError::ConsentRequired)));
    let by_patient = f
        .app
        .decide_correction(&f.patient, request, CorrectionDecision::Accept)
        .await;
    assert!(matches!(by_patient, Err(AppError::Forbidden)));
    let current = f
        .app
        .read_record(&f.patient, f.record, None, None)
        .await
        .unwrap();
    assert_eq!(current.version.version, 1);
    // After the record is erased, the proposal is erased with it.
    f.app
        .erase_record(&f.patient, f.record, None)
        .await
        .unwrap();
    let stored = f
        .app
        .store()
        .correction_request(request)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.proposal.is_empty() && stored.reason.is_empty());
    let mut listing = f.app.vault().list_objects();
    use futures_util::StreamExt as _;
    assert!(
        listing.next().await.is_none(),
        "every object of the record is gone"
    );
}
