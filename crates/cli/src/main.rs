//! `meditrustal`: the one binary that runs and administers the platform.

mod admin;
mod backup;
mod bad_input;
mod bench;
mod chain;
mod config;
mod demo;
mod gc;
mod key_admin;
mod keys;
mod maintenance;
mod model;
mod nlp;
mod nlp_eval;
mod retention;
mod score;
mod serve;
mod telemetry;
mod training_data;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{FileSettings, GlobalArgs, Settings};

#[derive(Parser)]
#[command(
    name = "meditrustal",
    version,
    about = "Patient-centric medical data platform: consented access to encrypted records on a verifiable ledger."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (API, OpenAPI docs, metrics). Migrates the database first.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administer accounts from the command line (create an admin, list accounts).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Compute a published clinical score (NEWS2, qSOFA, SOFA, CURB-65 …) from JSON inputs.
    Score(score::ScoreArgs),
    /// Train and apply explainable logistic risk models.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Chinese clinical NLP over JSON Lines: analyze, deid, summary; eval against a gold file.
    #[command(subcommand)]
    Nlp(nlp::NlpCommand),
    /// Measure create+read throughput and latency against a running server.
    Bench(bench::BenchArgs),
    /// The EVM chain: deploy the contracts, show anchoring and mirror status.
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Check the ledger and every record against each other; exit 1 if anything differs.
    Verify(verify::VerifyArgs),
    /// List vault objects no record references (older than --min-age); --apply deletes them.
    Gc(gc::GcArgs),
    /// Erase records past their category's retention period (dry run unless --execute).
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Write a consistent snapshot of the database, the objects and the keys to a directory.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty data directory, database and object store.
    Restore(backup::RestoreArgs),
    /// Key-encryption keys: list, rotate (re-wrap every data key), retire.
    #[command(subcommand)]
    Keys(key_admin::KeysCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let file = FileSettings::load(cli.global.config.as_deref())?;
    let settings = Settings::resolve(&cli.global, &file)?;
    // Only the server exports traces; the other commands are short and local.
    let traces = match &cli.command {
        Command::Serve(args) => telemetry::TraceExport::resolve(
            args.otlp_endpoint
                .as_deref()
                .or(file.otlp_endpoint.as_deref()),
            |name| std::env::var(name).ok(),
        ),
        _ => telemetry::TraceExport::Off,
    };
    let telemetry = telemetry::init(settings.log_json, &traces)?;
    let outcome = run(cli.command, &settings, &file).await;
    // After a graceful stop: the spans of the last requests are still queued.
    if let Err(err) = tokio::task::spawn_blocking(move || telemetry.shutdown()).await {
        eprintln!("warning: flushing traces failed: {err}");
    }
    exit_status(outcome)
}

async fn run(
    command: Command,
    settings: &Settings,
    file: &FileSettings,
) -> anyhow::Result<ExitCode> {
    let outcome = match command {
        Command::Verify(args) => return verify::run(settings, args).await,
        Command::Gc(args) => return gc::run(settings, args).await,
        Command::Retention(command) => return retention::run(settings, command).await,
        Command::Backup(args) => return backup::backup(settings, args).await,
        Command::Restore(args) => return backup::restore(settings, args).await,
        Command::Keys(command) => return key_admin::run(settings, command).await,
        Command::Serve(args) => serve::run(settings, file, args).await,
        Command::Migrate => {
            let store = settings.open_store().await?;
            store.migrate().await?;
            println!("migrations applied ({:?})", store.backend());
            Ok(())
        }
        Command::Admin(command) => admin::run(settings, command).await,
        Command::Openapi => {
            println!("{}", meditrustal_server::openapi_json()?);
            Ok(())
        }
        Command::Score(args) => score::run(&args),
        Command::Model(command) => model::run(settings, &command).await,
        Command::Nlp(command) => nlp::run(&command),
        Command::Bench(args) => bench::run(args).await,
        Command::Chain(command) => chain::run(settings, command).await,
    };
    outcome.map(|()| ExitCode::SUCCESS)
}

fn exit_status(outcome: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    match outcome {
        Ok(code) => Ok(code),
        // Input the user can correct: a plain message and status 2, not a failure report.
        Err(err) if err.downcast_ref::<bad_input::BadInput>().is_some() => {
            eprintln!("error: {err:#}");
            Ok(ExitCode::from(bad_input::EXIT_STATUS))
        }
        Err(err) => Err(err),
    }
}
