//! Runs the built `meditrustal` binary: `nlp analyze|deid|summary` on JSON Lines and plain
//! text, and `nlp eval` on a small gold file.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const NOTES: &str = concat!(
    r#"{"id": "a1", "text": "患者张伟，男，68岁，电话13812345678。主诉：咳嗽3天。否认高血压病史。"}"#,
    "\n",
    r#"{"id": 2, "text": "现病史：发热2天，体温38.5℃，无胸痛。"}"#,
    "\n",
);

fn meditrustal(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meditrustal"))
        .args(args)
        .env_remove("MEDITRUSTAL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run meditrustal");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn analyze_reads_a_file_of_two_notes_and_writes_two_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.jsonl");
    std::fs::write(&path, NOTES).unwrap();
    let out = lines(&meditrustal(
        &["nlp", "analyze", path.to_str().unwrap()],
        None,
    ));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["id"], "a1");
    assert_eq!(out[1]["id"], 2);
    let htn = out[0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["text"] == "高血压")
        .unwrap();
    assert_eq!(htn["negated"], true);
    assert!(
        out[0]["phi"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["text"] == "张伟")
    );
    assert!(
        out[1]["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["value"] == "38.5")
    );
}

#[test]
fn deid_and_summary_read_standard_input() {
    let out = lines(&meditrustal(
        &["nlp", "deid", "-", "--strategy", "mask"],
        Some(NOTES),
    ));
    assert_eq!(out.len(), 2);
    let text = out[0]["text"].as_str().unwrap();
    assert!(
        !text.contains("张伟") && !text.contains("13812345678"),
        "{text}"
    );
    assert!(text.contains("高血压"));

    let out = lines(&meditrustal(&["nlp", "summary"], Some(NOTES)));
    assert_eq!(out.len(), 2);
    assert_eq!(out[1]["id"], 2);
    assert!(out[0]["chief_complaint"].as_str().unwrap().contains("咳嗽"));
}

#[test]
fn plain_text_is_one_note() {
    let out = lines(&meditrustal(
        &["nlp", "analyze", "-"],
        Some("主诉：咳嗽3天。\n否认高血压。\n"),
    ));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["id"], "1");
    assert!(out[0]["entities"].as_array().unwrap().len() >= 2);
}

#[test]
fn a_bad_line_is_refused_with_its_number() {
    let input = format!("{NOTES}{{\"id\": 3}}\n");
    let output = meditrustal(&["nlp", "analyze"], Some(&input));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("stdin:3"));
}

#[test]
fn eval_of_the_engines_own_output_scores_one() {
    let analysed = lines(&meditrustal(&["nlp", "analyze"], Some(NOTES)));
    let dir = tempfile::tempdir().unwrap();
    let gold = dir.path().join("gold.jsonl");
    let text: String = analysed.iter().map(|d| format!("{d}\n")).collect();
    std::fs::write(&gold, text).unwrap();
    let output = meditrustal(&["nlp", "eval", gold.to_str().unwrap()], None);
    let out = lines(&output);
    let headline = out.last().unwrap().as_object().unwrap();
    assert_eq!(headline["entity_exact_micro_f1"], json!(1.0));
    assert_eq!(headline["phi_deid_recall_overlap"], json!(1.0));
    assert_eq!(headline.len(), 15);
}
