//! Configuration. Precedence: command-line flags > environment (`MEDITRUSTAL_*`,
//! `DATABASE_URL`; clap reads both) > the optional TOML file > built-in defaults.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use meditrustal_app::{AuthSettings, RetentionPolicy, ThrottleLimits};
use meditrustal_store::Store;
use meditrustal_vault::{S3Addressing, S3Config, StorageConfig};
use serde::Deserialize;
use zeroize::Zeroizing;

/// Options every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (optional).
    #[arg(long, global = true, env = "MEDITRUSTAL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the embedded database, encrypted objects and keys live [default: ./data].
    #[arg(long, global = true, env = "MEDITRUSTAL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL; default: SQLite at <data-dir>/meditrustal.db.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Log as JSON lines instead of text (same as --log-format json).
    #[arg(long, global = true, env = "MEDITRUSTAL_LOG_JSON")]
    pub log_json: bool,
    /// Log format: `text` (default) or `json` (one JSON object per line).
    #[arg(long, global = true, value_enum, env = "MEDITRUSTAL_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The TOML file's shape; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<SocketAddr>,
    pub log_json: Option<bool>,
    /// HTTPS certificate chain and key (PEM), both or neither.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// OTLP/HTTP collector for traces (`serve --otlp-endpoint`).
    pub otlp_endpoint: Option<String>,
    /// Browser origins allowed to call the API (CORS).
    #[serde(default)]
    pub cors_origins: Vec<String>,
    #[serde(default)]
    pub auth: FileAuthSettings,
    /// Where encrypted record contents go; default `<data-dir>/objects`.
    pub storage: Option<FileStorageSettings>,
    /// `[retention]`: days to keep each record category after its last change, e.g.
    /// `clinical-note = 10950`; categories not listed are kept indefinitely.
    #[serde(default)]
    pub retention: std::collections::BTreeMap<String, u32>,
}

/// `[storage]`: an S3-compatible server (MinIO, Garage, Ceph RGW). The secret key comes from
/// `MEDITRUSTAL_S3_SECRET_KEY`, never from the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStorageSettings {
    pub s3_endpoint: String,
    pub s3_bucket: String,
    #[serde(default = "default_region")]
    pub s3_region: String,
    pub s3_access_key_id: String,
    /// Path-style addressing (default true: what self-hosted servers expect).
    #[serde(default = "default_true")]
    pub s3_path_style: bool,
    /// Allow plain http:// (testing only).
    #[serde(default)]
    pub s3_allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAuthSettings {
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub login_per_account_per_minute: Option<NonZeroU32>,
    pub login_per_address_per_minute: Option<NonZeroU32>,
}

impl FileSettings {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileSettings> {
        let Some(path) = path else {
            return Ok(FileSettings::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("parsing configuration file {}", path.display()))
    }
}

/// Resolved settings shared by all subcommands.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub log_json: bool,
    pub auth: AuthSettings,
    pub storage: StorageConfig,
    pub retention: RetentionPolicy,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs, file: &FileSettings) -> anyhow::Result<Settings> {
        let data_dir = args
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./data"));
        // An empty DATABASE_URL (exported but unset) means "not given", not a URL.
        let database_url = args
            .database_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| file.database_url.clone())
            .unwrap_or_else(|| sqlite_url(&data_dir));
        let defaults = AuthSettings::default();
        let limits = ThrottleLimits::default();
        let auth = AuthSettings {
            access_token_ttl: file
                .auth
                .access_token_ttl_secs
                .map_or(defaults.access_token_ttl, Duration::from_secs),
            refresh_token_ttl: file
                .auth
                .refresh_token_ttl_secs
                .map_or(defaults.refresh_token_ttl, Duration::from_secs),
            throttle: ThrottleLimits {
                per_account_per_minute: file
                    .auth
                    .login_per_account_per_minute
                    .unwrap_or(limits.per_account_per_minute),
                per_address_per_minute: file
                    .auth
                    .login_per_address_per_minute
                    .unwrap_or(limits.per_address_per_minute),
            },
        };
        let storage = match &file.storage {
            None => StorageConfig::local_in_data_dir(&data_dir),
            Some(s3) => StorageConfig::S3(S3Config {
                endpoint: s3.s3_endpoint.clone(),
                bucket: s3.s3_bucket.clone(),
                region: s3.s3_region.clone(),
                access_key_id: s3.s3_access_key_id.clone(),
                secret_access_key: Zeroizing::new(
                    std::env::var("MEDITRUSTAL_S3_SECRET_KEY")
                        .context("[storage] needs MEDITRUSTAL_S3_SECRET_KEY in the environment")?,
                ),
                addressing: if s3.s3_path_style {
                    S3Addressing::PathStyle
                } else {
                    S3Addressing::VirtualHosted
                },
                allow_http: s3.s3_allow_http,
            }),
        };
        Ok(Settings {
            data_dir,
            database_url,
            log_json: match args.log_format {
                Some(format) => format == LogFormat::Json,
                None => args.log_json || file.log_json.unwrap_or(false),
            },
            auth,
            storage,
            retention: retention_policy(&file.retention)?,
        })
    }

    /// Creates the data directory (owner-only) when the database is the embedded one.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        if self.database_url.starts_with("sqlite:") {
            crate::keys::create_private_dir(&self.data_dir)?;
        }
        meditrustal_store::connect(&self.database_url)
            .await
            .context("opening the database")
    }
}

