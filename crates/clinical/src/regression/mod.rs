//! Logistic regression for risk models, explained and evaluated:
//! - [`LogisticModel::fit`] by iteratively reweighted least squares (Newton–Raphson);
//! - [`LogisticModel::predict`] with exact Shapley contributions for the linear model
//!   (`contribution_j = β_j·(x_j − mean_j)` on the log-odds scale, base value = log-odds at
//!   the training means; base + Σ contributions = the patient's log-odds exactly);
//! - [`metrics`]: AUROC (Mann–Whitney, ties counted ½) with a percentile bootstrap CI
//!   from a caller-supplied seeded RNG, Brier score and calibration bins.

mod linear_solve;
pub mod metrics;
mod model;

pub use model::{Contribution, FitOptions, LogisticModel, Prediction};

use thiserror::Error;

/// Why a model could not be fitted, applied or evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    #[error("no rows to learn from or evaluate")]
    Empty,
    #[error("row {row} has {found} values, expected {expected}")]
    WrongWidth {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("{rows} rows but {labels} labels")]
    LabelCount { rows: usize, labels: usize },
    #[error("value at row {row}, column {column} is not a finite number")]
    NonFinite { row: usize, column: usize },
    #[error("all labels belong to one class: the model or metric is undefined")]
    SingleClass,
    #[error("the information matrix is singular (collinear or constant features)")]
    Singular,
    #[error("IRLS did not converge in {iterations} iterations (separation?)")]
    NotConverged { iterations: usize },
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}

/// Checks a rectangular, finite design matrix with matching labels.
pub(crate) fn check_rows(rows: &[Vec<f64>], width: usize, labels: usize) -> Result<(), ModelError> {
    if rows.is_empty() {
        return Err(ModelError::Empty);
    }
    if rows.len() != labels {
        return Err(ModelError::LabelCount {
            rows: rows.len(),
            labels,
        });
    }
    for (row, values) in rows.iter().enumerate() {
        if values.len() != width {
            return Err(ModelError::WrongWidth {
                row,
                expected: width,
                found: values.len(),
            });
        }
        if let Some(column) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite { row, column });
        }
    }
    Ok(())
}
