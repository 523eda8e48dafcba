//! The access matrix: every role × action × consent state, checked against an independent
//! statement of who may do what.

use std::collections::BTreeSet;

use meditrustal_domain::{
    ConsentScope, Did, EmergencyGrant, Purpose, RecordCategory, RecordId, Role, UserId,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;

fn actor(role: Role) -> Actor {
    Actor {
        user_id: UserId(Uuid::new_v4()),
        role,
        did: Did::from_random([1; 16]),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

const NOTE: RecordCategory = RecordCategory::ClinicalNote;

fn record(patient: UserId) -> Resource {
    Resource::Record {
        patient,
        id: RecordId(Uuid::from_u128(1)),
        category: NOTE,
    }
}

/// The consent states of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    None,
    Active,
    ActiveWithWrite,
    Expired,
    Revoked,
    WrongScope,
    WrongPurpose,
    OtherGrantee,
    Emergency,
    ExpiredEmergency,
}

const STATES: [State; 10] = [
    State::None,
    State::Active,
    State::ActiveWithWrite,
    State::Expired,
    State::Revoked,
    State::WrongScope,
    State::WrongPurpose,
    State::OtherGrantee,
    State::Emergency,
    State::ExpiredEmergency,
];

fn facts(
    state: State,
    patient: UserId,
    grantee: UserId,
) -> (Vec<ConsentGrant>, Vec<EmergencyGrant>) {
    let mut consent = ConsentGrant {
        expires_at: Some(now() + Duration::days(1)),
        ..ConsentGrant::new(
            Uuid::new_v4(),
            patient,
            grantee,
            ConsentScope::All,
            [Purpose::Treatment].into(),
            now() - Duration::days(1),
        )
    };
    let emergency = EmergencyGrant {
        id: Uuid::new_v4(),
        patient,
        doctor: grantee,
        reason: "unconscious".into(),
        created_at: now() - Duration::hours(1),
        expires_at: now() + Duration::hours(3),
    };
    match state {
        State::None => return (vec![], vec![]),
        State::Active => {}
        State::ActiveWithWrite => consent.allow_write = true,
        State::Expired => consent.expires_at = Some(now() - Duration::seconds(1)),
        State::Revoked => consent.revoked_at = Some(now() - Duration::seconds(1)),
        State::WrongScope => {
            consent.scope = ConsentScope::Categories {
                categories: BTreeSet::from([RecordCategory::LabReport]),
            }
        }
        State::WrongPurpose => consent.purposes = [Purpose::Research].into(),
        State::OtherGrantee => consent.grantee = UserId(Uuid::new_v4()),
        State::Emergency => return (vec![], vec![emergency]),
        State::ExpiredEmergency => {
            let mut old = emergency;
            old.expires_at = now() - Duration::seconds(1);
            return (vec![], vec![old]);
        }
    }
    (vec![consent], vec![])
}

/// The expected outcome, stated independently of the implementation.
fn expected(role: Role, own: bool, action: Action, state: State) -> bool {
    match role {
        Role::Admin | Role::Researcher => false,
        Role::Patient => own,
        Role::Doctor => {
            let reads = matches!(
                state,
                State::Active | State::ActiveWithWrite | State::Emergency
            );
            match action {
                Action::ReadRecord => reads,
                Action::ListRecords => {
                    reads || state == State::WrongScope || state == State::WrongPurpose
                }
                Action::UpdateRecord | Action::CreateRecord => state == State::ActiveWithWrite,
                _ => false,
            }
        }
    }
}

#[test]
fn access_matrix_has_no_leak() {
    let patient = actor(Role::Patient);
    let actions = [
        Action::ReadRecord,
        Action::ListRecords,
        Action::UpdateRecord,
        Action::CreateRecord,
    ];
    let mut cases = 0;
    for role in Role::ALL {
        for own in [false, true] {
            let who = if own && role == Role::Patient {
                patient.clone()
            } else {
                actor(role)
            };
            for action in actions {
                for state in STATES {
                    let (consents, emergencies) = facts(state, patient.user_id, who.user_id);
                    let resource = match action {
                        Action::ListRecords => Resource::Patient(patient.user_id),
                        Action::CreateRecord => Resource::NewRecord {
                            patient: patient.user_id,
                            category: NOTE,
                        },
                        _ => record(patient.user_id),
                    };
                    let context = Context {
                        purpose: Some(Purpose::Treatment),
                        now: now(),
                        consents: &consents,
                        emergencies: &emergencies,
                    };
                    let decision = decide(&who, action, resource, &context);
                    let own_data = own && role == Role::Patient;
                    assert_eq!(
                        matches!(decision, Decision::Allow(_)),
                        expected(role, own_data, action, state),
                        "{role:?} own={own} {action:?} {state:?}: {decision:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert!(cases >= 300, "{cases} cases");
}

#[test]
fn doctors_are_told_consent_is_required_and_others_forbidden() {
    let patient = actor(Role::Patient);
    let context = Context::bare(now());
    let doctor = decide(
        &actor(Role::Doctor),
        Action::ReadRecord,
        record(patient.user_id),
        &context,
    );
    assert_eq!(doctor, Decision::Deny(Denial::ConsentRequired));
    for role in [Role::Admin, Role::Researcher] {
        let other = decide(
            &actor(role),
            Action::ReadRecord,
            record(patient.user_id),
            &context,
        );
        assert_eq!(other, Decision::Deny(Denial::Forbidden), "{role:?}");
    }
}

#[test]
fn the_purpose_must_be_one_the_patient_allowed() {
    let patient = actor(Role::Patient);
    let doctor = actor(Role::Doctor);
    let (consents, _) = facts(State::Active, patient.user_id, doctor.user_id);
    for (purpose, allowed) in [
        (Some(Purpose::Treatment), true),
        (Some(Purpose::Research), false),
        (None, false),
    ] {
        let context = Context {
            purpose,
            now: now(),
            consents: &consents,
            emergencies: &[],
        };
        let decision = decide(
            &doctor,
            Action::ReadRecord,
            record(patient.user_id),
            &context,
        );
        assert_eq!(
            matches!(decision, Decision::Allow(Basis::Consent(_))),
            allowed,
            "{purpose:?}"
        );
    }
}

#[test]
fn emergency_access_is_flagged_and_read_only() {
    let patient = actor(Role::Patient);
    let doctor = actor(Role::Doctor);
    let (_, emergencies) = facts(State::Emergency, patient.user_id, doctor.user_id);
    let context = Context {
        purpose: Some(Purpose::Emergency),
        now: now(),
        consents: &[],
        emergencies: &emergencies,
    };
    let read = decide(
        &doctor,
        Action::ReadRecord,
        record(patient.user_id),
        &context,
    );
    assert!(matches!(read, Decision::Allow(Basis::Emergency(_))));
    let write = decide(
        &doctor,
        Action::UpdateRecord,
        record(patient.user_id),
        &context,
    );
    assert_eq!(write, Decision::Deny(Denial::ConsentRequired));
}

#[test]
fn everyone_reads_only_their_own_account() {
    let context = Context::bare(now());
    for role in Role::ALL {
        let me = actor(role);
        let other = UserId(Uuid::new_v4());
        assert_eq!(
            decide(
                &me,
                Action::ReadAccount,
                Resource::Account(me.user_id),
                &context
            ),
            Decision::Allow(Basis::Owner)
        );
        assert_eq!(
            decide(&me, Action::ReadAccount, Resource::Account(other), &context),
            Decision::Deny(Denial::Forbidden)
        );
    }
}

#[test]
fn only_admins_manage_accounts_and_never_their_own_status() {
    let context = Context::bare(now());
    let target = Resource::Account(UserId(Uuid::new_v4()));
    for role in [Role::Patient, Role::Doctor, Role::Researcher] {
        let who = actor(role);
        assert!(matches!(
            decide(&who, Action::ListAccounts, Resource::System, &context),
            Decision::Deny(_)
        ));
        assert!(matches!(
            decide(&who, Action::ViewSystemStatus, Resource::System, &context),
            Decision::Deny(_)
        ));
        assert!(matches!(
            decide(&who, Action::ChangeAccountStatus, target, &context),
            Decision::Deny(_)
        ));
    }
    let admin = actor(Role::Admin);
    assert!(matches!(
        decide(&admin, Action::ListAccounts, Resource::System, &context),
        Decision::Allow(_)
    ));
    assert!(matches!(
        decide(&admin, Action::ViewSystemStatus, Resource::System, &context),
        Decision::Allow(_)
    ));
    assert!(matches!(
        decide(&admin, Action::ChangeAccountStatus, target, &context),
        Decision::Allow(_)
    ));
    let own = Resource::Account(admin.user_id);
    assert!(matches!(
        decide(&admin, Action::ChangeAccountStatus, own, &context),
        Decision::Deny(_)
    ));
}

#[test]
fn consents_are_managed_only_by_their_patient() {
    let context = Context::bare(now());
    let patient = actor(Role::Patient);
    let mine = Resource::Patient(patient.user_id);
    assert!(matches!(
        decide(&patient, Action::ManageConsents, mine, &context),
        Decision::Allow(_)
    ));
    for role in Role::ALL {
        let other = actor(role);
        assert!(
            matches!(
                decide(&other, Action::ManageConsents, mine, &context),
                Decision::Deny(_)
            ),
            "{role:?}"
        );
    }
    assert!(matches!(
        decide(&actor(Role::Doctor), Action::RequestAccess, mine, &context),
        Decision::Allow(_)
    ));
    assert!(matches!(
        decide(
            &actor(Role::Researcher),
            Action::RequestAccess,
            mine,
            &context
        ),
        Decision::Deny(_)
    ));
    assert!(matches!(
        decide(
            &actor(Role::Admin),
            Action::DeclareEmergency,
            mine,
            &context
        ),
        Decision::Deny(_)
    ));
}

#[test]
fn every_role_may_compute_scores_but_only_as_a_system_action() {
    let context = Context::bare(now());
    for role in Role::ALL {
        let who = actor(role);
        assert_eq!(
            decide(&who, Action::ComputeScore, Resource::System, &context),
            Decision::Allow(Basis::Role),
            "{role:?}"
        );
        assert!(
            matches!(
                decide(
                    &who,
                    Action::ComputeScore,
                    Resource::Account(who.user_id),
                    &context
                ),
                Decision::Deny(_)
            ),
            "{role:?}"
        );
    }
}

#[test]
fn only_patients_and_doctors_list_their_own_consents() {
    let context = Context::bare(now());
    for role in Role::ALL {
        let me = actor(role);
        let allowed = matches!(role, Role::Patient | Role::Doctor);
        let own = decide(
            &me,
            Action::ListOwnConsents,
            Resource::Account(me.user_id),
            &context,
        );
        assert_eq!(matches!(own, Decision::Allow(_)), allowed, "{role:?}");
        let other = decide(
            &me,
            Action::ListOwnConsents,
            Resource::Account(UserId(Uuid::new_v4())),
            &context,
        );
        assert!(matches!(other, Decision::Deny(_)), "{role:?}");
    }
}

#[test]
fn every_role_may_analyze_text_but_only_as_a_system_action() {
    let context = Context::bare(now());
    for role in Role::ALL {
        let who = actor(role);
        assert_eq!(
            decide(&who, Action::AnalyzeText, Resource::System, &context),
            Decision::Allow(Basis::Role),
            "{role:?}"
        );
        for resource in [
            Resource::Account(who.user_id),
            Resource::Patient(who.user_id),
        ] {
            assert!(
                matches!(
                    decide(&who, Action::AnalyzeText, resource, &context),
                    Decision::Deny(_)
                ),
                "{role:?} {resource:?}"
            );
        }
    }
}

#[test]
fn derived_data_follows_the_records_it_comes_from() {
    let patient = actor(Role::Patient);
    for state in STATES {
        let doctor = actor(Role::Doctor);
        let (consents, emergencies) = facts(state, patient.user_id, doctor.user_id);
        let purpose = if state == State::Emergency {
            Purpose::Emergency
        } else {
            Purpose::Treatment
        };
        let context = Context {
            purpose: Some(purpose),
            now: now(),
            consents: &consents,
            emergencies: &emergencies,
        };
        let reads = matches!(
            state,
            State::Active | State::ActiveWithWrite | State::Emergency
        );
        for resource in [record(patient.user_id), Resource::Patient(patient.user_id)] {
            let decision = decide(&doctor, Action::ReadDerived, resource, &context);
            assert_eq!(
                matches!(decision, Decision::Allow(_)),
                reads,
                "{state:?} {resource:?}"
            );
        }
    }
    // A consent limited to some categories covers alerts of those records only, never the
    // patient as a whole.
    let doctor = actor(Role::Doctor);
    let (mut consents, _) = facts(State::Active, patient.user_id, doctor.user_id);
    consents[0].scope = ConsentScope::Categories {
        categories: BTreeSet::from([NOTE]),
    };
    let context = Context {
        purpose: Some(Purpose::Treatment),
        now: now(),
        consents: &consents,
        emergencies: &[],
    };
    assert!(matches!(
        decide(
            &doctor,
            Action::ReadDerived,
            record(patient.user_id),
            &context
        ),
        Decision::Allow(Basis::Consent(_))
    ));
    assert_eq!(
        decide(
            &doctor,
            Action::ReadDerived,
            Resource::Patient(patient.user_id),
            &context
        ),
        Decision::Deny(Denial::ConsentRequired)
    );
    // Looking for alerts at all: patients and doctors; never admins or researchers, who see
    // no patient's data either way.
    let bare = Context::bare(now());
    for (role, allowed) in [
        (Role::Patient, true),
        (Role::Doctor, true),
        (Role::Admin, false),
        (Role::Researcher, false),
    ] {
        let who = actor(role);
        assert_eq!(
            matches!(
                decide(&who, Action::ReadDerived, Resource::System, &bare),
                Decision::Allow(Basis::Role)
            ),
            allowed,
            "{role:?}"
        );
        let own = decide(
            &who,
            Action::ReadDerived,
            Resource::Patient(who.user_id),
            &bare,
        );
        assert_eq!(
            matches!(own, Decision::Allow(Basis::Owner)),
            role == Role::Patient,
            "{role:?}"
        );
    }
}

/// Who may exercise or execute the data-subject rights (PIPL Art. 45–47), stated
/// independently of `decide`: (action, role, own data?, consent state) → allowed.
fn rights_expected(action: Action, role: Role, own: bool, state: State) -> bool {
    match action {
        Action::EraseRecord | Action::EraseAccount => {
            (role == Role::Patient && own) || role == Role::Admin
        }
        Action::SetLegalHold | Action::RunRetention => role == Role::Admin,
        Action::RequestCorrection | Action::ExportData => role == Role::Patient && own,
        // Deciding a correction writes the record: write consent for treatment only, never
        // an emergency grant, never the patient themself.
        Action::DecideCorrection => role == Role::Doctor && state == State::ActiveWithWrite,
        _ => false,
    }
}

#[test]
fn data_subject_rights_matrix() {
    let patient = actor(Role::Patient);
    let actions = [
        Action::EraseRecord,
        Action::EraseAccount,
        Action::SetLegalHold,
        Action::RunRetention,
        Action::RequestCorrection,
        Action::ExportData,
        Action::DecideCorrection,
    ];
    let mut cases = 0;
    for role in Role::ALL {
        for own in [false, true] {
            let who = if own && role == Role::Patient {
                patient.clone()
            } else {
                actor(role)
            };
            for action in actions {
                for state in STATES {
                    let (consents, emergencies) = facts(state, patient.user_id, who.user_id);
                    let resource = match action {
                        Action::EraseAccount | Action::ExportData => {
                            Resource::Patient(patient.user_id)
                        }
                        Action::RunRetention => Resource::System,
                        _ => record(patient.user_id),
                    };
                    let context = Context {
                        purpose: Some(Purpose::Treatment),
                        now: now(),
                        consents: &consents,
                        emergencies: &emergencies,
                    };
                    let decision = decide(&who, action, resource, &context);
                    let own_data = own && role == Role::Patient;
                    assert_eq!(
                        matches!(decision, Decision::Allow(_)),
                        rights_expected(action, role, own_data, state),
                        "{role:?} own={own} {action:?} {state:?}: {decision:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 4 * 2 * 7 * STATES.len());
    // A doctor's erasure or a researcher's export is never allowed, whatever the consent.
    let doctor = actor(Role::Doctor);
    let (consents, emergencies) = facts(State::ActiveWithWrite, patient.user_id, doctor.user_id);
    let context = Context {
        purpose: Some(Purpose::Treatment),
        now: now(),
        consents: &consents,
        emergencies: &emergencies,
    };
    assert_eq!(
        decide(
            &doctor,
            Action::EraseRecord,
            record(patient.user_id),
            &context
        ),
        Decision::Deny(Denial::Forbidden)
    );
}

/// Research: an independent statement of who may do what, over every role, project owner
/// and approval state; research actions on records or patients are never allowed to
/// anyone but the patient's own profile and consent.
#[test]
fn research_actions_follow_their_own_matrix() {
    let context = Context::bare(now());
    let research_actions = [
        Action::ProposeResearch,
        Action::DecideResearch,
        Action::ReadResearchProject,
        Action::QueryCohort,
        Action::ExportResearch,
    ];
    for role in Role::ALL {
        let me = actor(role);
        let someone = UserId(Uuid::new_v4());
        for own in [true, false] {
            for approved in [true, false] {
                let owner = if own { me.user_id } else { someone };
                let project = Resource::ResearchProject { owner, approved };
                for action in research_actions {
                    let expected = match action {
                        Action::ReadResearchProject => {
                            role == Role::Admin || (role == Role::Researcher && own)
                        }
                        Action::QueryCohort | Action::ExportResearch => {
                            role == Role::Researcher && own && approved
                        }
                        _ => false,
                    };
                    let allowed =
                        matches!(decide(&me, action, project, &context), Decision::Allow(_));
                    assert_eq!(
                        allowed, expected,
                        "{role:?} {action:?} own={own} approved={approved}"
                    );
                }
            }
        }
        let system = |action| {
            matches!(
                decide(&me, action, Resource::System, &context),
                Decision::Allow(_)
            )
        };
        assert_eq!(system(Action::ProposeResearch), role == Role::Researcher);
        assert_eq!(system(Action::DecideResearch), role == Role::Admin);
        for action in [
            Action::ManageProfile,
            Action::ManageResearchConsent,
            Action::ListResearchParticipation,
        ] {
            let mine = matches!(
                decide(&me, action, Resource::Patient(me.user_id), &context),
                Decision::Allow(_)
            );
            assert_eq!(mine, role == Role::Patient, "{role:?} {action:?}");
            assert!(matches!(
                decide(&me, action, Resource::Patient(someone), &context),
                Decision::Deny(_)
            ));
        }
        // A research project never opens a record or a patient's data.
        for action in [
            Action::ReadRecord,
            Action::ListRecords,
            Action::ReadDerived,
            Action::ExportData,
        ] {
            let project = Resource::ResearchProject {
                owner: me.user_id,
                approved: true,
            };
            assert!(matches!(
                decide(&me, action, project, &context),
                Decision::Deny(_)
            ));
        }
    }
}
