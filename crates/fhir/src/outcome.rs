//! OperationOutcome: how every FHIR error (and a few successes) is answered.

use serde_json::{Value, json};

/// The `issue.code` values this server uses (IssueType, required binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    Invalid,
    Structure,
    Required,
    Value,
    Invariant,
    Security,
    Login,
    Forbidden,
    NotFound,
    Deleted,
    Conflict,
    NotSupported,
    Processing,
    TooCostly,
    Throttled,
    Exception,
    Informational,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Invalid => "invalid",
            IssueCode::Structure => "structure",
            IssueCode::Required => "required",
            IssueCode::Value => "value",
            IssueCode::Invariant => "invariant",
            IssueCode::Security => "security",
            IssueCode::Login => "login",
            IssueCode::Forbidden => "forbidden",
            IssueCode::NotFound => "not-found",
            IssueCode::Deleted => "deleted",
            IssueCode::Conflict => "conflict",
            IssueCode::NotSupported => "not-supported",
            IssueCode::Processing => "processing",
            IssueCode::TooCostly => "too-costly",
            IssueCode::Throttled => "throttled",
            IssueCode::Exception => "exception",
            IssueCode::Informational => "informational",
        }
    }
}

/// One problem: what kind, a safe human message, and where (a FHIRPath-like expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: IssueCode,
    pub diagnostics: String,
    pub expression: Option<String>,
}

impl Issue {
    pub fn new(code: IssueCode, diagnostics: impl Into<String>) -> Issue {
        Issue {
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Issue {
        self.expression = Some(expression.into());
        self
    }
}

/// An OperationOutcome of error issues; `platform_code` (the `/api/v1` error code, such as
/// `CONSENT_REQUIRED`) goes into each issue's `details.text` so both APIs name an error alike.
pub fn operation_outcome(issues: &[Issue], platform_code: Option<&str>) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|issue| {
            let mut value = json!({
                "severity": if issue.code == IssueCode::Informational { "information" } else { "error" },
                "code": issue.code.as_str(),
                "diagnostics": issue.diagnostics,
            });
            if let Some(expression) = &issue.expression {
                value["expression"] = json!([expression]);
            }
            if let Some(code) = platform_code {
                value["details"] = json!({ "text": code });
            }
            value
        })
        .collect();
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_carry_code_message_and_location() {
        let outcome = operation_outcome(
            &[Issue::new(IssueCode::Required, "status is required").at("Observation.status")],
            Some("INVALID_RESOURCE"),
        );
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["severity"], "error");
        assert_eq!(outcome["issue"][0]["code"], "required");
        assert_eq!(outcome["issue"][0]["expression"][0], "Observation.status");
        assert_eq!(outcome["issue"][0]["details"]["text"], "INVALID_RESOURCE");
    }
}
