//! Prometheus metrics. Labels are the route *template* (`/api/v1/admin/users/{id}/approve`),
//! never the raw path, and never anything about the user, so no id or clinical value can end
//! up in a label.
//!
//! Besides HTTP counters and latencies, the product's events are counted from the answers the
//! edge gives (a 201 from `POST /api/v1/records` is a record created, a 403 anywhere is an
//! access denied, …): every such answer comes from exactly one use case, after its ledger
//! entry committed, so the count matches the ledger without the application knowing about
//! metrics. The ledger size is read from the latest signed tree head at each scrape.
//!
//! What happens off the request path (early-warning alerts raised after a note is stored,
//! notes analysed) the application reports through its [`ActivityObserver`] port, which
//! these metrics implement. With a chain configured, the anchoring lag (entries not yet
//! anchored, time of the last anchor) and the mirror's backlog are read at each scrape.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use meditrustal_app::{ActivityObserver, TextSource};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::AppState;

/// One registry per server instance (tests run many servers in one process).
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    records_created: IntCounter,
    record_versions_added: IntCounter,
    record_reads: IntCounter,
    access_denials: IntCounter,
    emergency_accesses: IntCounter,
    nlp_documents: IntCounterVec,
    nlp_bytes: IntCounterVec,
    nlp_duration: HistogramVec,
    alerts_raised: IntCounterVec,
    ledger_size: IntGauge,
    /// Registered only when the ledger is anchored on a chain.
    chain: Option<ChainGauges>,
}

struct ChainGauges {
    unanchored_entries: IntGauge,
    last_anchor_timestamp: IntGauge,
    mirror_backlog: IntGauge,
}

impl ChainGauges {
    fn register(registry: &Registry) -> Result<ChainGauges, prometheus::Error> {
        Ok(ChainGauges {
            unanchored_entries: gauge(
                registry,
                "chain_unanchored_entries",
                "Ledger entries not yet covered by a tree head anchored on the chain.",
            )?,
            last_anchor_timestamp: gauge(
                registry,
                "chain_last_anchor_timestamp_seconds",
                "Unix time of the latest anchor written on the chain; 0 before the first.",
            )?,
            mirror_backlog: gauge(
                registry,
                "chain_mirror_backlog",
                "Record versions waiting to be mirrored on the chain (mirror mode).",
            )?,
        })
    }
}

