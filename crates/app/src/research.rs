//! Research access, part one: a patient's demographic profile, research projects (a
//! researcher proposes, an administrator approves or rejects) and patients' research
//! consent (per purpose and data category, default out). Every step is on the ledger.
//! Cohort counts are in `research_cohort.rs`, exports in `research_export.rs`; the privacy
//! model is explained in docs/research-privacy.md.

use meditrustal_domain::{
    DataCategory, PatientProfile, RegionCode, ResearchPurpose, Sex, UserId, ValidationError,
};
use meditrustal_store::{
    ProjectStatus, ResearchConsent, ResearchParticipation, ResearchProject, ResearchWrite, Write,
};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::events::{AuditEvent, Outcome};
use crate::policy::{self, Action, Actor, Basis, Context, Decision, Resource};
use crate::random::random_bytes;
use crate::{App, AppError};

/// What a patient submits as their profile.
#[derive(Debug, Clone)]
pub struct ProfileInput {
    pub sex: String,
    pub birth_date: Date,
    pub region: String,
    pub name: Option<String>,
}

/// A research project as submitted by a researcher.
#[derive(Debug, Clone)]
pub struct ProjectInput {
    pub title: String,
    pub purpose: String,
    pub description: String,
    pub ethics_approval: String,
    pub categories: Vec<String>,
    pub period_start: Date,
    pub period_end: Date,
}

/// One research-consent choice as submitted.
#[derive(Debug, Clone)]
pub struct ResearchConsentInput {
    pub purpose: String,
    pub category: String,
    pub opted_in: bool,
}

/// The project key, sealed in the vault; everything keyed per project derives from it.
#[derive(Serialize, Deserialize)]
struct ProjectSecret {
    key: String,
}

pub(crate) fn profile_binding(patient: UserId) -> String {
    format!("profile/{patient}")
}

fn project_binding(id: Uuid) -> String {
    format!("research-project/{id}")
}

fn text_field(field: &'static str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "INVALID_TEXT",
            format!("{field} must be 1-{max} characters without control characters"),
        ));
    }
    Ok(value.to_owned())
}

impl App {
    /// Decides a research action; a denial is on the ledger before it is returned.
    pub(crate) async fn decide_research(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        project: Option<Uuid>,
    ) -> Result<Basis, AppError> {
        let now = self.clock.now();
        match policy::decide(actor, action, resource, &Context::bare(now)) {
            Decision::Allow(basis) => Ok(basis),
            Decision::Deny(denial) => {
                let mut event =
                    AuditEvent::new("access.denied", now, actor, Outcome::Denied(denial));
                if let Some(project) = project {
                    event = event.project(project);
                }
                self.commit(vec![], vec![event]).await?;
                tracing::info!(actor = %actor.user_id, ?action, "research access denied");
                Err(AppError::Forbidden)
            }
        }
    }

