//! Clinical scores, early-warning rules and explainable logistic models for MediTrustAl.
//!
//! The crate is pure: no I/O, no clock, no global randomness (time and random number
//! generators are parameters). Its job is to compute published clinical scores exactly
//! as `shared/clinical-references.md` defines them and to explain every result.
//!
//! Invariants:
//! - A missing input is never scored as normal: additive scores return `total: None`,
//!   the missing field names, a `partial_total` and the still-possible range; a band is
//!   stated while incomplete only if every completion gives that band.
//! - Physiologically impossible values, strings for numbers, unknown or conflicting
//!   fields are errors that name the field ([`ScoreError`]); nothing panics on input.
//! - Inputs are rounded half-up to the precision the source table is printed in before
//!   banding; continuous equations use unrounded inputs.
//! - Every result carries its components (the explanation) and the source citation.
//!
//! Entry points: [`score`] (name + JSON, for the API and CLI), the typed functions in
//! [`scores`], [`alerts::evaluate`] for early warning from observations, and
//! [`regression`] for logistic models with exact linear Shapley contributions.
//!
//! ```
//! use meditrustal_clinical::score;
//! use serde_json::json;
//!
//! // 体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊 (SpO2 not recorded)
//! let news2 = score("news2", &json!({
//!     "temp_c": 38.9, "pulse_bpm": 118, "resp_rate": 26, "sbp_mmhg": 88, "consciousness": "C"
//! }))?;
//! assert_eq!(news2.total, None); // incomplete: SpO2 and air/oxygen missing
//! assert_eq!(news2.partial_total, Some(12.0));
//! assert_eq!(news2.band.as_deref(), Some("high")); // whatever the missing values are
//! # Ok::<(), meditrustal_clinical::ScoreError>(())
//! ```

pub mod alerts;
mod dispatch;
mod error;
mod input;
mod lab_fields;
pub mod observation;
pub mod regression;
mod result;
pub mod rounding;
pub mod scores;
pub mod units;
mod validate;

pub use dispatch::{SCORE_CATALOGUE, SCORE_NAMES, ScoreInfo, score};
pub use error::ScoreError;
pub use result::{Band, Component, PossibleRange, Reference, ScoreResult};

use serde::{Deserialize, Serialize};

/// Biological sex as the score equations use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}
