//! Errors of the NLP crate.

use thiserror::Error;

/// What can go wrong while building the engine or de-identifying text.
#[derive(Debug, Error)]
pub enum NlpError {
    /// A compiled-in data file has a malformed line.
    #[error("data file {file}: line {line} is malformed")]
    BadDataLine { file: &'static str, line: usize },
    /// An automaton could not be built from a lexicon.
    #[error("could not build the matcher for {what}: {reason}")]
    Automaton { what: &'static str, reason: String },
    /// A regular expression in the rules failed to compile.
    #[error("rule pattern {name} failed to compile: {reason}")]
    Pattern { name: &'static str, reason: String },
    /// A PHI span does not lie inside the text or is not on character boundaries.
    #[error("PHI span {start}..{end} is outside the text of {len} characters")]
    SpanOutOfText {
        start: usize,
        end: usize,
        len: usize,
    },
    /// The surrogate strategy needs a non-empty key.
    #[error("the surrogate key is empty")]
    EmptyKey,
}
