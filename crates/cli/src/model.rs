//! `meditrustal model train|predict`: fits an explainable logistic risk model from a CSV
//! table and applies it to one patient.
//!
//! The model file is deterministic (same data and options ⇒ same bytes), so its SHA-256
//! identifies exactly what was trained; that hash is what a deployment records on the
//! ledger.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use meditrustal_clinical::regression::metrics::{
    CalibrationBin, Interval, auroc_bootstrap_with_progress, brier, calibration_bins,
};
use meditrustal_clinical::regression::{FitOptions, LogisticModel, ModelError, Prediction};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bad_input::BadInput;
use crate::training_data::{self, TrainingData};

/// Identifies the layout of the model file, so a later reader can refuse what it does not know.
const MODEL_FORMAT: &str = "meditrustal-logistic-model/1";
const CONFIDENCE_LEVEL: f64 = 0.95;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Fit a logistic regression from a CSV table and report discrimination and calibration.
    ///
    /// CSV schema: a header row; one row per patient; the outcome column holds 0 or 1;
    /// feature columns hold finite numbers ('.' decimal point); no empty cells. Other
    /// columns are ignored.
    Train(TrainArgs),
    /// Predict one patient with a trained model, with each feature's contribution.
    Predict(PredictArgs),
    /// Deploy a trained model: write its file's SHA-256 to the ledger of the deployment in
    /// --data-dir, so predictions can be tied to exactly this model.
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// A model written by `meditrustal model train`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The training table (see the schema above).
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Name of the 0/1 outcome column.
    #[arg(long, value_name = "COLUMN")]
    pub outcome: String,
    /// Feature columns, comma-separated [default: every column but the outcome].
    #[arg(long, value_delimiter = ',', value_name = "a,b,c")]
    pub features: Option<Vec<String>>,
    /// Where to write the model.
    #[arg(long, default_value = "model.json")]
    pub out: PathBuf,
    /// Bootstrap resamples for the AUROC confidence interval.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub bootstrap: u32,
    /// Seed of the bootstrap's random numbers (same seed ⇒ same interval).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of equal-width calibration bins.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub bins: u32,
    /// Ridge penalty on the coefficients (0 = maximum likelihood); helps with separation.
    #[arg(long, default_value_t = 0.0)]
    pub l2: f64,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model written by `meditrustal model train`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The patient's features: a JSON object (`'{"age": 70}'`), a file holding one, or `-`.
    #[arg(long = "json", value_name = "INPUT")]
    pub input: String,
}

/// The model file: the fitted model plus what it was trained on and how well it did there.
#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    format: String,
    outcome: String,
    training: TrainingSummary,
    model: LogisticModel,
}

#[derive(Debug, Serialize, Deserialize)]
struct TrainingSummary {
    rows: usize,
    events: usize,
    l2_penalty: f64,
    /// Apparent (in-sample) performance: optimistic; validate on other data before use.
    auroc: f64,
    auroc_ci_lower: f64,
    auroc_ci_upper: f64,
    brier: f64,
    bootstrap_resamples: usize,
    seed: u64,
}

pub async fn run(settings: &crate::config::Settings, command: &ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Train(args) => train(args),
        ModelCommand::Predict(args) => predict(args),
        ModelCommand::Deploy(args) => deploy(settings, args).await,
    }
}

/// Checks that the file is a model this version reads, then appends `model.deployed` with
/// its SHA-256 to the ledger (the deployment must exist: no key is generated).
async fn deploy(settings: &crate::config::Settings, args: &DeployArgs) -> anyhow::Result<()> {
    let (bytes, _) = read_model(&args.model)?;
    let sha256 = sha256_hex(&bytes);
    let app = crate::maintenance::open_existing_app(settings).await?;
    let deployment = app
        .record_model_deployment(&sha256)
        .await
        .map_err(crate::maintenance::explain)?;
    println!(
        "deployed model {} (SHA-256 {}) at ledger leaf {}",
        args.model.display(),
        deployment.sha256,
        deployment.leaf_index
    );
    Ok(())
}

