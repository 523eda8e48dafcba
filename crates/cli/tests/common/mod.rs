//! What the binary's end-to-end tests share: a deployment (data directory, database,
//! optional configuration file) to run commands on, a `meditrustal serve` process on a free
//! port, and accounts to call it with.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use meditrustal_testkit::{TestBackend, TestDatabase};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const BINARY: &str = env!("CARGO_BIN_EXE_meditrustal");
pub const PASSWORD: &str = "Sturdy-Passphrase-42";
pub const S3_ACCESS_KEY: &str = "meditrustal-test";
pub const S3_SECRET: &str = "s3-test-secret-key-0123456789";

/// A data directory and the database the commands use.
pub struct Deployment {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// A TOML configuration file (S3 storage); its secret comes from the environment.
    pub config: Option<PathBuf>,
}

impl Deployment {
    /// SQLite inside the data directory, or the test's PostgreSQL database.
    pub fn for_test(database: &TestDatabase, backend: TestBackend, name: &str) -> Deployment {
        Deployment {
            data_dir: database.dir.path().join(name),
            database_url: (backend == TestBackend::Postgres).then(|| database.url.clone()),
            config: None,
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(BINARY);
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("MEDITRUSTAL_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("MEDITRUSTAL_MASTER_KEY")
            .env_remove("MEDITRUSTAL_CONFIG")
            // Traces only where a test asks for them.
            .env_remove("MEDITRUSTAL_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME");
        if let Some(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        if let Some(config) = &self.config {
            command
                .arg("--config")
                .arg(config)
                .env("MEDITRUSTAL_S3_SECRET_KEY", S3_SECRET);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `meditrustal serve` process on a free port.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(deployment: &Deployment) -> Server {
        Server::start_with(deployment, &[], &[]).await
    }

    /// `serve` with more arguments and environment variables.
    pub async fn start_with(
        deployment: &Deployment,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = deployment.command();
        command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("MEDITRUSTAL_ADMIN_PASSWORD", "Operator-Test-Passphrase")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = client.get(server.url("/healthz")).send().await;
            if matches!(up, Ok(ref r) if r.status().is_success()) {
                return server;
            }
            assert!(Instant::now() < deadline, "server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit by itself.
    pub async fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("the server did not exit within 60 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A test that fails half-way leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub async fn register_and_login(
    server: &Server,
    client: &reqwest::Client,
    username: &str,
) -> String {
    let body = json!({
        "username": username,
        "email": format!("{username}@example.cn"),
        "password": PASSWORD,
        "role": "patient",
    });
    let response = client
        .post(server.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    login(server, client, username).await
}

pub async fn login(server: &Server, client: &reqwest::Client, username: &str) -> String {
    let response = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    session["access_token"].as_str().unwrap().to_owned()
}

/// A deployment on SQLite inside `data_dir`.
pub fn sqlite_in(data_dir: &Path) -> Deployment {
    Deployment {
        data_dir: data_dir.to_owned(),
        database_url: None,
        config: None,
    }
}
