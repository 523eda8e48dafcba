//! Test support: every test gets a database of its own, on either backend.
//!
//! PostgreSQL tests use the server at `MEDITRUSTAL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), create a uniquely named database and drop
//! it afterwards. When that server is unreachable they FAIL under CI (`CI` set) and are
//! skipped elsewhere with a loud message, so a developer without PostgreSQL can still run
//! the SQLite half.

#![allow(clippy::expect_used, clippy::panic)]

pub mod ganache;

use std::fmt;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The two storage backends every shared test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl fmt::Display for TestBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TestBackend::Sqlite => "sqlite",
            TestBackend::Postgres => "postgres",
        })
    }
}

/// A database that exists for one test. Dropping it removes it.
pub struct TestDatabase {
    pub url: String,
    /// Scratch directory of the test (holds the SQLite file; usable for other files).
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl TestDatabase {
    /// A fresh, empty database, or `None` when PostgreSQL is unreachable outside CI.
    pub async fn create(backend: TestBackend) -> Option<TestDatabase> {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            TestBackend::Sqlite => Some(TestDatabase {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                dir,
                postgres: None,
            }),
            TestBackend::Postgres => {
                let admin_url = std::env::var("MEDITRUSTAL_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
                let mut admin = match PgConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(err) if std::env::var_os("CI").is_some() => {
                        panic!("PostgreSQL at {admin_url} is required under CI: {err}")
                    }
                    Err(err) => {
                        eprintln!(
                            "\n!!! SKIPPING PostgreSQL test: {admin_url} unreachable ({err}).\n\
                             !!! Start PostgreSQL or set MEDITRUSTAL_TEST_POSTGRES_URL.\n"
                        );
                        return None;
                    }
                };
                let name = format!("mt_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let url = replace_database(&admin_url, &name);
                Some(TestDatabase {
                    url,
                    dir,
                    postgres: Some((admin_url, name)),
                })
            }
        }
    }
}

/// Swaps the database name (the URL path) of a PostgreSQL URL.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context we can rely on: use a private runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}

/// Declares each listed `async fn NAME(backend: TestBackend)` as two tests, `sqlite::NAME`
/// and `postgres::NAME`, so one suite proves both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestBackend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestBackend::Postgres).await
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "y"),
            "postgres://u:p@h/y?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "z"), "postgres://h/z");
    }
}
