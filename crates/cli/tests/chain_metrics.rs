//! The anchoring lag on `/metrics` of a server that writes the ledger to a real Ganache:
//! entries wait, are anchored, and wait again (with the last anchor's time standing still)
//! while the chain is away.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, register_and_login, sqlite_in, text};
use meditrustal_testkit::ganache::{DEV_KEY, Ganache};

/// The value of an unlabelled sample, if the series is there.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// A record: one more ledger entry.
async fn create_record(server: &Server, client: &reqwest::Client, token: &str) {
    let response = client
        .post(server.url("/api/v1/records?category=lab-report"))
        .bearer_auth(token)
        .header("content-type", "text/plain; charset=utf-8")
        .body("血红蛋白 132 g/L")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
}

async fn scrape(server: &Server, client: &reqwest::Client) -> String {
    client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchoring_lag_is_exported_by_the_chain_writer() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let deployment = sqlite_in(&dir.path().join("data"));
    let rpc = ganache.url();
    let deploy = deployment
        .command()
        .args(["chain", "deploy", "--chain-rpc", &rpc])
        .env("MEDITRUSTAL_CHAIN_KEY", DEV_KEY)
        .output()
        .unwrap();
    assert!(deploy.status.success(), "{}", text(&deploy));

    let server = Server::start_with(
        &deployment,
        &["--chain-rpc", &rpc, "--anchor-every-secs", "1"],
        &[("MEDITRUSTAL_CHAIN_KEY", DEV_KEY)],
    )
    .await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_anchor").await;
    create_record(&server, &client, &token).await;

    // Wait (hang guard, not a timing assertion) until the writer anchored what there is.
    let deadline = Instant::now() + Duration::from_secs(60);
    let anchored_at = loop {
        let metrics = scrape(&server, &client).await;
        let unanchored = sample(&metrics, "meditrustal_chain_unanchored_entries");
        let last = sample(&metrics, "meditrustal_chain_last_anchor_timestamp_seconds");
        assert!(unanchored.is_some() && last.is_some(), "{metrics}");
        let entries = sample(&metrics, "meditrustal_ledger_entries");
        if entries.is_some_and(|n| n > 0.0)
            && unanchored == Some(0.0)
            && last.is_some_and(|t| t > 0.0)
        {
            assert_eq!(
                sample(&metrics, "meditrustal_chain_mirror_backlog"),
                Some(0.0)
            );
            break last.unwrap();
        }
        assert!(Instant::now() < deadline, "never anchored: {metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // With the chain gone, new entries wait and the last anchor stays where it was.
    ganache.stop();
    create_record(&server, &client, &token).await;
    let metrics = scrape(&server, &client).await;
    let unanchored = sample(&metrics, "meditrustal_chain_unanchored_entries").unwrap();
    assert!(unanchored > 0.0, "{metrics}");
    assert_eq!(
        sample(&metrics, "meditrustal_chain_last_anchor_timestamp_seconds"),
        Some(anchored_at)
    );
    server.kill();
}
