//! The logistic model: IRLS fit and explained prediction.

use serde::{Deserialize, Serialize};

use super::linear_solve::solve_spd;
use super::{ModelError, check_rows};

/// Fitting controls.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub max_iterations: usize,
    /// Stop when the largest coefficient change is below this.
    pub tolerance: f64,
    /// Ridge penalty on the coefficients (not the intercept); 0 = maximum likelihood.
    pub l2_penalty: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            max_iterations: 50,
            tolerance: 1e-10,
            l2_penalty: 0.0,
        }
    }
}

/// A fitted logistic regression, with the training means needed for explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    pub feature_names: Vec<String>,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Training-set mean of each feature (the Shapley reference point).
    pub means: Vec<f64>,
    pub iterations: usize,
}

/// One feature's share of a prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: String,
    pub value: f64,
    pub mean: f64,
    pub coefficient: f64,
    /// β·(x − mean), on the log-odds scale.
    pub contribution: f64,
}

/// A prediction and its exact decomposition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub probability: f64,
    pub log_odds: f64,
    /// Log-odds at the training means.
    pub base_value: f64,
    /// base_value + Σ contribution = log_odds.
    pub contributions: Vec<Contribution>,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        z.exp() / (1.0 + z.exp())
    }
}

fn linear(intercept: f64, coefficients: &[f64], x: &[f64]) -> f64 {
    intercept + coefficients.iter().zip(x).map(|(b, v)| b * v).sum::<f64>()
}

/// One Newton step's system: (XᵀWX + λI) and Xᵀ(y − p), with a leading intercept column.
fn newton_system(
    rows: &[Vec<f64>],
    labels: &[bool],
    beta: &[f64],
    l2: f64,
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let p = beta.len();
    let mut hessian = vec![vec![0.0; p]; p];
    let mut gradient = vec![0.0; p];
    let (b0, rest) = beta.split_first().map_or((0.0, &[][..]), |(h, t)| (*h, t));
    for (x, &y) in rows.iter().zip(labels) {
        let mu = sigmoid(linear(b0, rest, x));
        let w = mu * (1.0 - mu);
        let residual = f64::from(u8::from(y)) - mu;
        let design = std::iter::once(1.0).chain(x.iter().copied());
        for (i, xi) in design.clone().enumerate() {
            if let Some(g) = gradient.get_mut(i) {
                *g += xi * residual;
            }
            if let Some(row) = hessian.get_mut(i) {
                for (h, xj) in row.iter_mut().zip(design.clone()) {
                    *h += w * xi * xj;
                }
            }
        }
    }
    for (i, (row, g)) in hessian
        .iter_mut()
        .zip(gradient.iter_mut())
        .enumerate()
        .skip(1)
    {
        if let (Some(h), Some(b)) = (row.get_mut(i), beta.get(i)) {
            *h += l2;
            *g -= l2 * b;
        }
    }
    (hessian, gradient)
}

impl LogisticModel {
    /// Fits by IRLS. `rows[i]` holds the features named in `feature_names`.
    pub fn fit(
        feature_names: &[String],
        rows: &[Vec<f64>],
        labels: &[bool],
        options: FitOptions,
    ) -> Result<Self, ModelError> {
        check_rows(rows, feature_names.len(), labels.len())?;
        if labels.iter().all(|&y| y) || labels.iter().all(|&y| !y) {
            return Err(ModelError::SingleClass);
        }
        if !(options.l2_penalty >= 0.0 && options.l2_penalty.is_finite()) {
            return Err(ModelError::InvalidParameter {
                name: "l2_penalty",
                reason: "must be a finite number ≥ 0".into(),
            });
        }
        let mut beta = vec![0.0; feature_names.len() + 1];
        for iteration in 1..=options.max_iterations {
            let (hessian, gradient) = newton_system(rows, labels, &beta, options.l2_penalty);
            let step = solve_spd(&hessian, &gradient)?;
            let change = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
            }
            if !change.is_finite() {
                break;
            }
            if change < options.tolerance {
                let (intercept, coefficients) = beta
                    .split_first()
                    .map_or((0.0, Vec::new()), |(h, t)| (*h, t.to_vec()));
                return Ok(Self {
                    feature_names: feature_names.to_vec(),
                    intercept,
                    coefficients,
                    means: column_means(rows, feature_names.len()),
                    iterations: iteration,
                });
            }
        }
        Err(ModelError::NotConverged {
            iterations: options.max_iterations,
        })
    }

    /// Predicts one patient and decomposes the log-odds into exact Shapley values.
    pub fn predict(&self, x: &[f64]) -> Result<Prediction, ModelError> {
        check_rows(
            std::slice::from_ref(&x.to_vec()),
            self.coefficients.len(),
            1,
        )?;
        let base_value = linear(self.intercept, &self.coefficients, &self.means);
        let contributions: Vec<Contribution> = self
            .feature_names
            .iter()
            .zip(&self.coefficients)
            .zip(&self.means)
            .zip(x)
            .map(|(((name, &coefficient), &mean), &value)| Contribution {
                feature: name.clone(),
                value,
                mean,
                coefficient,
                contribution: coefficient * (value - mean),
            })
            .collect();
        let log_odds = base_value + contributions.iter().map(|c| c.contribution).sum::<f64>();
        Ok(Prediction {
            probability: sigmoid(log_odds),
            log_odds,
            base_value,
            contributions,
        })
    }
}

