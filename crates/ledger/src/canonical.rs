//! Canonical JSON for ledger entries, and the [`LedgerEntry`] that carries it.
//!
//! Rules (a strict subset of RFC 8785 JCS; for every accepted value the bytes equal JCS):
//! - object keys sorted by their bytes; keys must be ASCII, where byte order and JCS's
//!   UTF-16 order agree (other keys are rejected rather than risk a second ordering);
//! - no insignificant whitespace;
//! - strings escaped minimally: `"` `\` and control characters only (`\b \f \n \r \t`,
//!   others as `\u00xx`), everything else as raw UTF-8;
//! - numbers: integers within ±(2^53 − 1) only, in plain decimal. Floats have no single
//!   textual form and larger integers are not exact in JavaScript, so both are rejected;
//!   put big values in strings;
//! - nesting at most [`MAX_DEPTH`] levels.

use serde::Serialize;
use serde_json::Value;

use crate::hash::{Hash, leaf_hash};

/// Deepest nesting of arrays/objects accepted (guards the recursion).
pub const MAX_DEPTH: usize = 64;

/// Largest integer magnitude accepted: 2^53 − 1, the exact range of IEEE-754 doubles.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical form here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A non-integer number.
    #[error("floating-point number {0} is not allowed in a ledger entry")]
    Float(String),
    /// An integer outside ±(2^53 − 1).
    #[error("integer {0} is outside ±(2^53 − 1); store it as a string")]
    IntegerOutOfRange(String),
    /// An object key with non-ASCII characters.
    #[error("object key {0:?} is not ASCII")]
    NonAsciiKey(String),
    /// Arrays/objects nested deeper than [`MAX_DEPTH`].
    #[error("value nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The value could not be turned into JSON.
    #[error("value cannot be serialized as JSON: {0}")]
    NotJson(String),
    /// Bytes that were claimed canonical are not.
    #[error("entry bytes are not canonical JSON")]
    NotCanonical,
}

/// The canonical bytes of `value` (rules in the module docs).
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(value, 0, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_integer(number, out)?,
        Value::String(text) => write_string(text, out)?,
        Value::Array(items) => {
            let depth = deeper(depth)?;
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, depth, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let depth = deeper(depth)?;
            // Sorted here, not by the map type: `preserve_order` may be on in the workspace.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if !key.is_ascii() {
                    return Err(CanonicalError::NonAsciiKey(key.clone()));
                }
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out)?;
                out.push(b':');
                write_value(item, depth, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn deeper(depth: usize) -> Result<usize, CanonicalError> {
    if depth >= MAX_DEPTH {
        return Err(CanonicalError::TooDeep);
    }
    Ok(depth + 1)
}

fn write_integer(number: &serde_json::Number, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    let magnitude = if let Some(n) = number.as_u64() {
        n
    } else if let Some(n) = number.as_i64() {
        n.unsigned_abs()
    } else {
        return Err(CanonicalError::Float(number.to_string()));
    };
    if magnitude > MAX_SAFE_INTEGER {
        return Err(CanonicalError::IntegerOutOfRange(number.to_string()));
    }
    // as_u64/as_i64 succeeded, so Display prints plain decimal digits.
    out.extend_from_slice(number.to_string().as_bytes());
    Ok(())
}

fn write_string(text: &str, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    // serde_json escapes exactly `"`, `\` and U+0000..U+001F (short forms where JSON has
    // them, else lowercase `\u00xx`), which is JCS's rule.
    serde_json::to_writer(&mut *out, text).map_err(|e| CanonicalError::NotJson(e.to_string()))
}

/// One ledger entry: the canonical JSON bytes of an event.
///
/// The caller guarantees the event carries no personal data (pseudonymous ids, hashes and
/// commitments only), so that crypto-shredding a patient leaves the log complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    bytes: Vec<u8>,
}

impl LedgerEntry {
    /// Serializes `event` canonically.
    pub fn from_event<T: Serialize + ?Sized>(event: &T) -> Result<Self, CanonicalError> {
        let value =
            serde_json::to_value(event).map_err(|e| CanonicalError::NotJson(e.to_string()))?;
        Ok(Self {
            bytes: canonical_json(&value)?,
        })
    }

    /// Accepts stored bytes only if they are exactly the canonical form of what they parse
    /// to (what `meditrustal verify` checks for every stored entry).
    pub fn from_canonical_bytes(bytes: Vec<u8>) -> Result<Self, CanonicalError> {
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| CanonicalError::NotJson(e.to_string()))?;
        if canonical_json(&value)? != bytes {
            return Err(CanonicalError::NotCanonical);
        }
        Ok(Self { bytes })
    }

    /// The canonical bytes (what `ledger_leaves.leaf_data` stores).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives up the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// SHA-256(0x00 || bytes).
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.bytes)
    }
}
