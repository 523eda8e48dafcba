//! Canonical JSON: exact bytes for known inputs, rejection of what has no canonical form.

// Helpers outside #[test] functions are not "test code" to clippy; in this test crate
// unwrapping is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_ledger::canonical::MAX_DEPTH;
use meditrustal_ledger::{CanonicalError, LedgerEntry, canonical_json, leaf_hash};
use serde::Serialize;
use serde_json::{Value, json};

fn canon(value: Value) -> String {
    String::from_utf8(canonical_json(&value).unwrap()).unwrap()
}

#[test]
fn keys_are_sorted_at_every_level_without_whitespace() {
    let value = json!({
        "zeta": 1,
        "alpha": {"b": [3, {"y": true, "x": null}], "a": "s"},
        "Beta": false,
        "_": -7
    });
    assert_eq!(
        canon(value),
        r#"{"Beta":false,"_":-7,"alpha":{"a":"s","b":[3,{"x":null,"y":true}]},"zeta":1}"#
    );
}

#[test]
fn key_order_is_by_bytes_not_by_insertion() {
    // Parsed in two different orders, the bytes are the same.
    let a: Value = serde_json::from_str(r#"{"b":1,"a":2,"aa":3,"B":4}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{ "aa" : 3 , "B":4, "a":2, "b":1 }"#).unwrap();
    assert_eq!(canon(a.clone()), r#"{"B":4,"a":2,"aa":3,"b":1}"#);
    assert_eq!(canonical_json(&a).unwrap(), canonical_json(&b).unwrap());
}

#[test]
fn strings_escape_minimally_and_keep_unicode() {
    let value =
        json!({"s": "病历 \u{1F600} \"q\" \\ / \u{7f} \u{2028}\n\t\r\u{8}\u{c}\u{1}\u{1f}"});
    assert_eq!(
        canon(value),
        "{\"s\":\"病历 \u{1F600} \\\"q\\\" \\\\ / \u{7f} \u{2028}\\n\\t\\r\\b\\f\\u0001\\u001f\"}"
    );
}

#[test]
fn output_matches_rfc_8785_for_an_integer_document() {
    // Adapted from the RFC 8785 §3.2.3 example, keeping only the parts this profile
    // accepts (integers, ASCII keys): JCS sorts, strips whitespace, escapes minimally.
    let input = r#"{
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false],
        "numbers": [333333333, 4, 2000, 0, -1]
    }"#;
    let value: Value = serde_json::from_str(input).unwrap();
    assert_eq!(
        canon(value),
        "{\"literals\":[null,true,false],\"numbers\":[333333333,4,2000,0,-1],\
         \"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
    );
}

#[test]
fn floats_and_unsafe_integers_are_rejected() {
    for text in ["1.5", "1.0", "1e3", "-0.0"] {
        let value: Value = serde_json::from_str(text).unwrap();
        assert!(
            matches!(canonical_json(&value), Err(CanonicalError::Float(_))),
            "{text}"
        );
    }
    let nested = json!({"a": [1, {"b": 0.25}]});
    assert!(matches!(
        canonical_json(&nested),
        Err(CanonicalError::Float(_))
    ));
    let max = json!(9_007_199_254_740_991u64);
    assert_eq!(canon(max), "9007199254740991");
    assert_eq!(canon(json!(-9_007_199_254_740_991i64)), "-9007199254740991");
    for big in [
        json!(9_007_199_254_740_992u64),
        json!(i64::MIN),
        json!(u64::MAX),
    ] {
        assert!(matches!(
            canonical_json(&big),
            Err(CanonicalError::IntegerOutOfRange(_))
        ));
    }
}

#[test]
fn non_ascii_keys_and_deep_nesting_are_rejected() {
    assert_eq!(
        canonical_json(&json!({"ключ": 1})),
        Err(CanonicalError::NonAsciiKey("ключ".into()))
    );
    let mut deep = json!(0);
    for _ in 0..MAX_DEPTH {
        deep = json!([deep]);
    }
    assert!(canonical_json(&deep).is_ok());
    let deeper = json!([deep]);
    assert_eq!(canonical_json(&deeper), Err(CanonicalError::TooDeep));
}

#[derive(Serialize)]
struct RecordRead<'a> {
    r#type: &'a str,
    record_id: &'a str,
    actor: &'a str,
    purpose: &'a str,
    at_ms: u64,
    content_sha256: &'a str,
}

#[test]
fn ledger_entry_is_stable_and_hashes_its_bytes() {
    let event = RecordRead {
        r#type: "record.read",
        record_id: "rec_01J9",
        actor: "did:mt:doc:7f3a",
        purpose: "treatment",
        at_ms: 1_764_800_000_000,
        content_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    let entry = LedgerEntry::from_event(&event).unwrap();
    let expected = "{\"actor\":\"did:mt:doc:7f3a\",\"at_ms\":1764800000000,\
        \"content_sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\
        \"purpose\":\"treatment\",\"record_id\":\"rec_01J9\",\"type\":\"record.read\"}";
    assert_eq!(entry.as_bytes(), expected.as_bytes());
    assert_eq!(entry.leaf_hash(), leaf_hash(expected.as_bytes()));
    // Serializing the same event again gives the same bytes.
    assert_eq!(LedgerEntry::from_event(&event).unwrap(), entry);
    // Stored bytes round-trip only when canonical.
    let stored = LedgerEntry::from_canonical_bytes(entry.clone().into_bytes()).unwrap();
    assert_eq!(stored, entry);
    let spaced = expected.replacen(':', ": ", 1).into_bytes();
    assert_eq!(
        LedgerEntry::from_canonical_bytes(spaced),
        Err(CanonicalError::NotCanonical)
    );
    let duplicated = br#"{"a":1,"a":2}"#.to_vec();
    assert_eq!(
        LedgerEntry::from_canonical_bytes(duplicated),
        Err(CanonicalError::NotCanonical)
    );
    assert!(matches!(
        LedgerEntry::from_canonical_bytes(b"{".to_vec()),
        Err(CanonicalError::NotJson(_))
    ));
}

#[test]
fn events_with_floats_cannot_become_entries() {
    #[derive(Serialize)]
    struct Score {
        value: f64,
    }
    assert!(matches!(
        LedgerEntry::from_event(&Score { value: 0.5 }),
        Err(CanonicalError::Float(_))
    ));
}
