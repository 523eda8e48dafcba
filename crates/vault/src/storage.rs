//! Choosing and building the object store: a local directory (embedded default,
//! `<data-dir>/objects`) or any S3-compatible endpoint (MinIO, Garage, Ceph RGW).

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Why the object store could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StorageConfigError {
    /// The local object directory could not be created.
    #[error("creating object directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A required S3 setting is empty.
    #[error("S3 setting `{0}` is empty")]
    Missing(&'static str),
    /// A plain-http endpoint without `allow_http`.
    #[error("S3 endpoint {0} is plain http; use https, or set allow_http for local tests")]
    PlainHttp(String),
    /// `object_store` rejected the configuration.
    #[error("invalid object store configuration: {0}")]
    Invalid(#[source] object_store::Error),
}

/// How S3 requests address the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum S3Addressing {
    /// `https://endpoint/bucket/key` — MinIO, Garage, Ceph RGW and most self-hosted servers.
    #[default]
    PathStyle,
    /// `https://bucket.endpoint/key` — AWS and servers configured with a wildcard domain.
    VirtualHosted,
}

/// Connection settings for an S3-compatible server.
#[derive(Clone)]
pub struct S3Config {
    /// Base URL, e.g. `https://minio.internal:9000`.
    pub endpoint: String,
    /// Bucket name (must already exist).
    pub bucket: String,
    /// Signing region; `us-east-1` for most self-hosted servers.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (zeroized on drop, redacted in `Debug`).
    pub secret_access_key: Zeroizing<String>,
    /// Path-style or virtual-hosted addressing.
    pub addressing: S3Addressing,
    /// Permit plain `http://` endpoints (local tests only; production uses TLS).
    pub allow_http: bool,
}

impl S3Config {
    fn validate(&self) -> Result<(), StorageConfigError> {
        let required = [
            ("endpoint", self.endpoint.as_str()),
            ("bucket", self.bucket.as_str()),
            ("region", self.region.as_str()),
            ("access_key_id", self.access_key_id.as_str()),
            ("secret_access_key", self.secret_access_key.as_str()),
        ];
        if let Some((name, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(StorageConfigError::Missing(name));
        }
        if !self.allow_http && self.endpoint.to_ascii_lowercase().starts_with("http://") {
            return Err(StorageConfigError::PlainHttp(self.endpoint.clone()));
        }
        Ok(())
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("addressing", &self.addressing)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Where record ciphertexts are stored.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A local directory.
    Local {
        /// Root directory of the objects (created if missing).
        root: PathBuf,
    },
    /// An S3-compatible server.
    S3(S3Config),
}

impl StorageConfig {
    /// The embedded default: `<data_dir>/objects`.
    pub fn local_in_data_dir(data_dir: &Path) -> Self {
        Self::Local {
            root: data_dir.join("objects"),
        }
    }

    /// Builds the store. Makes no network request: a wrong endpoint or credential
    /// shows up on the first read or write.
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>, StorageConfigError> {
        match self {
            Self::Local { root } => {
                std::fs::create_dir_all(root).map_err(|source| StorageConfigError::CreateDir {
                    path: root.clone(),
                    source,
                })?;
                let store = LocalFileSystem::new_with_prefix(root)
                    .map_err(StorageConfigError::Invalid)?
                    .with_automatic_cleanup(true);
                Ok(Arc::new(store))
            }
            Self::S3(s3) => {
                s3.validate()?;
                // `new()`, not `from_env()`: only what was configured is used, never stray AWS_* variables.
                let store = AmazonS3Builder::new()
                    .with_endpoint(&s3.endpoint)
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(s3.secret_access_key.as_str())
                    .with_virtual_hosted_style_request(s3.addressing == S3Addressing::VirtualHosted)
                    .with_allow_http(s3.allow_http)
                    .build()
                    .map_err(StorageConfigError::Invalid)?;
                Ok(Arc::new(store))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> S3Config {
        S3Config {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "records".into(),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Zeroizing::new("wJalrXUtnFEMI-very-secret".into()),
            addressing: S3Addressing::PathStyle,
            allow_http: true,
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let dbg = format!("{:?}", StorageConfig::S3(s3()));
        assert!(dbg.contains("<redacted>") && dbg.contains("AKIDEXAMPLE"));
        assert!(!dbg.contains("very-secret"));
    }

    #[test]
    fn local_store_creates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::local_in_data_dir(dir.path());
        config.build().unwrap();
        assert!(dir.path().join("objects").is_dir());
    }

    #[test]
    fn s3_store_builds_without_network() {
        StorageConfig::S3(s3()).build().unwrap();
        let mut no_bucket = s3();
        no_bucket.bucket = String::new();
        assert!(matches!(
            StorageConfig::S3(no_bucket).build(),
            Err(StorageConfigError::Missing("bucket"))
        ));
        let mut no_secret = s3();
        no_secret.secret_access_key = Zeroizing::new(String::new());
        assert!(matches!(
            StorageConfig::S3(no_secret).build(),
            Err(StorageConfigError::Missing("secret_access_key"))
        ));
        let mut plain = s3();
        plain.allow_http = false;
        assert!(matches!(
            StorageConfig::S3(plain).build(),
            Err(StorageConfigError::PlainHttp(_))
        ));
    }
}
