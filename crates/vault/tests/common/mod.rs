//! Test backends: a local directory, and a real S3 server (`s3s-fs`) started per test
//! on 127.0.0.1 with a free port. s3s-fs verifies SigV4 signatures, so it can prove
//! that a wrong secret is refused.
//!
//! Install once: `cargo install s3s-fs@0.14.1 --features binary --locked`.
//! The binary is looked up as `$S3S_FS_BIN`, then on `PATH`, then in `$CARGO_HOME/bin`
//! (default `~/.cargo/bin`). Missing binary: the S3 tests FAIL when `CI` is set and are
//! skipped with a loud message otherwise.

#![allow(dead_code)]

use meditrustal_vault::object_store::ObjectStore;
use meditrustal_vault::{Kek, KeyRing, OsRandom, S3Addressing, S3Config, StorageConfig, Vault};
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use zeroize::Zeroizing;

pub const ACCESS_KEY: &str = "meditrustal-test";
pub const SECRET_KEY: &str = "test-secret-0123456789";
pub const BUCKET: &str = "records-test";
const INSTALL_HINT: &str = "cargo install s3s-fs@0.14.1 --features binary --locked";

/// A vault over one backend, plus a raw handle on the same store for tampering.
pub struct Backend {
    pub name: &'static str,
    pub vault: Vault,
    pub raw: Arc<dyn ObjectStore>,
    pub keys_seed: u8,
    _dir: TempDir,
    server: Option<S3Server>,
}

fn test_keys(seed: u8) -> KeyRing {
    KeyRing::new(Kek::from_bytes(Zeroizing::new([seed; 32])))
}

impl Backend {
    pub fn local() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::local_in_data_dir(dir.path());
        let raw = config.build().unwrap();
        // `open` (not `new`) so local writes go through the fsync path.
        let vault = Vault::open(&config, test_keys(1)).unwrap();
        Self {
            name: "local",
            vault,
            raw,
            keys_seed: 1,
            _dir: dir,
            server: None,
        }
    }

    /// `None` (after a loud message) when s3s-fs is not installed and `CI` is unset.
    pub fn s3() -> Option<Self> {
        let binary = s3s_fs_binary()?;
        let dir = tempfile::tempdir().unwrap();
        let server = S3Server::start(&binary, dir.path().join("s3"));
        let config = StorageConfig::S3(server.config(SECRET_KEY));
        let raw = config.build().unwrap();
        let vault = Vault::new(raw.clone(), test_keys(1), Arc::new(OsRandom));
        Some(Self {
            name: "s3",
            vault,
            raw,
            keys_seed: 1,
            _dir: dir,
            server: Some(server),
        })
    }

    /// A second vault on the same server with another secret key (S3 only).
    pub fn s3_vault_with_secret(&self, secret: &str) -> Option<Vault> {
        let server = self.server.as_ref()?;
        let config = StorageConfig::S3(server.config(secret));
        Some(Vault::new(
            config.build().unwrap(),
            test_keys(1),
            Arc::new(OsRandom),
        ))
    }
}

fn s3s_fs_binary() -> Option<PathBuf> {
    let from_env = std::env::var_os("S3S_FS_BIN").map(PathBuf::from);
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin").join("s3s-fs"));
    let found = from_env
        .into_iter()
        .chain(on_path)
        .chain(cargo_home)
        .find(|p| p.is_file());
    if found.is_none() {
        let message = format!(
            "s3s-fs binary not found ($S3S_FS_BIN, PATH, $CARGO_HOME/bin); install it with `{INSTALL_HINT}`"
        );
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and the S3 integration tests cannot run: {message}");
        }
        // Written to the stderr handle directly: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!!! SKIPPING S3 TEST: {message} !!!!!!!!!!\n"
        );
    }
    found
}

/// An s3s-fs process; killed when dropped.
pub struct S3Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl S3Server {
    fn start(binary: &PathBuf, root: PathBuf) -> Self {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let log = root.with_extension("log");
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log_file = std::fs::File::create(&log).unwrap();
            let child = Command::new(binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(&root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
            let mut server = Self {
                child,
                port,
                log: log.clone(),
            };
            match server.wait_until_listening(Duration::from_secs(15)) {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("s3s-fs did not start: {last_error}");
    }

    fn wait_until_listening(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("exited with {status} (port {}): {log}", self.port));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!(
            "not listening on port {} after {limit:?}",
            self.port
        ))
    }

    pub fn config(&self, secret: &str) -> S3Config {
        S3Config {
            endpoint: format!("http://127.0.0.1:{}", self.port),
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: Zeroizing::new(secret.into()),
            addressing: S3Addressing::PathStyle,
            allow_http: true,
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
