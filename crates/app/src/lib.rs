//! MediTrustAl's use cases. This is the only crate that orchestrates the store (and, as they
//! land, the vault and the ledger) under the access policy. Adapters (HTTP, CLI) call
//! [`App`]'s methods and map [`AppError`] to their own error formats.

mod access;
mod accounts;
mod activity;
mod audit;
mod cdss;
mod chain;
mod clock;
mod consents;
mod corrections;
mod derived;
mod early_warning;
mod erasure;
mod error;
mod events;
mod exports;
mod fhir;
mod fhir_bundle;
mod fhir_nlp;
mod fhir_platform;
mod fhir_tokens;
mod gc;
mod k_anonymity;
mod keyed_digest;
mod keys;
mod models;
mod nlp;
mod passwords;
mod patient_dids;
pub mod policy;
mod progress;
mod random;
mod record_nlp;
mod records;
mod research;
mod research_cohort;
mod research_export;
mod retention;
mod risk;
mod system_status;
mod throttle;
mod tokens;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use meditrustal_ledger::SigningKey;
use meditrustal_store::Store;
use meditrustal_vault::Vault;

pub use accounts::{LoginRequest, Registration, Session, UserFilter, parse_user_id};
pub use activity::{ActivityObserver, TextSource};
pub use audit::AuditEntry;
pub use chain::{ChainDivergence, ChainLink, ChainMode, ChainStatus, ChainSync, purpose_bits};
pub use clock::{Clock, SystemClock};
pub use consents::{AccessRequestInput, ConsentInput, EMERGENCY_ACCESS};
pub use corrections::{CorrectionDecision, CorrectionInput};
pub use derived::VITAL_SIGNS_JSON;
pub use early_warning::{AlertView, WINDOW_HOURS};
pub use erasure::{ErasureBasis, ErasureOutcome};
pub use error::AppError;
pub use exports::{EXPORT_FORMAT, ExportArchive};
pub use fhir::{FhirError, FhirPage, FhirResource, patient_resource};
pub use fhir_bundle::{EntryRequest, MAX_TRANSACTION_ENTRIES, at_entry, entry_request};
pub use gc::{GcOptions, GcReport};
pub use k_anonymity::{GeneralisationReport, Generalised};
pub use keys::{DerivedRewrapReport, RewrapReport};
pub use meditrustal_chain as chain_client;
pub use meditrustal_clinical::{ScoreError, ScoreInfo, ScoreResult};
pub use meditrustal_domain::ValidationError;
pub use meditrustal_fhir as fhir_model;
pub use meditrustal_nlp::summary::Summary as TextSummary;
pub use meditrustal_nlp::{Analysis, PhiType};
pub use models::ModelDeployment;
pub use nlp::{DeidStrategy, Deidentified, MAX_TEXT_BYTES, RemovedPhi};
pub use policy::Actor;
pub use progress::{NoProgress, ScanPhase, VerifyProgress};
pub use record_nlp::RecordAnalysis;
pub use records::{RecordContent, RecordProof, RecordUpload, content_commitment};
pub use research::{ProfileInput, ProjectInput, ResearchConsentInput};
pub use research_cohort::{CohortCount, CohortCriteria, MIN_CELL, ObservationRange, QUERY_BUDGET};
pub use research_export::{CSV_COLUMNS, DEFAULT_K, ResearchFile, ResearchFormat};
pub use retention::{RetentionDue, RetentionPolicy, RetentionReport};
pub use risk::{PatientRisk, UncomputedScore};
pub use system_status::SystemStatus;
pub use throttle::ThrottleLimits;
pub use tokens::{AccessClaims, JwtSecret};
pub use verify::{VerifyProblem, VerifyReport};

/// Settings of the account use cases.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Lifetime of an access token; capped at 15 minutes.
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub throttle: ThrottleLimits,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            access_token_ttl: tokens::MAX_ACCESS_TTL,
            refresh_token_ttl: Duration::from_secs(14 * 24 * 3600),
            throttle: ThrottleLimits::default(),
        }
    }
}

/// The application: shared, cheap to clone, one per process.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tokens: Arc<tokens::TokenIssuer>,
    passwords: Arc<passwords::PasswordHasher>,
    throttle: Arc<throttle::LoginThrottle>,
    refresh_token_ttl: Duration,
    vault: Arc<Vault>,
    ledger_key: Arc<SigningKey>,
    /// The clinical NLP engine, shared by every clone and built once.
    nlp: Arc<nlp::NlpEngine>,
    /// Newly raised early-warning alerts, for the server-sent-event subscribers.
    alerts: tokio::sync::broadcast::Sender<Arc<early_warning::Raised>>,
    /// Set when the server shuts down, so that alert streams end and shutdown can finish.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The EVM chain the ledger is anchored (or mirrored) on, when configured.
    chain: Option<Arc<chain::ChainLink>>,
    /// Where alerts raised and texts analysed are reported (metrics), once installed.
    activity: Arc<activity::Activity>,
    patient_dids: Arc<patient_dids::PatientDids>,
    /// Hashes FHIR index tokens; its key is read from the database on first use.
    fhir_tokens: Arc<tokio::sync::OnceCell<fhir_tokens::TokenHasher>>,
}

/// What an [`App`] is built from; the binary (or a test) opens each part.
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub jwt_secret: JwtSecret,
    pub auth: AuthSettings,
    pub vault: Vault,
    /// Signs the ledger's tree heads (`<data-dir>/keys/ledger.ed25519`).
    pub ledger_key: SigningKey,
}

impl App {
    pub fn new(parts: AppParts) -> App {
        let settings = &parts.auth;
        App {
            store: parts.store,
            clock: parts.clock,
            tokens: Arc::new(tokens::TokenIssuer::new(
                &parts.jwt_secret,
                settings.access_token_ttl,
            )),
            passwords: Arc::new(passwords::PasswordHasher::new()),
            throttle: Arc::new(throttle::LoginThrottle::new(
                settings.throttle,
                parts.jwt_secret.derive("meditrustal login throttle"),
            )),
            refresh_token_ttl: settings.refresh_token_ttl,
            vault: Arc::new(parts.vault),
            ledger_key: Arc::new(parts.ledger_key),
            nlp: Arc::default(),
            alerts: early_warning::channel(),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            chain: None,
            activity: Arc::default(),
            patient_dids: Arc::default(),
            fhir_tokens: Arc::default(),
        }
    }

    /// Reports alerts raised and texts analysed to `observer`, from this `App` and every
    /// clone of it. Only the first observer is kept; `false` if one was already installed.
    pub fn report_activity_to(&self, observer: Arc<dyn ActivityObserver>) -> bool {
        self.activity.install(observer)
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Ends every open alert stream (call when shutting down: an open stream would keep
    /// a graceful shutdown waiting for its client forever).
    pub fn end_alert_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Forgets throttling state of clients that have been quiet; call periodically.
    pub async fn prune_throttle(&self) -> Result<u64, AppError> {
        self.throttle
            .prune(self.store.as_ref(), self.clock.now())
            .await
    }
}
