//! Clinical decision support use cases. Scoring is a calculator: the inputs come from the
//! caller and nothing is read from or written to patient data, so any active user may use
//! it; the decision still goes through [`policy::decide`] so that default deny holds.

use meditrustal_clinical::{SCORE_CATALOGUE, ScoreInfo, ScoreResult};
use serde_json::Value;

use crate::accounts::authorize;
use crate::policy::{Action, Actor, Resource};
use crate::{App, AppError};

impl App {
    /// Computes the published score `name` from a JSON object of inputs (names of
    /// `clinical-references.md` §10).
    pub fn compute_score(
        &self,
        actor: &Actor,
        name: &str,
        input: &Value,
    ) -> Result<ScoreResult, AppError> {
        authorize(
            actor,
            Action::ComputeScore,
            Resource::System,
            self.clock.now(),
        )?;
        Ok(meditrustal_clinical::score(name, input)?)
    }

    /// The scores [`App::compute_score`] knows, with one-line descriptions.
    pub fn list_scores(&self, actor: &Actor) -> Result<&'static [ScoreInfo], AppError> {
        authorize(
            actor,
            Action::ComputeScore,
            Resource::System,
            self.clock.now(),
        )?;
        Ok(&SCORE_CATALOGUE)
    }
}