/// Reads a model file, refusing anything that is not one of this version's format.
fn read_model(path: &Path) -> anyhow::Result<(Vec<u8>, ModelFile)> {
    let origin = path.display().to_string();
    if !path.is_file() {
        return Err(BadInput::new(format!("{origin}: no such model file")).into());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {origin}"))?;
    let file: ModelFile = serde_json::from_slice(&bytes)
        .map_err(|err| BadInput::new(format!("{origin} is not a model file: {err}")))?;
    if file.format != MODEL_FORMAT {
        return Err(BadInput::new(format!(
            "{origin} has format `{}`; this version reads `{MODEL_FORMAT}`",
            file.format
        ))
        .into());
    }
    Ok((bytes, file))
}

fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let data = load_training_data(args)?;
    let options = FitOptions {
        l2_penalty: args.l2,
        ..FitOptions::default()
    };
    let model = LogisticModel::fit(&data.feature_names, &data.rows, &data.labels, options)
        .map_err(|err| model_error("cannot fit the model", &err))?;
    let probabilities = data
        .rows
        .iter()
        .map(|row| model.predict(row).map(|p| p.probability))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| model_error("cannot apply the fitted model", &err))?;
    let auroc = bootstrap_auroc(&probabilities, &data.labels, args)?;
    let brier = brier(&probabilities, &data.labels)
        .map_err(|err| model_error("cannot compute the Brier score", &err))?;
    let bins = calibration_bins(&probabilities, &data.labels, args.bins as usize)
        .map_err(|err| model_error("cannot compute calibration", &err))?;

    let file = ModelFile {
        format: MODEL_FORMAT.to_owned(),
        outcome: args.outcome.clone(),
        training: TrainingSummary {
            rows: data.rows.len(),
            events: data.events(),
            l2_penalty: args.l2,
            auroc: auroc.estimate,
            auroc_ci_lower: auroc.lower,
            auroc_ci_upper: auroc.upper,
            brier,
            bootstrap_resamples: auroc.resamples,
            seed: args.seed,
        },
        model,
    };
    let mut bytes = serde_json::to_vec_pretty(&file)?;
    bytes.push(b'\n');
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("writing the model to {}", args.out.display()))?;
    print_report(&file, &bins, &args.out, &sha256_hex(&bytes))?;
    Ok(())
}

fn load_training_data(args: &TrainArgs) -> anyhow::Result<TrainingData> {
    let origin = args.csv.display().to_string();
    if !args.csv.is_file() {
        return Err(BadInput::new(format!("{origin}: no such file")).into());
    }
    let file = std::fs::File::open(&args.csv).with_context(|| format!("opening {origin}"))?;
    Ok(training_data::read_csv(
        std::io::BufReader::new(file),
        &origin,
        &args.outcome,
        args.features.as_deref(),
    )?)
}

fn bootstrap_auroc(
    probabilities: &[f64],
    labels: &[bool],
    args: &TrainArgs,
) -> anyhow::Result<Interval> {
    let resamples = args.bootstrap as usize;
    // Draws on standard error only when it is a terminal, so piped output stays clean.
    let progress = ProgressBar::new(u64::from(args.bootstrap)).with_message("bootstrap AUROC");
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        progress.set_style(style.progress_chars("=> "));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let interval = auroc_bootstrap_with_progress(
        probabilities,
        labels,
        resamples,
        CONFIDENCE_LEVEL,
        &mut rng,
        |_| progress.inc(1),
    );
    progress.finish_and_clear();
    interval.map_err(|err| model_error("cannot compute the AUROC", &err))
}

