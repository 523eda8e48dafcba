//! `meditrustal serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use meditrustal_app::{App, AppParts, SystemClock};
use meditrustal_server::{Application, ServerSettings, TlsFiles};
use meditrustal_store::Store;
use meditrustal_vault::Vault;

use crate::config::{FileSettings, Settings};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MEDITRUSTAL_BIND")]
    bind: Option<SocketAddr>,
    /// Seed demo accounts (idempotent) and print their credentials.
    #[arg(long)]
    demo: bool,
    /// Serve HTTPS: PEM certificate chain (with --tls-key).
    #[arg(long, env = "MEDITRUSTAL_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "MEDITRUSTAL_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A browser origin allowed to call the API (CORS), e.g. https://ui.example.org; repeat
    /// for several. Default: none (same-origin only).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Export traces over OTLP/HTTP to this collector (e.g. Jaeger's http://jaeger:4318);
    /// spans go to <URL>/v1/traces. Default: off, unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
    #[arg(long, env = "MEDITRUSTAL_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    #[command(flatten)]
    chain: crate::chain::ChainArgs,
}

pub fn build_app(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<App> {
    let from_env = std::env::var("MEDITRUSTAL_JWT_SECRET").ok();
    let jwt_secret = crate::keys::jwt_secret(&settings.data_dir, from_env.as_deref())?;
    let mut vault = Vault::open(
        &settings.storage,
        crate::keys::key_ring(&settings.data_dir)?,
    )
    .context("opening the record vault")?;
    if std::env::var_os(meditrustal_vault::MASTER_KEY_ENV).is_none() {
        // `keys rotate` in another process adds and activates KEKs in the key directory.
        let directory = meditrustal_vault::KeyDirectory::in_data_dir(&settings.data_dir);
        vault = vault.with_key_reload(Box::new(move || {
            directory.load().map_err(|err| err.to_string())
        }));
    }
    Ok(App::new(AppParts {
        store,
        clock: Arc::new(SystemClock),
        jwt_secret,
        auth: settings.auth.clone(),
        vault,
        ledger_key: crate::keys::ledger_key(&settings.data_dir)?,
    }))
}

pub async fn run(settings: &Settings, file: &FileSettings, args: ServeArgs) -> anyhow::Result<()> {
    let store = settings.open_store().await?;
    store.migrate().await.context("migrating the database")?;
    let mut app = build_app(settings, store)?;
    if let Some(link) = args.chain.link(settings).await? {
        tracing::info!(mode = ?link.mode, "ledger on chain");
        app = app.with_chain(link);
        crate::chain::spawn_writer(app.clone(), &args.chain);
    }
    // Exports whose builder stopped with the previous process would stay pending forever.
    match app.resume_exports().await {
        Ok(0) => {}
        Ok(resumed) => tracing::info!(resumed, "unfinished exports restarted"),
        Err(err) => tracing::warn!(%err, "unfinished exports could not be restarted"),
    }
    // FHIR resources indexed before token codes were hashed are found by code again only
    // once their tokens are rewritten; do it before serving searches.
    match app
        .hash_unhashed_fhir_tokens()
        .await
        .context("hashing the FHIR index's tokens")?
    {
        0 => {}
        hashed => tracing::info!(hashed, "FHIR index tokens of earlier resources hashed"),
    }
    // Build the NLP engine (~0.3 s) now rather than on the first analysis request.
    app.warm_nlp().await.context("building the NLP engine")?;

    let admin_password = std::env::var("MEDITRUSTAL_ADMIN_PASSWORD").ok();
    if let Some(password) = admin_password.as_deref()
        && app.ensure_bootstrap_admin(password).await?.is_some()
    {
        tracing::info!("bootstrap admin account `admin` created");
    }
    let demo = if args.demo {
        Some(crate::demo::seed(&app, admin_password.is_some()).await?)
    } else {
        None
    };

    let tls = match (
        args.tls_cert.or_else(|| file.tls_cert.clone()),
        args.tls_key.or_else(|| file.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => {
            return Err(crate::bad_input::BadInput::new(
                "tls_cert and tls_key go together: give both or neither",
            )
            .into());
        }
    };
    let cors_origins = if args.cors_origins.is_empty() {
        file.cors_origins.clone()
    } else {
        args.cors_origins
    };
    let server_settings = ServerSettings {
        bind: args
            .bind
            .or(file.bind)
            .unwrap_or(ServerSettings::default().bind),
        tls,
        cors_origins,
        ..ServerSettings::default()
    };
    let application = Application::build(&server_settings, app.clone())
        .await
        .with_context(|| format!("binding {}", server_settings.bind))?;
    let address = application.local_addr()?;
    let scheme = application.scheme();
    println!("MediTrustAl is running at {scheme}://{address}/");
    println!("  Web UI (patients, doctors, researchers, admins): {scheme}://{address}/");
    println!("  API documentation: {scheme}://{address}/api/docs");
    if let Some(demo) = demo {
        demo.print();
    }

    let closer = app.clone();
    let keys_app = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::key_admin::SERVER_RELOAD_INTERVAL);
        loop {
            tick.tick().await;
            match keys_app.vault().reload_keys() {
                Ok(true) => tracing::info!(
                    active_kek = %keys_app.vault().keys().active_id(),
                    "key-encryption keys reloaded"
                ),
                Ok(false) => {}
                Err(err) => tracing::warn!(%err, "reloading the key-encryption keys failed"),
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(err) = app.prune_throttle().await {
                tracing::warn!(%err, "pruning the login throttle failed");
            }
        }
    });
    application
        .run_until(async move {
            shutdown_signal().await;
            closer.end_alert_streams();
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
