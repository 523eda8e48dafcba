//! Clinical text analysis use cases. Like scoring, this is a calculator over text the caller
//! sends: nothing is read from or written to patient data, so any active user may use it; the
//! decision still goes through [`policy::decide`](crate::policy::decide) so that default deny
//! holds. The text is never logged.
//!
//! One [`Engine`] (about 0.3 s to build) is shared by every clone of [`App`]; it is built on
//! first use or by [`App::warm_nlp`] at start-up, always on a blocking thread, and analysis
//! runs on blocking threads too.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use meditrustal_domain::ValidationError;
use meditrustal_nlp::deid::{Strategy, deidentify};
use meditrustal_nlp::summary::{Summary, summarize};
use meditrustal_nlp::{Analysis, Engine, PhiType};
use serde::Serialize;

use crate::accounts::authorize;
use crate::activity::{Activity, TextSource};
use crate::policy::{Action, Actor, Resource};
use crate::random::random_bytes;
use crate::{App, AppError};

/// The longest text the analysis use cases accept, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// The shared engine, built at most once per process.
#[derive(Default)]
pub(crate) struct NlpEngine(OnceLock<Result<Engine, String>>);

impl NlpEngine {
    /// Blocks while the engine is built the first time.
    pub(crate) fn get(&self) -> Result<&Engine, AppError> {
        self.0
            .get_or_init(|| Engine::new().map_err(|err| err.to_string()))
            .as_ref()
            .map_err(|err| AppError::internal(format!("nlp engine: {err}")))
    }

    /// Analyses `text` and reports its size and the time taken (not the wait for the engine).
    pub(crate) fn analyze(
        &self,
        text: &str,
        source: TextSource,
        activity: &Activity,
    ) -> Result<Analysis, AppError> {
        let engine = self.get()?;
        let started = Instant::now();
        let analysis = engine.analyze(text);
        activity.text_analysed(source, text.len(), started.elapsed());
        Ok(analysis)
    }
}

/// How [`App::deidentify_text`] replaces PHI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeidStrategy {
    /// `＊` for every character.
    Mask,
    /// The type tag, e.g. `[NAME]`.
    Tag,
    /// Realistic fake values, consistent within the request.
    Surrogate,
    /// Dates moved by a number of days (intervals kept); other PHI gets surrogates.
    DateShift { days: i32 },
}

/// One replaced span: where it was in the original text and what it was, never its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedPhi {
    pub start: usize,
    pub end: usize,
    #[serde(rename = "type")]
    pub kind: PhiType,
}

/// De-identified text and the detected spans it no longer contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deidentified {
    pub text: String,
    pub removed: Vec<RemovedPhi>,
}

impl App {
    /// Builds the shared NLP engine now (on a blocking thread) so that the first request
    /// does not wait for it.
    pub async fn warm_nlp(&self) -> Result<(), AppError> {
        let engine = Arc::clone(&self.nlp);
        blocking(move || engine.get().map(|_| ())).await
    }

    /// Sections, entities with assertions and ICD-10 codes, measurements and PHI of `text`.
    pub async fn analyze_text(&self, actor: &Actor, text: String) -> Result<Analysis, AppError> {
        self.authorize_text(actor, &text)?;
        let (engine, activity) = (Arc::clone(&self.nlp), Arc::clone(&self.activity));
        blocking(move || engine.analyze(&text, TextSource::Request, &activity)).await
    }

    /// `text` with every detected PHI string replaced. Surrogates and date shifts use a
    /// random key per request, so they are consistent within one answer only.
    pub async fn deidentify_text(
        &self,
        actor: &Actor,
        text: String,
        strategy: DeidStrategy,
    ) -> Result<Deidentified, AppError> {
        self.authorize_text(actor, &text)?;
        let strategy = match strategy {
            DeidStrategy::Mask => Strategy::Mask,
            DeidStrategy::Tag => Strategy::Tag,
            DeidStrategy::Surrogate => Strategy::Surrogate {
                key: random_bytes::<32>()?.to_vec(),
            },
            DeidStrategy::DateShift { days } => Strategy::DateShift {
                days: i64::from(days),
                key: random_bytes::<32>()?.to_vec(),
            },
        };
        let (engine, activity) = (Arc::clone(&self.nlp), Arc::clone(&self.activity));
        blocking(move || {
            let analysis = engine.analyze(&text, TextSource::Request, &activity)?;
            let clean = deidentify(&text, &analysis.phi, &strategy)
                .map_err(|err| AppError::internal(format!("deidentify: {err}")))?;
            let removed = analysis
                .phi
                .iter()
                .filter(|p| p.must_remove())
                .map(|p| RemovedPhi {
                    start: p.start,
                    end: p.end,
                    kind: p.kind,
                })
                .collect();
            Ok(Deidentified {
                text: clean,
                removed,
            })
        })
        .await
    }

    /// The extractive summary of `text`: chief complaint, active problems with codes,
    /// pertinent negatives, medications, latest vitals and plan.
    pub async fn summarize_text(&self, actor: &Actor, text: String) -> Result<Summary, AppError> {
        self.authorize_text(actor, &text)?;
        let (engine, activity) = (Arc::clone(&self.nlp), Arc::clone(&self.activity));
        blocking(move || {
            let analysis = engine.analyze(&text, TextSource::Request, &activity)?;
            Ok(summarize(&text, &analysis))
        })
        .await
    }

    fn authorize_text(&self, actor: &Actor, text: &str) -> Result<(), AppError> {
        authorize(
            actor,
            Action::AnalyzeText,
            Resource::System,
            self.clock.now(),
        )?;
        if text.len() > MAX_TEXT_BYTES {
            return Err(
                ValidationError::new("text", "TEXT_TOO_LARGE", "text is limited to 1 MiB").into(),
            );
        }
        Ok(())
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| AppError::internal(format!("nlp task: {err}")))?
}
