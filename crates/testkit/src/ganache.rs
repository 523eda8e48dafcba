//! A real Ganache (npm `ganache`, installed in `contracts/node_modules` by
//! `scripts/install-test-tools`) started per test on 127.0.0.1 with a free port and
//! stopped when dropped. Missing binary: FAIL under `CI`, skip loudly elsewhere.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ganache's deterministic account 0 (`--wallet.deterministic`): a well-known test key.
pub const DEV_KEY: &str = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
/// Deterministic account 1, for tests of who may write.
pub const OTHER_KEY: &str = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";

pub struct Ganache {
    child: Child,
    port: u16,
}

impl Ganache {
    /// Starts an empty chain, or returns `None` (after a loud message) when Ganache is not
    /// installed and `CI` is unset.
    pub fn start() -> Option<Self> {
        let port = free_port();
        Self::start_on(port)
    }

    /// Starts an empty chain on `port` (to restart a chain at the same address).
    pub fn start_on(port: u16) -> Option<Self> {
        let binary = binary()?;
        let child = Command::new(binary)
            .args([
                "--wallet.deterministic",
                "--chain.chainId",
                "1337",
                "--server.host",
                "127.0.0.1",
            ])
            .args(["--server.port", &port.to_string(), "--logging.quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ganache: {e}"));
        let ganache = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "ganache did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(ganache)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the chain; everything on it is gone.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Ganache {
    fn drop(&mut self) {
        self.kill();
    }
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("GANACHE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../contracts/node_modules/.bin/ganache")
        });
    if path.exists() {
        return Some(path);
    }
    let hint = "run scripts/install-test-tools (npm ci in contracts/)";
    if std::env::var_os("CI").is_some() {
        panic!(
            "Ganache is required under CI but {} is missing: {hint}",
            path.display()
        );
    }
    eprintln!("SKIPPED: Ganache not found at {} ({hint})", path.display());
    None
}

fn free_port() -> u16 {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).unwrap_or_else(|e| panic!("no free port: {e}"));
    listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no port: {e}"))
}
