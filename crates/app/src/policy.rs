//! The one access-decision function. Every use case asks [`decide`] before it touches data,
//! and anything not explicitly allowed here is denied (DESIGN.md §3.1).
//!
//! `decide` is pure: the caller loads the facts it needs (the consents and emergency grants
//! between the actor and the patient) and passes them in with the time.

use meditrustal_domain::{
    ConsentGrant, ConsentScope, Did, EmergencyGrant, Purpose, RecordCategory, RecordId, Role,
    UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// An authenticated, active user acting now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
    pub did: Did,
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read one's own account (`/me`).
    ReadAccount,
    /// See accounts of other people (admin list).
    ListAccounts,
    /// Approve, suspend or reactivate an account.
    ChangeAccountStatus,
    /// See whether the system's parts answer and how far the ledger and chain are.
    ViewSystemStatus,
    /// Add a record for a patient.
    CreateRecord,
    /// Read a record's content (or metadata and proof).
    ReadRecord,
    /// Add a new version of a record.
    UpdateRecord,
    /// List a patient's records.
    ListRecords,
    /// Grant, list or revoke the patient's consents; decide their access requests.
    ManageConsents,
    /// See one's own consents and access requests (given as a patient, received or made as
    /// a doctor).
    ListOwnConsents,
    /// Ask a patient for access.
    RequestAccess,
    /// Declare an emergency and take time-limited read access.
    DeclareEmergency,
    /// Read audit events (of the resource: a patient's data, one's own actions, or all).
    ReadAudit,
    /// Compute a clinical score from inputs the actor supplies (no patient data involved).
    ComputeScore,
    /// Analyse or de-identify text the actor supplies (nothing is read or stored).
    AnalyzeText,
    /// Read what the platform derived from a patient's records: early-warning alerts and
    /// risk scores. On [`Resource::System`]: whether the actor may look for alerts at all.
    /// On a record: like reading that record. On a patient: needs a consent (for the
    /// purpose) whose scope is every record, since derived data mixes records.
    ReadDerived,
    /// Erase a record by destroying its data keys (PIPL Art. 47).
    EraseRecord,
    /// Erase a patient's account and every record of it (PIPL Art. 47).
    EraseAccount,
    /// Set or clear a legal hold on a record (it must then be kept).
    SetLegalHold,
    /// Ask for a record to be corrected (PIPL Art. 46).
    RequestCorrection,
    /// Accept or reject a correction request.
    DecideCorrection,
    /// Export (and download) a copy of all one's own data (PIPL Art. 45).
    ExportData,
    /// Erase every record past its category's retention period.
    RunRetention,
    /// Read or change one's own demographic profile.
    ManageProfile,
    /// Opt in to or out of research, per purpose and data category.
    ManageResearchConsent,
    /// See which research exports held one's data.
    ListResearchParticipation,
    /// Propose a research project.
    ProposeResearch,
    /// Approve or reject a research project.
    DecideResearch,
    /// See a research project and its exports.
    ReadResearchProject,
    /// Count a cohort of consenting patients (small counts suppressed).
    QueryCohort,
    /// Export de-identified, k-anonymous data of consenting patients (and download it).
    ExportResearch,
}

/// What the action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The platform as a whole (user directory, whole audit trail).
    System,
    Account(UserId),
    /// A patient's data as a whole (listing, consents, requests, audit).
    Patient(UserId),
    /// One existing record.
    Record {
        patient: UserId,
        id: RecordId,
        category: RecordCategory,
    },
    /// A record about to be created.
    NewRecord {
        patient: UserId,
        category: RecordCategory,
    },
    /// A research project, its cohort and its exports.
    ResearchProject {
        owner: UserId,
        approved: bool,
    },
}

/// Everything besides actor, action and resource that a decision may depend on.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub purpose: Option<Purpose>,
    pub now: OffsetDateTime,
    /// Consents between the resource's patient and the actor.
    pub consents: &'a [ConsentGrant],
    /// Emergency grants between the resource's patient and the actor.
    pub emergencies: &'a [EmergencyGrant],
}

impl Context<'_> {
    /// A context with no consent facts, for actions that never depend on them.
    pub fn bare(now: OffsetDateTime) -> Context<'static> {
        Context {
            purpose: None,
            now,
            consents: &[],
            emergencies: &[],
        }
    }
}