/// A product event an answer stands for.
enum ProductEvent {
    RecordCreated,
    RecordVersionAdded,
    RecordRead,
    AccessDenied,
    EmergencyAccess,
    NlpDocument(&'static str),
}

fn product_event(method: &Method, route: &str, status: StatusCode) -> Option<ProductEvent> {
    if status == StatusCode::FORBIDDEN {
        return Some(ProductEvent::AccessDenied);
    }
    if !status.is_success() {
        return None;
    }
    match (method.as_str(), route) {
        ("POST", "/api/v1/records") => Some(ProductEvent::RecordCreated),
        ("PUT", "/api/v1/records/{id}") => Some(ProductEvent::RecordVersionAdded),
        ("GET", "/api/v1/records/{id}/content") => Some(ProductEvent::RecordRead),
        ("POST", "/api/v1/records/{id}/emergency-access") => Some(ProductEvent::EmergencyAccess),
        ("POST", "/api/v1/nlp/analyze") => Some(ProductEvent::NlpDocument("analyze")),
        ("POST", "/api/v1/nlp/deidentify") => Some(ProductEvent::NlpDocument("deidentify")),
        ("POST", "/api/v1/nlp/summary") => Some(ProductEvent::NlpDocument("summary")),
        _ => None,
    }
}

fn counter(registry: &Registry, name: &str, help: &str) -> Result<IntCounter, prometheus::Error> {
    let counter = IntCounter::new(name, help)?;
    registry.register(Box::new(counter.clone()))?;
    Ok(counter)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let gauge = IntGauge::new(name, help)?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

/// A note takes milliseconds; a 1 MiB text sent to the analysis endpoints, about a second.
const NLP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl HttpMetrics {
    /// `chain`: whether the ledger is anchored on a chain (adds the anchoring gauges).
    pub fn new(chain: bool) -> Result<Arc<HttpMetrics>, prometheus::Error> {
        let registry = Registry::new_custom(Some("meditrustal".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route template and status.",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let records_created = counter(
            &registry,
            "records_created_total",
            "Records created (first versions).",
        )?;
        let record_versions_added = counter(
            &registry,
            "record_versions_added_total",
            "New versions added to existing records.",
        )?;
        let record_reads = counter(
            &registry,
            "record_reads_total",
            "Record contents read (each read is on the ledger).",
        )?;
        let access_denials = counter(
            &registry,
            "access_denials_total",
            "Requests the access policy denied (403; each denial is on the ledger).",
        )?;
        let emergency_accesses = counter(
            &registry,
            "emergency_accesses_total",
            "Break-glass emergency accesses granted.",
        )?;
        let nlp_documents = IntCounterVec::new(
            Opts::new(
                "nlp_documents_total",
                "Clinical texts processed by the NLP endpoints, by operation.",
            ),
            &["operation"],
        )?;
        registry.register(Box::new(nlp_documents.clone()))?;
        let nlp_bytes = IntCounterVec::new(
            Opts::new(
                "nlp_analysed_bytes_total",
                "UTF-8 bytes of clinical text the NLP engine analysed, by source (request: the \
                 analysis endpoints; record: stored notes).",
            ),
            &["source"],
        )?;
        registry.register(Box::new(nlp_bytes.clone()))?;
        let nlp_duration = HistogramVec::new(
            HistogramOpts::new(
                "nlp_analysis_duration_seconds",
                "Time the NLP engine took per text, by source; the count is texts analysed.",
            )
            .buckets(NLP_BUCKETS.to_vec()),
            &["source"],
        )?;
        registry.register(Box::new(nlp_duration.clone()))?;
        for source in [TextSource::Request, TextSource::Record] {
            nlp_bytes.with_label_values(&[source.as_str()]);
            nlp_duration.with_label_values(&[source.as_str()]);
        }
        let alerts_raised = IntCounterVec::new(
            Opts::new(
                "cdss_alerts_raised_total",
                "Early-warning alerts raised, by rule (news2, qsofa, sirs) and band.",
            ),
            &["rule", "band"],
        )?;
        registry.register(Box::new(alerts_raised.clone()))?;
        let ledger_size = gauge(
            &registry,
            "ledger_entries",
            "Entries in the ledger, as of the latest signed tree head.",
        )?;
        let chain = chain
            .then(|| ChainGauges::register(&registry))
            .transpose()?;
        let build_info = IntGaugeVec::new(
            Opts::new("build_info", "The running release; always 1."),
            &["version"],
        )?;
        registry.register(Box::new(build_info.clone()))?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Ok(Arc::new(HttpMetrics {
            registry,
            requests,
            latency,
            records_created,
            record_versions_added,
            record_reads,
            access_denials,
            emergency_accesses,
            nlp_documents,
            nlp_bytes,
            nlp_duration,
            alerts_raised,
            ledger_size,
            chain,
        }))
    }

    fn count_event(&self, event: ProductEvent) {
        match event {
            ProductEvent::RecordCreated => self.records_created.inc(),
            ProductEvent::RecordVersionAdded => self.record_versions_added.inc(),
            ProductEvent::RecordRead => self.record_reads.inc(),
            ProductEvent::AccessDenied => self.access_denials.inc(),
            ProductEvent::EmergencyAccess => self.emergency_accesses.inc(),
            ProductEvent::NlpDocument(operation) => {
                self.nlp_documents.with_label_values(&[operation]).inc();
            }
        }
    }

    fn render(&self) -> Result<Vec<u8>, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(buffer)
    }
}

impl ActivityObserver for HttpMetrics {
    fn alert_raised(&self, rule: &str, band: &str) {
        self.alerts_raised.with_label_values(&[rule, band]).inc();
    }

    fn text_analysed(&self, source: TextSource, bytes: usize, elapsed: Duration) {
        let source = source.as_str();
        self.nlp_bytes
            .with_label_values(&[source])
            .inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
        self.nlp_duration
            .with_label_values(&[source])
            .observe(elapsed.as_secs_f64());
    }
}

/// Middleware: counts and times every request.
pub async fn track(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(event) = product_event(&method, &route, response.status()) {
        metrics.count_event(event);
    }
    let method = method.as_str();
    let status = response.status().as_u16().to_string();
    metrics
        .requests
        .with_label_values(&[method, route.as_str(), status.as_str()])
        .inc();
    metrics
        .latency
        .with_label_values(&[method, route.as_str()])
        .observe(elapsed);
    response
}

/// `GET /metrics` in the Prometheus text exposition format 0.0.4.
pub async fn expose(State(state): State<AppState>) -> Response {
    let metrics = &state.metrics;
    match state.app.ledger_head().await {
        Ok((head, _)) => metrics
            .ledger_size
            .set(i64::try_from(head.head.tree_size).unwrap_or(i64::MAX)),
        // No head yet (empty ledger) or the database is down: keep the last value.
        Err(err) => tracing::debug!(%err, "ledger size for metrics"),
    }
    if let Some(chain) = &metrics.chain {
        match state.app.chain_status().await {
            Ok(status) => {
                let lag = status
                    .ledger_tree_size
                    .saturating_sub(status.anchored_tree_size);
                chain
                    .unanchored_entries
                    .set(i64::try_from(lag).unwrap_or(i64::MAX));
                chain.last_anchor_timestamp.set(
                    status
                        .last_anchored_at
                        .map_or(0, time::OffsetDateTime::unix_timestamp),
                );
                chain
                    .mirror_backlog
                    .set(i64::try_from(status.mirror_backlog).unwrap_or(i64::MAX));
            }
            Err(err) => tracing::debug!(%err, "chain status for metrics"),
        }
    }
    match metrics.render() {
        Ok(body) => ([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response(),
        Err(err) => {
            tracing::error!(%err, "rendering metrics");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