fn print_report(
    file: &ModelFile,
    bins: &[CalibrationBin],
    out: &Path,
    sha256: &str,
) -> anyhow::Result<()> {
    let model = &file.model;
    let training = &file.training;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "logistic model of `{}`: {} rows, {} events, converged in {} iterations",
        file.outcome, training.rows, training.events, model.iterations
    )?;
    writeln!(
        stdout,
        "\ncoefficients (log-odds per unit; mean = explanation baseline)"
    )?;
    writeln!(
        stdout,
        "  {:<24} {:>12} {:>12}",
        "term", "coefficient", "mean"
    )?;
    writeln!(
        stdout,
        "  {:<24} {:>12.6} {:>12}",
        "intercept", model.intercept, ""
    )?;
    for ((name, coefficient), mean) in model
        .feature_names
        .iter()
        .zip(&model.coefficients)
        .zip(&model.means)
    {
        writeln!(stdout, "  {name:<24} {coefficient:>12.6} {mean:>12.4}")?;
    }
    writeln!(
        stdout,
        "\nperformance on the training data (apparent, optimistic: validate on other data)"
    )?;
    writeln!(
        stdout,
        "  AUROC  {:.4}  (95% bootstrap CI {:.4}–{:.4}, {} resamples, seed {})",
        training.auroc,
        training.auroc_ci_lower,
        training.auroc_ci_upper,
        training.bootstrap_resamples,
        training.seed
    )?;
    writeln!(stdout, "  Brier  {:.4}", training.brier)?;
    writeln!(stdout, "\ncalibration (equal-width bins of predicted risk)")?;
    writeln!(
        stdout,
        "  {:<12} {:>7} {:>10} {:>10}",
        "bin", "count", "predicted", "observed"
    )?;
    for bin in bins {
        let rate = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
        writeln!(
            stdout,
            "  {:<12} {:>7} {:>10} {:>10}",
            format!("{:.2}–{:.2}", bin.lower, bin.upper),
            bin.count,
            rate(bin.mean_predicted),
            rate(bin.observed_rate)
        )?;
    }
    writeln!(stdout, "\nmodel written to {}", out.display())?;
    writeln!(stdout, "sha256 {sha256}")?;
    writeln!(
        stdout,
        "(record this hash when the model is deployed; once the ledger lands, deployment writes it there)"
    )?;
    Ok(())
}

fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let (bytes, file) = read_model(&args.model)?;
    let input = crate::score::read_json_input(&args.input)?;
    let features = feature_values(&file.model, &input)?;
    let prediction = file
        .model
        .predict(&features)
        .map_err(|err| model_error("cannot predict", &err))?;
    let report = PredictionReport {
        outcome: &file.outcome,
        model_sha256: sha256_hex(&bytes),
        prediction,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

#[derive(Serialize)]
struct PredictionReport<'a> {
    outcome: &'a str,
    /// Which model answered: the hash of the model file.
    model_sha256: String,
    /// `probability`, `log_odds`, `base_value` and per-feature `contributions`
    /// (base_value + Σ contribution = log_odds).
    #[serde(flatten)]
    prediction: Prediction,
}

/// The model's features, in its order, from a JSON object; every feature must be a number
/// and no other field may appear (a typo must not go unnoticed).
fn feature_values(model: &LogisticModel, input: &Value) -> Result<Vec<f64>, BadInput> {
    let object = input
        .as_object()
        .ok_or_else(|| BadInput::new("the input must be a JSON object"))?;
    if let Some(unknown) = object.keys().find(|key| !model.feature_names.contains(key)) {
        return Err(BadInput::new(format!(
            "unknown field `{unknown}`; the model's features are: {}",
            model.feature_names.join(", ")
        )));
    }
    model
        .feature_names
        .iter()
        .map(|name| match object.get(name) {
            None => Err(BadInput::new(format!("missing field `{name}`"))),
            Some(value) => value
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| BadInput::new(format!("field `{name}` must be a number"))),
        })
        .collect()
}

/// Data that cannot be modelled (one class only, collinear columns, separation) is the
/// user's to fix, so it is bad input rather than a failure.
fn model_error(what: &str, err: &ModelError) -> anyhow::Error {
    BadInput::new(format!("{what}: {err}")).into()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> LogisticModel {
        LogisticModel {
            feature_names: vec!["age".into(), "lactate".into()],
            intercept: -3.0,
            coefficients: vec![0.02, 0.5],
            means: vec![60.0, 2.0],
            iterations: 5,
        }
    }

    #[test]
    fn features_are_read_in_model_order() {
        let values = feature_values(&model(), &json!({"lactate": 4.0, "age": 70})).unwrap();
        assert_eq!(values, [70.0, 4.0]);
    }

    #[test]
    fn bad_feature_inputs_name_the_field() {
        let err = feature_values(&model(), &json!({"age": 70})).unwrap_err();
        assert!(err.0.contains("`lactate`"), "{err}");
        let err = feature_values(&model(), &json!({"age": "70", "lactate": 1})).unwrap_err();
        assert!(err.0.contains("`age`") && err.0.contains("number"), "{err}");
        let err =
            feature_values(&model(), &json!({"age": 70, "lactate": 1, "lactat": 2})).unwrap_err();
        assert!(err.0.contains("`lactat`"), "{err}");
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
