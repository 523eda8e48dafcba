//! Logistic regression on data generated from a known model.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_clinical::regression::metrics::{auroc, auroc_bootstrap, brier, calibration_bins};
use meditrustal_clinical::regression::{FitOptions, LogisticModel};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

const TRUE_INTERCEPT: f64 = -0.5;
const TRUE_BETA: [f64; 3] = [1.2, -0.8, 0.6];

fn uniform(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(rng: &mut impl RngCore) -> f64 {
    // Box–Muller
    let u1 = uniform(rng).max(f64::MIN_POSITIVE);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn simulate(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let x = vec![
            normal(&mut rng),
            2.0 * uniform(&mut rng),
            f64::from(u8::from(uniform(&mut rng) < 0.4)),
        ];
        let z = TRUE_INTERCEPT + TRUE_BETA.iter().zip(&x).map(|(b, v)| b * v).sum::<f64>();
        let p = 1.0 / (1.0 + (-z).exp());
        labels.push(uniform(&mut rng) < p);
        rows.push(x);
    }
    (rows, labels)
}

fn names() -> Vec<String> {
    ["lactate_z", "age_decades", "male"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

#[test]
fn recovers_the_generating_coefficients() {
    let (rows, labels) = simulate(20_000, 7);
    let m = LogisticModel::fit(&names(), &rows, &labels, FitOptions::default()).unwrap();
    assert!(
        (m.intercept - TRUE_INTERCEPT).abs() < 0.12,
        "intercept {}",
        m.intercept
    );
    for (fitted, truth) in m.coefficients.iter().zip(TRUE_BETA) {
        assert!((fitted - truth).abs() < 0.12, "β {fitted} vs {truth}");
    }
    assert!(m.iterations < 15);
}

#[test]
fn shapley_contributions_sum_to_log_odds_and_mean_patient_gets_base_value() {
    let (rows, labels) = simulate(5_000, 11);
    let m = LogisticModel::fit(&names(), &rows, &labels, FitOptions::default()).unwrap();
    for x in rows.iter().take(50) {
        let p = m.predict(x).unwrap();
        let sum = p.base_value + p.contributions.iter().map(|c| c.contribution).sum::<f64>();
        assert!((sum - p.log_odds).abs() < 1e-12);
        let direct = m.intercept
            + m.coefficients
                .iter()
                .zip(x)
                .map(|(b, v)| b * v)
                .sum::<f64>();
        assert!((direct - p.log_odds).abs() < 1e-9);
    }
    let at_mean = m.predict(&m.means).unwrap();
    assert!(
        at_mean
            .contributions
            .iter()
            .all(|c| c.contribution.abs() < 1e-12)
    );
    assert!((at_mean.log_odds - at_mean.base_value).abs() < 1e-12);
    assert!(m.predict(&[1.0]).is_err());
}

#[test]
fn discrimination_calibration_and_seeded_bootstrap() {
    let (train, train_y) = simulate(10_000, 3);
    let (test, test_y) = simulate(4_000, 4);
    let m = LogisticModel::fit(&names(), &train, &train_y, FitOptions::default()).unwrap();
    let probs: Vec<f64> = test
        .iter()
        .map(|x| m.predict(x).unwrap().probability)
        .collect();
    let truth: Vec<f64> = test
        .iter()
        .map(|x| {
            1.0 / (1.0
                + (-(TRUE_INTERCEPT + TRUE_BETA.iter().zip(x).map(|(b, v)| b * v).sum::<f64>()))
                    .exp())
        })
        .collect();
    let a = auroc(&probs, &test_y).unwrap();
    let a_true = auroc(&truth, &test_y).unwrap();
    assert!(
        (a - a_true).abs() < 0.01,
        "fitted {a} vs true model {a_true}"
    );
    assert!(a > 0.7);

    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let ci = auroc_bootstrap(&probs, &test_y, 200, 0.95, &mut rng).unwrap();
    assert!(ci.lower < a && a < ci.upper);
    assert!(ci.upper - ci.lower < 0.06);
    let mut rng_again = ChaCha8Rng::seed_from_u64(2026);
    assert_eq!(
        auroc_bootstrap(&probs, &test_y, 200, 0.95, &mut rng_again).unwrap(),
        ci
    );

    let b = brier(&probs, &test_y).unwrap();
    let b_true = brier(&truth, &test_y).unwrap();
    assert!((b - b_true).abs() < 0.01 && b < 0.25);

    for bin in calibration_bins(&probs, &test_y, 10).unwrap() {
        if bin.count >= 300 {
            let gap = (bin.mean_predicted.unwrap() - bin.observed_rate.unwrap()).abs();
            assert!(
                gap < 0.06,
                "bin {:.1}–{:.1}: gap {gap}",
                bin.lower,
                bin.upper
            );
        }
    }
}
