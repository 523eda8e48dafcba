//! The axum HTTP adapter: `/api/v1` (JSON), OpenAPI at `/api/v1/openapi.json` with a docs UI
//! at `/api/docs`, `/metrics`, `/healthz`, `/readyz`, and the web UI (`web/dist`, embedded)
//! at every other path. Handlers are thin: they parse, call one
//! [`App`] method and map its answer; every error passes through [`error::ApiError`].

pub mod error;
mod extract;
mod metrics;
mod openapi;
mod request_span;
mod routes;
mod security;
mod tls;
mod web_ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use meditrustal_app::App;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

pub use metrics::HttpMetrics;
pub use tls::TlsFiles;

/// How the HTTP server is set up.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// Largest JSON body accepted by the API.
    pub max_json_bytes: usize,
    /// Largest record upload; larger requests are refused before being read.
    pub max_upload_bytes: usize,
    pub request_timeout: Duration,
    /// Serve HTTPS with this certificate and key (and send HSTS); plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Origins (`https://ui.example.org`) allowed to call the API from a browser; none: no
    /// CORS headers, same-origin only.
    pub cors_origins: Vec<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_json_bytes: 1024 * 1024,
            max_upload_bytes: routes::records::MAX_RECORD_BYTES,
            request_timeout: Duration::from_secs(30),
            tls: None,
            cors_origins: Vec::new(),
        }
    }
}

#[derive(Clone)]
struct AppState {
    app: App,
    metrics: Arc<HttpMetrics>,
}

impl FromRef<AppState> for App {
    fn from_ref(state: &AppState) -> App {
        state.app.clone()
    }
}

impl FromRef<AppState> for Arc<HttpMetrics> {
    fn from_ref(state: &AppState) -> Arc<HttpMetrics> {
        state.metrics.clone()
    }
}

