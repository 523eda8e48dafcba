//! `meditrustal score NAME --json INPUT`: computes a published clinical score offline with
//! the same entry point as `POST /api/v1/cdss/score/{name}`, and prints the result.

use std::path::Path;

use anyhow::Context;
use clap::Args;
use meditrustal_clinical::{SCORE_CATALOGUE, ScoreError};
use serde_json::Value;

use crate::bad_input::BadInput;

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Score name, e.g. `news2`, `qsofa`, `curb65` (see `--list`).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// The inputs: a JSON object (`'{"resp_rate": 26}'`), a path to a file holding one,
    /// or `-` for standard input.
    #[arg(long = "json", value_name = "INPUT", required_unless_present = "list")]
    pub input: Option<String>,
    /// List the available scores and exit.
    #[arg(long, conflicts_with_all = ["name", "input"])]
    pub list: bool,
}

pub fn run(args: &ScoreArgs) -> anyhow::Result<()> {
    let (Some(name), Some(input)) = (&args.name, &args.input) else {
        print_catalogue();
        return Ok(());
    };
    let input = read_json_input(input)?;
    let result = meditrustal_clinical::score(name, &input).map_err(|err| explain(name, err))?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

fn print_catalogue() {
    let width = SCORE_CATALOGUE
        .iter()
        .map(|info| info.name.len())
        .max()
        .unwrap_or(0);
    for info in SCORE_CATALOGUE {
        println!("{:width$}  {}", info.name, info.description);
    }
}

fn explain(name: &str, err: ScoreError) -> anyhow::Error {
    let message = match &err {
        ScoreError::UnknownScore { .. } => {
            format!("{err}; `meditrustal score --list` shows the available scores")
        }
        _ => format!("cannot compute `{name}`: {err}"),
    };
    BadInput::new(message).into()
}

/// Reads `INPUT` as a JSON object: a literal when it starts with `{`, standard input for
/// `-`, otherwise the path of a file holding one.
pub fn read_json_input(input: &str) -> anyhow::Result<Value> {
    let (text, origin) = if input.trim_start().starts_with('{') {
        (input.to_owned(), "the --json argument".to_owned())
    } else if input == "-" {
        let text = std::io::read_to_string(std::io::stdin()).context("reading standard input")?;
        (text, "standard input".to_owned())
    } else {
        let path = Path::new(input);
        if !path.is_file() {
            return Err(BadInput::new(format!(
                "--json {input}: neither a JSON object nor a readable file"
            ))
            .into());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        (text, path.display().to_string())
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| BadInput::new(format!("{origin} is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(
            BadInput::new(format!("{origin} must be a JSON object of named inputs")).into(),
        );
    }
    Ok(value)
}
