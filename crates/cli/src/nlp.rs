//! `meditrustal nlp analyze|deid|summary [FILE|-]`: the clinical NLP engine over JSON Lines,
//! and `meditrustal nlp eval GOLD.jsonl`: the headline figures of
//! `shared/nlp-dev/score_nlp.py` for the engine's output on the gold file's texts.
//!
//! Input: when the first non-blank line is a JSON object, the input is JSON Lines, one note
//! per line with `text` (a string) and an optional `id` (the line number otherwise); else the
//! whole input is one plain-text note whose id is `1`. Output: one JSON object per note.

use std::io::{BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use meditrustal_nlp::Engine;
use meditrustal_nlp::deid::{Strategy, deidentify};
use meditrustal_nlp::summary::summarize;
use serde_json::{Map, Value, json};

use crate::bad_input::BadInput;

#[derive(Debug, Subcommand)]
pub enum NlpCommand {
    /// Sections, entities (with assertions and ICD-10), measurements and PHI, in the schema
    /// of `shared/nlp-dev/documents.jsonl` (score it with `score_nlp.py`).
    Analyze(InputArgs),
    /// The notes with every detected PHI string replaced.
    Deid(DeidArgs),
    /// Extractive summaries: chief complaint, problems, negatives, drugs, vitals, plan.
    Summary(InputArgs),
    /// Run the engine on a gold file's texts and print `score_nlp.py`'s headline JSON line.
    Eval {
        /// Gold JSON Lines (`shared/nlp-dev/documents.jsonl`).
        gold: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// JSON Lines (or a plain-text note); `-` or nothing for standard input.
    pub input: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrategyName {
    Mask,
    Tag,
    Surrogate,
    DateShift,
}

#[derive(Debug, Args)]
pub struct DeidArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// How PHI is replaced. Surrogates and date shifts use one random key per run, so they
    /// are consistent across the notes of one run only.
    #[arg(long, value_enum, default_value = "tag")]
    pub strategy: StrategyName,
    /// Days to shift dates by (with `--strategy date-shift`).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub date_shift_days: i32,
}

pub fn run(command: &NlpCommand) -> anyhow::Result<()> {
    match command {
        NlpCommand::Analyze(args) => each_note(args, |engine, id, text| {
            let mut out = object(serde_json::to_value(engine.analyze(text))?);
            out.insert("id".into(), id);
            out.insert("text".into(), Value::String(text.to_owned()));
            Ok(Value::Object(out))
        }),
        NlpCommand::Summary(args) => each_note(args, |engine, id, text| {
            let summary = summarize(text, &engine.analyze(text));
            let mut out = object(serde_json::to_value(summary)?);
            out.insert("id".into(), id);
            Ok(Value::Object(out))
        }),
        NlpCommand::Deid(args) => {
            let strategy = strategy(args)?;
            each_note(&args.input, |engine, id, text| {
                let analysis = engine.analyze(text);
                let clean = deidentify(text, &analysis.phi, &strategy)?;
                Ok(json!({"id": id, "text": clean}))
            })
        }
        NlpCommand::Eval { gold } => crate::nlp_eval::run(gold),
    }
}

fn strategy(args: &DeidArgs) -> anyhow::Result<Strategy> {
    if args.date_shift_days != 0 && !matches!(args.strategy, StrategyName::DateShift) {
        return Err(BadInput::new("--date-shift-days goes with --strategy date-shift").into());
    }
    let key = || -> anyhow::Result<Vec<u8>> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|err| anyhow::anyhow!("OS random source: {err}"))?;
        Ok(key)
    };
    Ok(match args.strategy {
        StrategyName::Mask => Strategy::Mask,
        StrategyName::Tag => Strategy::Tag,
        StrategyName::Surrogate => Strategy::Surrogate { key: key()? },
        StrategyName::DateShift => Strategy::DateShift {
            days: i64::from(args.date_shift_days),
            key: key()?,
        },
    })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub(crate) fn engine() -> anyhow::Result<Engine> {
    Engine::new().context("building the NLP engine")
}

/// A note read from the input: its id and text.
pub(crate) type Note = (Value, String);

/// Reads every note of `input` (see the module documentation for the format).
pub(crate) fn read_notes(input: &mut dyn Read, name: &str) -> anyhow::Result<Vec<Note>> {
    let mut all = String::new();
    input
        .read_to_string(&mut all)
        .with_context(|| format!("reading {name} (is it UTF-8?)"))?;
    let first = all.lines().find(|l| !l.trim().is_empty());
    let is_jsonl =
        first.is_some_and(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v.is_object()));
    if !is_jsonl {
        return Ok(vec![(json!("1"), all)]);
    }
    let mut notes = Vec::new();
    for (n, line) in all.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let doc: Value = serde_json::from_str(line)
            .map_err(|err| BadInput::new(format!("{name}:{}: not JSON: {err}", n + 1)))?;
        let Some(text) = doc.get("text").and_then(Value::as_str) else {
            return Err(BadInput::new(format!("{name}:{}: no string `text`", n + 1)).into());
        };
        let id = doc.get("id").cloned().unwrap_or_else(|| json!(n + 1));
        notes.push((id, text.to_owned()));
    }
    Ok(notes)
}

fn each_note(
    args: &InputArgs,
    work: impl Fn(&Engine, Value, &str) -> anyhow::Result<Value>,
) -> anyhow::Result<()> {
    let (notes, bar) = match args.input.as_deref() {
        None => (read_notes(&mut std::io::stdin().lock(), "stdin")?, None),
        Some(path) if path.as_os_str() == "-" => {
            (read_notes(&mut std::io::stdin().lock(), "stdin")?, None)
        }
        Some(path) => {
            let name = path.display().to_string();
            let file = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
            let notes = read_notes(&mut BufReader::new(file), &name)?;
            let bar = ProgressBar::new(notes.len() as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("notes");
            (notes, Some(bar))
        }
    };
    let engine = engine()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (id, text) in notes {
        let value = work(&engine, id, &text)?;
        serde_json::to_writer(&mut out, &value)?;
        out.write_all(b"\n")?;
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.flush()?;
    Ok(())
}
