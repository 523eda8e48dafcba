//! Runs the built `meditrustal` binary: `model train` on a CSV generated from a known
//! logistic model, then `model predict`; and the errors for bad tables.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TRUE_INTERCEPT: f64 = -5.0;
/// age (years), lactate (mmol/L), female (0/1)
const TRUE_BETA: [f64; 3] = [0.04, 0.7, -0.5];
const ROWS: usize = 3000;

fn meditrustal(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meditrustal"))
        .args(args)
        .current_dir(dir)
        .env_remove("MEDITRUSTAL_CONFIG")
        .output()
        .expect("run meditrustal")
}

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A table whose outcome follows the true model exactly, plus an id column to ignore.
fn known_model_csv(seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut csv = String::from("patient_id,age,lactate,female,died\n");
    for i in 0..ROWS {
        let age = 20.0 + 70.0 * uniform(&mut rng);
        let lactate = 0.5 + 5.5 * uniform(&mut rng);
        let female = f64::from(u8::from(uniform(&mut rng) < 0.5));
        let z =
            TRUE_INTERCEPT + TRUE_BETA[0] * age + TRUE_BETA[1] * lactate + TRUE_BETA[2] * female;
        let died = uniform(&mut rng) < 1.0 / (1.0 + (-z).exp());
        writeln!(
            csv,
            "p{i},{age:.2},{lactate:.2},{female},{}",
            u8::from(died)
        )
        .unwrap();
    }
    csv
}

fn train(dir: &Path, out: &str) -> Output {
    meditrustal(
        dir,
        &[
            "model",
            "train",
            "--csv",
            "data.csv",
            "--outcome",
            "died",
            "--features",
            "age,lactate,female",
            "--out",
            out,
            "--bootstrap",
            "200",
            "--seed",
            "7",
        ],
    )
}