fn column_means(rows: &[Vec<f64>], width: usize) -> Vec<f64> {
    let n = rows.len().max(1) as f64;
    (0..width)
        .map(|j| rows.iter().filter_map(|r| r.get(j)).sum::<f64>() / n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn one_binary_feature_matches_closed_form_mle() {
        // x=0: 3 of 10 events; x=1: 7 of 10 events ⇒ b0 = logit(0.3), b1 = logit(0.7) − logit(0.3)
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for (x, events) in [(0.0, 3), (1.0, 7)] {
            for i in 0..10 {
                rows.push(vec![x]);
                labels.push(i < events);
            }
        }
        let m = LogisticModel::fit(&names(&["x"]), &rows, &labels, FitOptions::default()).unwrap();
        let logit = |p: f64| (p / (1.0 - p)).ln();
        assert!((m.intercept - logit(0.3)).abs() < 1e-9);
        assert!((m.coefficients[0] - (logit(0.7) - logit(0.3))).abs() < 1e-9);
    }

    #[test]
    fn contributions_add_up_exactly() {
        let m = LogisticModel {
            feature_names: names(&["a", "b"]),
            intercept: -1.0,
            coefficients: vec![0.5, -2.0],
            means: vec![1.0, 0.25],
            iterations: 1,
        };
        let p = m.predict(&[3.0, 1.0]).unwrap();
        assert!((p.base_value - (-1.0 + 0.5 - 0.5)).abs() < 1e-12);
        assert!((p.contributions[0].contribution - 1.0).abs() < 1e-12);
        assert!((p.contributions[1].contribution - (-1.5)).abs() < 1e-12);
        let sum: f64 = p.base_value + p.contributions.iter().map(|c| c.contribution).sum::<f64>();
        assert!((sum - p.log_odds).abs() < 1e-12);
        assert!((p.log_odds - (-1.0 + 1.5 - 2.0)).abs() < 1e-12);
    }

    #[test]
    fn bad_data_is_an_error() {
        let n = names(&["x"]);
        assert_eq!(
            LogisticModel::fit(&n, &[], &[], FitOptions::default()),
            Err(ModelError::Empty)
        );
        assert_eq!(
            LogisticModel::fit(
                &n,
                &[vec![1.0], vec![2.0]],
                &[true, true],
                FitOptions::default()
            ),
            Err(ModelError::SingleClass)
        );
        assert!(matches!(
            LogisticModel::fit(
                &n,
                &[vec![1.0], vec![f64::NAN]],
                &[true, false],
                FitOptions::default()
            ),
            Err(ModelError::NonFinite { row: 1, column: 0 })
        ));
        assert!(matches!(
            LogisticModel::fit(&n, &[vec![1.0, 2.0]], &[true], FitOptions::default()),
            Err(ModelError::WrongWidth { .. })
        ));
    }

    #[test]
    fn perfect_separation_does_not_converge_without_penalty_but_does_with_ridge() {
        let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![f64::from(i)]).collect();
        let labels: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let n = names(&["x"]);
        assert!(LogisticModel::fit(&n, &rows, &labels, FitOptions::default()).is_err());
        let m = LogisticModel::fit(
            &n,
            &rows,
            &labels,
            FitOptions {
                l2_penalty: 1.0,
                ..FitOptions::default()
            },
        )
        .unwrap();
        assert!(m.coefficients[0] > 0.0);
    }
}
