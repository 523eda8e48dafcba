use std::num::NonZeroU32;
use std::sync::Arc;

use meditrustal_app::{App, AppParts, AuthSettings, JwtSecret, SystemClock, ThrottleLimits};
use meditrustal_ledger::SigningKey;
use meditrustal_server::{Application, ServerSettings};
use meditrustal_testkit::{TestBackend, TestDatabase};
use meditrustal_vault::{KeyDirectory, OsRandom, StorageConfig, Vault};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "Operator-Test-Passphrase";
pub const PASSWORD: &str = "Sturdy-Passphrase-42";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    _db: TestDatabase,
}

/// Login throttling that tests of other things never hit (all clients are 127.0.0.1).
pub fn relaxed_limits() -> ThrottleLimits {
    ThrottleLimits {
        per_account_per_minute: NonZeroU32::new(5).unwrap(),
        per_address_per_minute: NonZeroU32::new(10_000).unwrap(),
    }
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> Option<TestApp> {
        TestApp::spawn_with(backend, relaxed_limits()).await
    }

    pub async fn spawn_with(backend: TestBackend, throttle: ThrottleLimits) -> Option<TestApp> {
        let db = TestDatabase::create(backend).await?;
        let store = meditrustal_store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let jwt_secret = JwtSecret::new(uuid::Uuid::new_v4().as_bytes().repeat(2)).unwrap();
        let auth = AuthSettings {
            throttle,
            ..AuthSettings::default()
        };
        let keys = KeyDirectory::in_data_dir(db.dir.path())
            .load_or_generate(&OsRandom)
            .unwrap();
        let vault = Vault::open(&StorageConfig::local_in_data_dir(db.dir.path()), keys).unwrap();
        let app = App::new(AppParts {
            store,
            clock: Arc::new(SystemClock),
            jwt_secret,
            auth,
            vault,
            ledger_key: SigningKey::from_bytes(
                uuid::Uuid::new_v4()
                    .as_bytes()
                    .repeat(2)
                    .as_slice()
                    .try_into()
                    .unwrap(),
            ),
        });
        app.ensure_bootstrap_admin(ADMIN_PASSWORD)
            .await
            .expect("bootstrap admin");
        let server = ServerSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..ServerSettings::default()
        };
        let application = Application::build(&server, app).await.expect("bind");
        let address = format!("http://{}", application.local_addr().unwrap());
        tokio::spawn(application.run_until(std::future::pending()));
        Some(TestApp {
            address,
            client: reqwest::Client::new(),
            _db: db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn put(&self, path: &str, body: &Value, token: &str) -> Response {
        let request = self.client.put(self.url(path)).json(body);
        request.bearer_auth(token).send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// Registers and returns the created account (asserting 201).
    pub async fn register(&self, username: &str, role: &str) -> Value {
        let body = json!({
            "username": username,
            "email": format!("{username}@example.cn"),
            "password": PASSWORD,
            "role": role,
        });
        let response = self.post("/api/v1/auth/register", &body, None).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        let body = json!({ "username": username, "password": password });
        self.post("/api/v1/auth/login", &body, None).await
    }

    /// Logs in and returns the whole token pair (asserting 200).
    pub async fn session(&self, username: &str, password: &str) -> Value {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        response.json().await.unwrap()
    }

    pub async fn token(&self, username: &str) -> String {
        let password = if username == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        self.session(username, password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn approve(&self, user_id: &str) {
        let admin = self.token("admin").await;
        let path = format!("/api/v1/admin/users/{user_id}/approve");
        let response = self.post(&path, &json!({}), Some(&admin)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Registers (and, for professionals, approves) an account and returns (id, token).
    pub async fn user(&self, username: &str, role: &str) -> (String, String) {
        let user = self.register(username, role).await;
        let id = user["id"].as_str().unwrap().to_owned();
        if role != "patient" {
            self.approve(&id).await;
        }
        (id, self.token(username).await)
    }

    /// Uploads record content; returns the response.
    pub async fn upload(
        &self,
        token: &str,
        query: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/records?{query}")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Replaces a record's content with a new version; returns the response.
    pub async fn new_version(
        &self,
        token: &str,
        record: &str,
        content_type: &str,
        body: &str,
    ) -> Response {
        self.client
            .put(self.url(&format!("/api/v1/records/{record}")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
    }

    /// Creates a text note for the token's patient and returns its id.
    pub async fn note(&self, token: &str, text: &str) -> String {
        let response = self
            .upload(
                token,
                "category=clinical-note",
                "text/plain; charset=utf-8",
                text.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let record: Value = response.json().await.unwrap();
        record["id"].as_str().unwrap().to_owned()
    }

    /// Every account, as the admin sees them.
    pub async fn usernames(&self) -> Vec<String> {
        let admin = self.token("admin").await;
        let body: Value = self
            .get("/api/v1/admin/users?limit=200", Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Announces a body of `len` bytes and waits for the answer before sending any of it, the
/// way a client using `Expect: 100-continue` would: the server must refuse an oversized body
/// from its Content-Length alone. Returns the status and the JSON body.
pub async fn announce_oversized(
    app: &TestApp,
    target: &str,
    token: Option<&str>,
    content_type: &str,
    len: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {target} HTTP/1.1\r\nhost: {address}\r\ncontent-type: {content_type}\r\n{auth}content-length: {len}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(
        read.is_ok(),
        "the server waited for the body instead of refusing it"
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let json = text
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

/// Checks the error envelope of DESIGN.md §5 and returns its code.
pub async fn error_code(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let header_id = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id header")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.expect("JSON error body");
    let error = &body["error"];
    assert_eq!(error["request_id"], header_id.as_str(), "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["details"].is_object(), "{body}");
    error["code"].as_str().expect("code").to_owned()
}