/// Why access was allowed; recorded on the ledger with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The patient acting on their own data.
    Owner,
    /// A role-level permission (admin tasks, a doctor asking for access).
    Role,
    Consent(Uuid),
    /// Break-glass access, flagged on the ledger.
    Emergency(Uuid),
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Owner => "owner",
            Basis::Role => "role",
            Basis::Consent(_) => "consent",
            Basis::Emergency(_) => "emergency",
        }
    }
}

/// Why access was denied; becomes the API's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No role could ever do this.
    Forbidden,
    /// A doctor without an active consent (or emergency) covering this record and purpose.
    ConsentRequired,
    /// The record is under a legal hold and may not be erased.
    LegalHold,
}

impl Denial {
    pub fn code(self) -> &'static str {
        match self {
            Denial::Forbidden => "FORBIDDEN",
            Denial::ConsentRequired => "CONSENT_REQUIRED",
            Denial::LegalHold => "LEGAL_HOLD",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow(Basis),
    Deny(Denial),
}

pub fn decide(
    actor: &Actor,
    action: Action,
    resource: Resource,
    context: &Context<'_>,
) -> Decision {
    use Action as A;
    use Resource as R;
    let me = actor.user_id;
    let allow_if = |ok: bool, basis: Basis| {
        if ok {
            Decision::Allow(basis)
        } else {
            Decision::Deny(Denial::Forbidden)
        }
    };
    match (action, resource) {
        (A::ReadAccount, R::Account(owner)) => allow_if(owner == me, Basis::Owner),
        (A::ListAccounts | A::ViewSystemStatus, R::System) => {
            allow_if(actor.role == Role::Admin, Basis::Role)
        }
        // An admin may not change their own status: a slip would lock the last admin out.
        (A::ChangeAccountStatus, R::Account(target)) => {
            allow_if(actor.role == Role::Admin && target != me, Basis::Role)
        }
        (A::ManageConsents, R::Patient(patient)) => {
            allow_if(actor.role == Role::Patient && patient == me, Basis::Owner)
        }
        (A::ListOwnConsents, R::Account(owner)) => allow_if(
            owner == me && matches!(actor.role, Role::Patient | Role::Doctor),
            Basis::Owner,
        ),
        (A::RequestAccess | A::DeclareEmergency, R::Patient(patient)) => {
            allow_if(actor.role == Role::Doctor && patient != me, Basis::Role)
        }
        (A::ReadAudit, R::Patient(patient)) => {
            allow_if(actor.role == Role::Patient && patient == me, Basis::Owner)
        }
        (A::ReadAudit, R::Account(owner)) => allow_if(owner == me, Basis::Owner),
        (A::ReadAudit, R::System) => allow_if(actor.role == Role::Admin, Basis::Role),
        (A::ComputeScore | A::AnalyzeText, R::System) => {
            allow_if(scoring_allowed(actor.role), Basis::Role)
        }
        (A::ReadDerived, R::System) => allow_if(
            matches!(actor.role, Role::Patient | Role::Doctor),
            Basis::Role,
        ),
        // Erasure: the patient themself, or an administrator executing a request whose
        // identity check was done outside the platform (the reason is required). Neither
        // reads any content.
        (A::EraseRecord, R::Record { patient, .. }) | (A::EraseAccount, R::Patient(patient)) => {
            match actor.role {
                Role::Patient if patient == me => Decision::Allow(Basis::Owner),
                Role::Admin => Decision::Allow(Basis::Role),
                Role::Patient | Role::Doctor | Role::Researcher => {
                    Decision::Deny(Denial::Forbidden)
                }
            }
        }
        (A::SetLegalHold, R::Record { .. }) => allow_if(actor.role == Role::Admin, Basis::Role),
        (A::RunRetention, R::System) => allow_if(actor.role == Role::Admin, Basis::Role),
        (A::ExportData, R::Patient(patient)) => {
            allow_if(actor.role == Role::Patient && patient == me, Basis::Owner)
        }
        (
            A::ManageProfile | A::ManageResearchConsent | A::ListResearchParticipation,
            R::Patient(patient),
        ) => allow_if(actor.role == Role::Patient && patient == me, Basis::Owner),
        (A::ProposeResearch, R::System) => allow_if(actor.role == Role::Researcher, Basis::Role),
        (A::DecideResearch, R::System) => allow_if(actor.role == Role::Admin, Basis::Role),
        (A::ReadResearchProject, R::ResearchProject { owner, .. }) => allow_if(
            actor.role == Role::Admin || (actor.role == Role::Researcher && owner == me),
            Basis::Role,
        ),
        // Researchers only ever get counts and de-identified, k-anonymous exports, and only
        // for their own approved project.
        (A::QueryCohort | A::ExportResearch, R::ResearchProject { owner, approved }) => allow_if(
            actor.role == Role::Researcher && owner == me && approved,
            Basis::Role,
        ),
        (A::RequestCorrection, R::Record { patient, .. }) => {
            allow_if(actor.role == Role::Patient && patient == me, Basis::Owner)
        }
        // Deciding a correction writes the record: a doctor under a consent that allows
        // writing it for treatment (patients edit their own records directly).
        (A::DecideCorrection, R::Record { .. }) if actor.role == Role::Doctor => {
            decide_clinical(actor, A::UpdateRecord, resource, context)
        }
        (
            A::CreateRecord | A::ReadRecord | A::UpdateRecord | A::ListRecords | A::ReadDerived,
            _,
        ) => decide_clinical(actor, action, resource, context),
        _ => Decision::Deny(Denial::Forbidden),
    }
}

/// Clinical content: the patient themself, or a doctor under consent or emergency. Admins
/// and researchers never see an identifiable record.
fn decide_clinical(
    actor: &Actor,
    action: Action,
    resource: Resource,
    context: &Context<'_>,
) -> Decision {
    let patient = match resource {
        Resource::Patient(p)
        | Resource::Record { patient: p, .. }
        | Resource::NewRecord { patient: p, .. } => p,
        Resource::System | Resource::Account(_) | Resource::ResearchProject { .. } => {
            return Decision::Deny(Denial::Forbidden);
        }
    };
    match actor.role {
        Role::Patient if patient == actor.user_id => Decision::Allow(Basis::Owner),
        Role::Doctor if patient != actor.user_id => doctor_access(actor, action, resource, context),
        _ => Decision::Deny(Denial::Forbidden),
    }
}

fn doctor_access(
    actor: &Actor,
    action: Action,
    resource: Resource,
    context: &Context<'_>,
) -> Decision {
    let now = context.now;
    let consents = || {
        context
            .consents
            .iter()
            .filter(move |c| c.grantee == actor.user_id && c.is_active(now))
    };
    let emergency = context
        .emergencies
        .iter()
        .find(|g| g.doctor == actor.user_id && g.is_active(now))
        .map(|g| Basis::Emergency(g.id));
    let for_purpose = |c: &&ConsentGrant| context.purpose.is_some_and(|p| c.purposes.contains(&p));
    let granted = match (action, resource) {
        (Action::ListRecords, Resource::Patient(_)) => consents()
            .next()
            .map(|c| Basis::Consent(c.id))
            .or(emergency),
        (Action::ReadRecord | Action::ReadDerived, Resource::Record { id, category, .. }) => {
            consents()
                .filter(for_purpose)
                .find(|c| c.scope.covers(id, category))
                .map(|c| Basis::Consent(c.id))
                .or(emergency)
        }
        (Action::ReadDerived, Resource::Patient(_)) => consents()
            .filter(for_purpose)
            .find(|c| c.scope == ConsentScope::All)
            .map(|c| Basis::Consent(c.id))
            .or(emergency),
        // Writing is for treatment only and never by emergency access.
        (Action::UpdateRecord, Resource::Record { id, category, .. }) => consents()
            .filter(|c| {
                c.allow_write && context.purpose == Some(Purpose::Treatment) && for_purpose(c)
            })
            .find(|c| c.scope.covers(id, category))
            .map(|c| Basis::Consent(c.id)),
        (Action::CreateRecord, Resource::NewRecord { category, .. }) => consents()
            .filter(|c| {
                c.allow_write && context.purpose == Some(Purpose::Treatment) && for_purpose(c)
            })
            .find(|c| c.scope.covers_new_records_of(category))
            .map(|c| Basis::Consent(c.id)),
        _ => return Decision::Deny(Denial::Forbidden),
    };
    granted.map_or(Decision::Deny(Denial::ConsentRequired), Decision::Allow)
}

/// A calculator holds no patient data, so every role may use it; listing each role keeps a
/// future role from being allowed by default.
fn scoring_allowed(role: Role) -> bool {
    match role {
        Role::Patient | Role::Doctor | Role::Researcher | Role::Admin => true,
    }
}

#[cfg(test)]
mod tests;