/// A bound, not yet running server. Binding first lets tests use port 0 and read the port.
pub struct Application {
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Application {
    /// Fails before binding on an unreadable certificate or key and on an origin that is not
    /// a valid header value.
    pub async fn build(settings: &ServerSettings, app: App) -> std::io::Result<Application> {
        let tls = settings.tls.as_ref().map(tls::server_config).transpose()?;
        let cors_origins = settings
            .cors_origins
            .iter()
            .map(|origin| {
                axum::http::HeaderValue::from_str(origin.trim_end_matches('/')).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("CORS origin `{origin}` is not a valid header value"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metrics =
            HttpMetrics::new(app.chain_mode().is_some()).map_err(std::io::Error::other)?;
        if !app.report_activity_to(metrics.clone()) {
            tracing::debug!("this App already reports its activity to another server's metrics");
        }
        let router = router(settings, AppState { app, metrics });
        let router = security::apply(router, tls.is_some(), &cors_origins);
        let listener = TcpListener::bind(settings.bind).await?;
        Ok(Application {
            listener,
            router,
            tls,
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Some(config) = self.tls {
            let listener = tls::TlsListener::new(self.listener, config)?;
            let service = self
                .router
                .into_make_service_with_connect_info::<tls::TlsPeer>();
            return axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await;
        }
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// The complete OpenAPI document as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    let (_, openapi) = api_routes(&ServerSettings::default()).split_for_parts();
    openapi.to_pretty_json()
}

/// Every documented route; the OpenAPI document is generated from the same list.
///
/// Each group refuses a body whose Content-Length exceeds its limit before reading any of it
/// (1 MiB for JSON, 25 MiB for record uploads), so a client is answered 413 at once rather
/// than after sending megabytes; bodies without a length are cut off at the same limits.
fn api_routes(settings: &ServerSettings) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(
            routes::records::create_record,
            routes::records::list_records
        ))
        .routes(routes!(
            routes::records::get_record,
            routes::records::update_record
        ))
        .layer(RequestBodyLimitLayer::new(settings.max_upload_bytes));
    json_routes()
        .layer(RequestBodyLimitLayer::new(settings.max_json_bytes))
        .merge(uploads)
}

fn json_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(routes::auth::register))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::refresh))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::auth::fhir_token))
        .routes(routes!(routes::me::me))
        .routes(routes!(routes::admin::list_users))
        .routes(routes!(routes::admin::approve_user))
        .routes(routes!(routes::admin::suspend_user))
        .routes(routes!(routes::admin::system_status))
        .routes(routes!(routes::cdss::list_scores))
        .routes(routes!(routes::cdss::compute_score))
        .routes(routes!(routes::nlp::analyze))
        .routes(routes!(routes::nlp::deidentify))
        .routes(routes!(routes::nlp::summary))
        .routes(routes!(routes::health::landing))
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::records::read_content))
        .routes(routes!(routes::records::record_proof))
        .routes(routes!(
            routes::records::analyze_record,
            routes::records::record_analysis
        ))
        .routes(routes!(routes::cdss::list_alerts))
        .routes(routes!(routes::cdss::alert_stream))
        .routes(routes!(routes::cdss::patient_risk))
        .routes(routes!(routes::records::emergency_access))
        .routes(routes!(routes::rights::erase_record))
        .routes(routes!(routes::rights::erase_my_account))
        .routes(routes!(routes::rights::erase_account))
        .routes(routes!(
            routes::rights::set_legal_hold,
            routes::rights::clear_legal_hold
        ))
        .routes(routes!(
            routes::rights::request_correction,
            routes::rights::list_corrections
        ))
        .routes(routes!(routes::rights::accept_correction))
        .routes(routes!(routes::rights::reject_correction))
        .routes(routes!(routes::rights::start_export))
        .routes(routes!(routes::rights::export_status))
        .routes(routes!(routes::rights::download_export))
        .routes(routes!(
            routes::research::get_profile,
            routes::research::put_profile
        ))
        .routes(routes!(
            routes::research::list_research_consents,
            routes::research::set_research_consent
        ))
        .routes(routes!(routes::research::my_research_exports))
        .routes(routes!(
            routes::research::propose_project,
            routes::research::list_projects
        ))
        .routes(routes!(routes::research::get_project))
        .routes(routes!(routes::research::decide_project))
        .routes(routes!(routes::research::count_cohort))
        .routes(routes!(
            routes::research::start_research_export,
            routes::research::list_research_exports
        ))
        .routes(routes!(routes::research::research_export_status))
        .routes(routes!(routes::research::download_research_export))
        .routes(routes!(
            routes::consents::grant_consent,
            routes::consents::list_consents
        ))
        .routes(routes!(routes::consents::revoke_consent))
        .routes(routes!(
            routes::consents::request_access,
            routes::consents::list_access_requests
        ))
        .routes(routes!(routes::consents::approve_access_request))
        .routes(routes!(routes::consents::deny_access_request))
        .routes(routes!(routes::consents::notifications))
        .routes(routes!(routes::audit::audit))
        .routes(routes!(routes::audit::ledger_head))
        .routes(routes!(routes::audit::ledger_entries))
        .routes(routes!(routes::audit::inclusion_proof))
        .routes(routes!(routes::audit::consistency_proof))
}

fn router(settings: &ServerSettings, state: AppState) -> Router {
    let (api, openapi) = api_routes(settings).split_for_parts();
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let fhir = routes::fhir::router(scheme).layer(RequestBodyLimitLayer::new(
        routes::fhir::MAX_FHIR_BYTES.min(settings.max_upload_bytes),
    ));

    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span::make)
                .on_response(request_span::record_status),
        )
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn(error::render_errors))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(DefaultBodyLimit::max(settings.max_json_bytes));

    api.route("/metrics", get(metrics::expose))
        .nest("/fhir/r4", fhir)
        // Clients that join paths to a base ending in `/` post Bundles here.
        .route(
            "/fhir/r4/",
            axum::routing::post(routes::fhir::bundle).layer(RequestBodyLimitLayer::new(
                routes::fhir::MAX_FHIR_BYTES.min(settings.max_upload_bytes),
            )),
        )
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi))
        .fallback(web_ui::serve)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(layers)
        .with_state(state)
}
