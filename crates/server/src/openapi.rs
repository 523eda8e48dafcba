use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MediTrustAl API",
        description = "Patient-centric medical data platform: accounts, consented access to \
                       encrypted records, and a verifiable audit ledger. Every error answers \
                       `{\"error\":{\"code\",\"message\",\"details\",\"request_id\"}}`.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login, tokens"),
        (name = "admin", description = "Account administration (admins only)"),
        (name = "records", description = "Encrypted records: create, list, read, version, prove"),
        (name = "consent", description = "Consents, access requests, emergency access, notifications"),
        (name = "audit", description = "Audit trail and the verifiable ledger"),
        (name = "rights", description = "Data-subject rights (PIPL): erasure by crypto-shredding, legal holds"),
        (name = "cdss", description = "Clinical decision support: published scores with their explanation"),
        (name = "nlp", description = "Chinese clinical text: entities, assertions, codes, measurements, PHI, de-identification, summaries"),
        (name = "research", description = "Research: profiles, research consent, projects, cohort counts, de-identified k-anonymous exports"),
        (name = "operations", description = "Health and readiness"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub(crate) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
