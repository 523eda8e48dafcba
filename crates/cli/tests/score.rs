//! Runs the built `meditrustal` binary: `score NAME --json INPUT` and `score --list`.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::{Value, json};

fn meditrustal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meditrustal"))
        .args(args)
        .env_remove("MEDITRUSTAL_CONFIG")
        .output()
        .expect("run meditrustal")
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// Asserts exit status 2 and returns standard error.
fn refused(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn qsofa_of_the_septic_patient_is_positive() {
    let input = json!({"resp_rate": 26, "sbp_mmhg": 88, "new_confusion": true}).to_string();
    let result = stdout_json(&meditrustal(&["score", "qsofa", "--json", &input]));
    assert_eq!(result["score"], "qsofa");
    assert_eq!(result["total"], json!(3.0));
    assert_eq!(result["band"], "positive");
    assert_eq!(result["components"].as_array().unwrap().len(), 3);
    assert_eq!(result["missing"], json!([]));
}

#[test]
fn input_may_be_a_file_and_missing_inputs_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitals.json");
    let vitals = json!({"temp_c": 38.9, "pulse_bpm": 118, "resp_rate": 26, "sbp_mmhg": 88, "consciousness": "C"});
    std::fs::write(&path, vitals.to_string()).unwrap();
    let result = stdout_json(&meditrustal(&[
        "score",
        "news2",
        "--json",
        path.to_str().unwrap(),
    ]));
    assert_eq!(result["total"], Value::Null);
    assert_eq!(result["partial_total"], json!(12.0));
    assert_eq!(result["band"], "high");
    assert!(
        result["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("spo2_pct")),
        "{result}"
    );
}

#[test]
fn list_names_every_score_with_a_description() {
    let output = meditrustal(&["score", "--list"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for name in meditrustal_clinical::SCORE_NAMES {
        let line = text
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
        assert!(line.len() > name.len() + 10, "{line}");
    }
}

#[test]
fn bad_inputs_exit_2_naming_the_field() {
    let cases = [
        ("qsofa", json!({"resp_rate": "26"}), "resp_rate"),
        ("news2", json!({"temp_c": 101.2}), "temp_c"),
        ("qsofa", json!({"sbp_mmhg": -5}), "sbp_mmhg"),
        (
            "ckd_epi_2021",
            json!({"age": 60, "creatinine_umol_l": 88}),
            "sex",
        ),
        ("qsofa", json!({"resp_rat": 26}), "resp_rat"),
    ];
    for (score, input, field) in cases {
        let stderr = refused(&meditrustal(&[
            "score",
            score,
            "--json",
            &input.to_string(),
        ]));
        assert!(
            stderr.contains(&format!("`{field}`")),
            "{score} {input}: {stderr}"
        );
    }
}

#[test]
fn unknown_scores_and_unusable_input_exit_2() {
    let stderr = refused(&meditrustal(&["score", "apache_ii", "--json", "{}"]));
    assert!(
        stderr.contains("apache_ii") && stderr.contains("--list"),
        "{stderr}"
    );
    let stderr = refused(&meditrustal(&["score", "gcs", "--json", "{\"eye\": 3,"]));
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    let stderr = refused(&meditrustal(&[
        "score",
        "gcs",
        "--json",
        "/no/such/file.json",
    ]));
    assert!(stderr.contains("/no/such/file.json"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.json");
    std::fs::write(&path, "[3, 4, 5]").unwrap();
    let stderr = refused(&meditrustal(&[
        "score",
        "gcs",
        "--json",
        path.to_str().unwrap(),
    ]));
    assert!(stderr.contains("JSON object"), "{stderr}");
}