/// `[retention]` with each category checked and each period at least a day.
fn retention_policy(
    days: &std::collections::BTreeMap<String, u32>,
) -> anyhow::Result<RetentionPolicy> {
    let mut policy = RetentionPolicy::default();
    for (category, days) in days {
        let parsed = meditrustal_domain::RecordCategory::parse(category)
            .map_err(|err| anyhow::anyhow!("[retention] {category}: {}", err.message))?;
        if *days == 0 {
            anyhow::bail!("[retention] {category}: the period must be at least 1 day");
        }
        policy
            .periods
            .insert(parsed, time::Duration::days(i64::from(*days)));
    }
    Ok(policy)
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("meditrustal.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(data_dir: Option<&str>, database_url: Option<&str>) -> GlobalArgs {
        GlobalArgs {
            config: None,
            data_dir: data_dir.map(PathBuf::from),
            database_url: database_url.map(str::to_owned),
            log_json: false,
            log_format: None,
        }
    }

    #[test]
    fn retention_periods_are_days_per_category() {
        let file: FileSettings =
            toml::from_str("[retention]\n\"clinical-note\" = 30\n\"lab-report\" = 3650\n").unwrap();
        let settings = Settings::resolve(&args(None, None), &file).unwrap();
        let periods = &settings.retention.periods;
        assert_eq!(periods.len(), 2);
        assert_eq!(
            periods.get(&meditrustal_domain::RecordCategory::ClinicalNote),
            Some(&time::Duration::days(30))
        );
        for bad in [
            "[retention]\nx-ray = 30\n",
            "[retention]\n\"clinical-note\" = 0\n",
        ] {
            let file: FileSettings = toml::from_str(bad).unwrap();
            assert!(
                Settings::resolve(&args(None, None), &file).is_err(),
                "{bad}"
            );
        }
        let none = Settings::resolve(&args(None, None), &FileSettings::default()).unwrap();
        assert!(none.retention.periods.is_empty());
    }

    #[test]
    fn defaults_give_sqlite_in_the_data_dir() {
        let settings = Settings::resolve(&args(None, None), &FileSettings::default()).unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("./data"));
        assert_eq!(settings.database_url, "sqlite://./data/meditrustal.db");
        assert_eq!(settings.auth.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn flags_and_environment_beat_the_file() {
        let file: FileSettings = toml::from_str(
            "data_dir = \"/srv/file\"\ndatabase_url = \"postgres://file\"\n[auth]\naccess_token_ttl_secs = 300\n",
        )
        .unwrap();
        let from_file = Settings::resolve(&args(None, None), &file).unwrap();
        assert_eq!(from_file.data_dir, PathBuf::from("/srv/file"));
        assert_eq!(from_file.database_url, "postgres://file");
        assert_eq!(from_file.auth.access_token_ttl, Duration::from_secs(300));

        let from_flags =
            Settings::resolve(&args(Some("/srv/flag"), Some("sqlite://x.db")), &file).unwrap();
        assert_eq!(from_flags.data_dir, PathBuf::from("/srv/flag"));
        assert_eq!(from_flags.database_url, "sqlite://x.db");
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        assert!(toml::from_str::<FileSettings>("databse_url = \"typo\"").is_err());
    }
}