    /// The caller's own profile (patients), or `None` before they set one; audited.
    pub async fn my_profile(&self, actor: &Actor) -> Result<Option<PatientProfile>, AppError> {
        let me = actor.user_id;
        let basis = self
            .decide_research(actor, Action::ManageProfile, Resource::Patient(me), None)
            .await?;
        let profile = self.profile_of(me).await?;
        let event = AuditEvent::new(
            "profile.read",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(me, actor.did.clone());
        self.commit(vec![], vec![event]).await?;
        Ok(profile)
    }

    /// Sets the caller's profile (patients); sealed like clinical data, audited.
    pub async fn set_my_profile(
        &self,
        actor: &Actor,
        input: ProfileInput,
    ) -> Result<PatientProfile, AppError> {
        let me = actor.user_id;
        let basis = self
            .decide_research(actor, Action::ManageProfile, Resource::Patient(me), None)
            .await?;
        let now = self.clock.now();
        let profile = PatientProfile::parse(
            Sex::parse(&input.sex)?,
            input.birth_date,
            RegionCode::parse(&input.region)?,
            input.name,
            now.date(),
        )?;
        let sealed = self.seal_json(&profile, &profile_binding(me), me)?;
        let event = AuditEvent::new("profile.updated", now, actor, Outcome::Allowed(basis))
            .patient(me, actor.did.clone());
        let write = Write::Research(ResearchWrite::UpsertProfile {
            patient: me,
            sealed,
            at: now,
        });
        self.commit(vec![write], vec![event]).await?;
        Ok(profile)
    }

    /// A patient's profile, opened without a policy check (callers decide first).
    pub(crate) async fn profile_of(
        &self,
        patient: UserId,
    ) -> Result<Option<PatientProfile>, AppError> {
        match self.store.patient_profile(patient).await? {
            Some((sealed, _)) => Ok(Some(self.open_json(
                &sealed,
                &profile_binding(patient),
                patient,
            )?)),
            None => Ok(None),
        }
    }

    /// The caller's current research-consent choices (patients). A purpose and category
    /// not listed is opted out.
    pub async fn my_research_consents(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ResearchConsent>, AppError> {
        let me = actor.user_id;
        self.decide_research(
            actor,
            Action::ManageResearchConsent,
            Resource::Patient(me),
            None,
        )
        .await?;
        Ok(self.store.research_consents(Some(me), None).await?)
    }

    /// Opts the caller in to or out of research for one purpose and data category. It takes
    /// effect at once: counts and exports read consent when they run, and an export that
    /// read it before the change is rebuilt before it can finish.
    pub async fn set_research_consent(
        &self,
        actor: &Actor,
        input: ResearchConsentInput,
    ) -> Result<ResearchConsent, AppError> {
        let me = actor.user_id;
        let basis = self
            .decide_research(
                actor,
                Action::ManageResearchConsent,
                Resource::Patient(me),
                None,
            )
            .await?;
        let consent = ResearchConsent {
            patient: me,
            purpose: ResearchPurpose::parse(&input.purpose)?,
            category: DataCategory::parse(&input.category)?,
            opted_in: input.opted_in,
            changed_at: self.clock.now(),
        };
        let kind = if consent.opted_in {
            "research.consent_given"
        } else {
            "research.consent_withdrawn"
        };
        let event = AuditEvent::new(kind, consent.changed_at, actor, Outcome::Allowed(basis))
            .patient(me, actor.did.clone())
            .purpose(Some(meditrustal_domain::Purpose::Research));
        self.commit(
            vec![Write::Research(ResearchWrite::InsertConsent(
                consent.clone(),
            ))],
            vec![event],
        )
        .await?;
        Ok(consent)
    }

    /// The research exports that held the caller's data (patients): project, researcher's
    /// DID, date and the file's hash.
    pub async fn my_research_participation(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ResearchParticipation>, AppError> {
        let me = actor.user_id;
        self.decide_research(
            actor,
            Action::ListResearchParticipation,
            Resource::Patient(me),
            None,
        )
        .await?;
        Ok(self.store.research_participation(me).await?)
    }

    /// Proposes a research project (researchers); it waits for an administrator.
    pub async fn propose_research_project(
        &self,
        actor: &Actor,
        input: ProjectInput,
    ) -> Result<ResearchProject, AppError> {
        let basis = self
            .decide_research(actor, Action::ProposeResearch, Resource::System, None)
            .await?;
        let mut categories = input
            .categories
            .iter()
            .map(|c| DataCategory::parse(c))
            .collect::<Result<Vec<_>, _>>()?;
        categories.sort();
        categories.dedup();
        if categories.is_empty() {
            return Err(ValidationError::new(
                "categories",
                "INVALID_DATA_CATEGORY",
                "name at least one data category",
            )
            .into());
        }
        if input.period_start > input.period_end {
            return Err(ValidationError::new(
                "period_end",
                "INVALID_PERIOD",
                "period_end must not be before period_start",
            )
            .into());
        }
        let id = Uuid::now_v7();
        let secret = ProjectSecret {
            key: hex::encode(random_bytes::<32>()?),
        };
        let now = self.clock.now();
        let project = ResearchProject {
            id,
            researcher: actor.user_id,
            title: text_field("title", &input.title, 200)?,
            purpose: ResearchPurpose::parse(&input.purpose)?,
            description: text_field("description", &input.description, 2000)?,
            ethics_approval: text_field("ethics_approval", &input.ethics_approval, 100)?,
            categories,
            period_start: input.period_start,
            period_end: input.period_end,
            status: ProjectStatus::Pending,
            secret: self.seal_json(&secret, &project_binding(id), actor.user_id)?,
            queries_used: 0,
            decided_by: None,
            decision_reason: None,
            created_at: now,
            decided_at: None,
        };
        let event = AuditEvent::new(
            "research.project_proposed",
            now,
            actor,
            Outcome::Allowed(basis),
        )
        .project(id)
        .purpose(Some(meditrustal_domain::Purpose::Research));
        self.commit(
            vec![Write::Research(ResearchWrite::InsertProject(
                project.clone(),
            ))],
            vec![event],
        )
        .await?;
        Ok(project)
    }

    /// Approves or rejects a pending project (administrators).
    pub async fn decide_research_project(
        &self,
        actor: &Actor,
        id: Uuid,
        approve: bool,
        reason: Option<String>,
    ) -> Result<ResearchProject, AppError> {
        let basis = self
            .decide_research(actor, Action::DecideResearch, Resource::System, Some(id))
            .await?;
        let mut project = self
            .store
            .research_project(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "research project",
            })?;
        if project.status != ProjectStatus::Pending {
            return Err(AppError::StateConflict(format!(
                "the project is already {}",
                project.status.as_str()
            )));
        }
        let reason = reason.map(|r| text_field("reason", &r, 500)).transpose()?;
        let now = self.clock.now();
        let status = if approve {
            ProjectStatus::Approved
        } else {
            ProjectStatus::Rejected
        };
        let kind = if approve {
            "research.project_approved"
        } else {
            "research.project_rejected"
        };
        let event = AuditEvent::new(kind, now, actor, Outcome::Allowed(basis)).project(id);
        let write = Write::Research(ResearchWrite::DecideProject {
            id,
            status,
            decided_by: actor.user_id,
            reason: reason.clone(),
            at: now,
        });
        self.commit(vec![write], vec![event]).await?;
        project.status = status;
        project.decided_by = Some(actor.user_id);
        project.decision_reason = reason;
        project.decided_at = Some(now);
        Ok(project)
    }

    /// One project: its researcher or an administrator.
    pub async fn research_project(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ResearchProject, AppError> {
        let project = self
            .project_for(actor, id, Action::ReadResearchProject)
            .await?;
        Ok(project)
    }

    /// The caller's projects (researchers), or every project (administrators).
    pub async fn research_projects(&self, actor: &Actor) -> Result<Vec<ResearchProject>, AppError> {
        let researcher = match actor.role {
            meditrustal_domain::Role::Admin => None,
            meditrustal_domain::Role::Researcher => Some(actor.user_id),
            meditrustal_domain::Role::Patient | meditrustal_domain::Role::Doctor => {
                self.decide_research(actor, Action::ReadResearchProject, Resource::System, None)
                    .await?;
                return Err(AppError::Forbidden);
            }
        };
        Ok(self.store.research_projects(researcher).await?)
    }

    /// Loads a project and decides `action` on it. Someone who may not even read it gets
    /// 404, so project ids cannot be probed.
    pub(crate) async fn project_for(
        &self,
        actor: &Actor,
        id: Uuid,
        action: Action,
    ) -> Result<ResearchProject, AppError> {
        let project = self
            .store
            .research_project(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "research project",
            })?;
        let resource = Resource::ResearchProject {
            owner: project.researcher,
            approved: project.status == ProjectStatus::Approved,
        };
        let readable = matches!(
            policy::decide(
                actor,
                Action::ReadResearchProject,
                resource,
                &Context::bare(self.clock.now())
            ),
            Decision::Allow(_)
        );
        if !readable {
            self.decide_research(actor, Action::ReadResearchProject, resource, Some(id))
                .await
                .ok();
            return Err(AppError::NotFound {
                what: "research project",
            });
        }
        self.decide_research(actor, action, resource, Some(id))
            .await?;
        Ok(project)
    }

    /// The project's 32-byte key.
    pub(crate) fn project_key(&self, project: &ResearchProject) -> Result<Vec<u8>, AppError> {
        let secret: ProjectSecret = self.open_json(
            &project.secret,
            &project_binding(project.id),
            project.researcher,
        )?;
        hex::decode(secret.key)
            .map_err(|err| AppError::Integrity(format!("research project {}: {err}", project.id)))
    }
}