#[test]
fn train_recovers_the_known_model_and_predict_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.csv"), known_model_csv(2026)).unwrap();

    let output = train(dir.path(), "model.json");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "coefficients",
        "intercept",
        "lactate",
        "AUROC",
        "95% bootstrap CI",
        "Brier",
        "calibration",
        "sha256",
        "ledger",
    ] {
        assert!(
            report.contains(expected),
            "`{expected}` missing from:\n{report}"
        );
    }

    let bytes = std::fs::read(dir.path().join("model.json")).unwrap();
    let printed_hash = report
        .lines()
        .find_map(|line| line.strip_prefix("sha256 "))
        .expect("a sha256 line");
    assert_eq!(printed_hash, hex::encode(Sha256::digest(&bytes)));

    let file: Value = serde_json::from_slice(&bytes).unwrap();
    let model = &file["model"];
    assert_eq!(model["feature_names"], json!(["age", "lactate", "female"]));
    let intercept = model["intercept"].as_f64().unwrap();
    assert!(
        (intercept - TRUE_INTERCEPT).abs() < 0.8,
        "intercept {intercept}"
    );
    // Tolerances ≈ 3–4 standard errors at 3000 rows.
    for ((truth, tolerance), fitted) in TRUE_BETA
        .iter()
        .zip([0.015, 0.2, 0.35])
        .zip(model["coefficients"].as_array().unwrap())
    {
        let fitted = fitted.as_f64().unwrap();
        assert!(
            (fitted - truth).abs() < tolerance,
            "coefficient {fitted} vs {truth}"
        );
        assert_eq!(fitted.signum(), truth.signum());
    }
    let training = &file["training"];
    assert_eq!(training["rows"], json!(ROWS));
    let auroc = training["auroc"].as_f64().unwrap();
    let (lower, upper) = (
        training["auroc_ci_lower"].as_f64().unwrap(),
        training["auroc_ci_upper"].as_f64().unwrap(),
    );
    assert!(
        auroc > 0.75 && lower < auroc && auroc < upper && upper - lower < 0.1,
        "{training}"
    );
    let brier = training["brier"].as_f64().unwrap();
    assert!(brier > 0.0 && brier < 0.25, "{training}");

    // Same data, same seed: the same bytes, hence the same hash for the ledger.
    assert!(train(dir.path(), "again.json").status.success());
    assert_eq!(std::fs::read(dir.path().join("again.json")).unwrap(), bytes);

    let patient = json!({"age": 80, "lactate": 5.0, "female": 0}).to_string();
    let output = meditrustal(
        dir.path(),
        &[
            "model",
            "predict",
            "--model",
            "model.json",
            "--json",
            &patient,
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let prediction: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(prediction["outcome"], "died");
    assert_eq!(prediction["model_sha256"], printed_hash);
    let log_odds = prediction["log_odds"].as_f64().unwrap();
    let true_log_odds = TRUE_INTERCEPT + TRUE_BETA[0] * 80.0 + TRUE_BETA[1] * 5.0;
    assert!(
        (log_odds - true_log_odds).abs() < 0.5,
        "{log_odds} vs {true_log_odds}"
    );
    let probability = prediction["probability"].as_f64().unwrap();
    assert!((probability - 1.0 / (1.0 + (-log_odds).exp())).abs() < 1e-9);
    let contributions = prediction["contributions"].as_array().unwrap();
    assert_eq!(contributions.len(), 3);
    let explained = prediction["base_value"].as_f64().unwrap()
        + contributions
            .iter()
            .map(|c| c["contribution"].as_f64().unwrap())
            .sum::<f64>();
    assert!(
        (explained - log_odds).abs() < 1e-9,
        "contributions sum to the log-odds"
    );
    let lactate = contributions
        .iter()
        .find(|c| c["feature"] == "lactate")
        .unwrap();
    assert!(
        lactate["contribution"].as_f64().unwrap() > 0.0,
        "high lactate raises the risk"
    );
}

#[test]
fn predict_refuses_inputs_that_do_not_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.csv"), known_model_csv(1)).unwrap();
    assert!(train(dir.path(), "model.json").status.success());
    for (input, named) in [
        (json!({"age": 80, "lactate": 5.0}), "`female`"),
        (json!({"age": "80", "lactate": 5.0, "female": 0}), "`age`"),
        (
            json!({"age": 80, "lactate": 5.0, "female": 0, "bmi": 30}),
            "`bmi`",
        ),
    ] {
        let output = meditrustal(
            dir.path(),
            &[
                "model",
                "predict",
                "--model",
                "model.json",
                "--json",
                &input.to_string(),
            ],
        );
        assert_eq!(output.status.code(), Some(2), "{input}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{input}: {stderr}");
    }
    let output = meditrustal(
        dir.path(),
        &["model", "predict", "--model", "data.csv", "--json", "{}"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a model file"));
}

#[test]
fn bad_tables_fail_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "age,lactate,died\n70,2.0,1\n",
            vec!["--outcome", "death"],
            "no column `death`",
        ),
        (
            "age,lactate,died\n70,2.0,1\n",
            vec!["--outcome", "died", "--features", "age,bmi"],
            "no column `bmi`",
        ),
        (
            "age,lactate,died\n70,2.0,1\n71,high,0\n",
            vec!["--outcome", "died"],
            "line 3, column `lactate`: `high` is not a number",
        ),
        (
            "age,lactate,died\n70,2.0,yes\n",
            vec!["--outcome", "died"],
            "column `died`",
        ),
        (
            "age,lactate,died\n70,2.0\n",
            vec!["--outcome", "died"],
            "line 2",
        ),
        ("", vec!["--outcome", "died"], "empty"),
        (
            "age,lactate,died\n",
            vec!["--outcome", "died"],
            "no data rows",
        ),
        (
            "age,lactate,died\n70,2.0,1\n60,1.0,1\n",
            vec!["--outcome", "died"],
            "one class",
        ),
    ];
    for (table, options, expected) in cases {
        std::fs::write(dir.path().join("bad.csv"), table).unwrap();
        let mut args = vec!["model", "train", "--csv", "bad.csv", "--out", "never.json"];
        args.extend(options);
        let output = meditrustal(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{table:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{table:?}: `{expected}` not in {stderr}"
        );
        assert!(
            !dir.path().join("never.json").exists(),
            "nothing written for {table:?}"
        );
    }
    let output = meditrustal(
        dir.path(),
        &[
            "model",
            "train",
            "--csv",
            "missing.csv",
            "--outcome",
            "died",
        ],
    );
    assert_ne!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.csv"));
}
