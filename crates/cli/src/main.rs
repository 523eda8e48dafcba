//! `meditrustal`: the one binary that runs and administers the platform.

mod admin;
mod config;
mod demo;
mod keys;
mod serve;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let file = FileSettings::load(cli.global.config.as_deref())?;
    let settings = Settings::resolve(&cli.global, &file)?;
    init_logging(&settings);
    match cli.command {
        Command::Serve(args) => serve::run(&settings, &file, args).await,
        Command::Migrate => {
            let store = settings.open_store().await?;
            store.migrate().await?;
            println!("migrations applied ({:?})", store.backend());
            Ok(())
        }
        Command::Admin(command) => admin::run(&settings, command).await,
        Command::Openapi => {
            println!("{}", meditrustal_server::openapi_json()?);
            Ok(())
        }
    }
}

fn init_logging(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MEDITRUSTAL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}
