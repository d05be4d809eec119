//! The probe plan of `data/probes/exchange-http.toml`. Non-intrusive by
//! construction: a plan with anything but GET or HEAD does not load.

use serde::Deserialize;

use crate::data::DataError;

const FILE: &str = "exchange-http.toml";
const EMBEDDED_PLAN: &str = include_str!("../../../../data/probes/exchange-http.toml");

/// One read-only request of the fingerprint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    pub id: String,
    pub method: String,
    pub path: String,
    pub reads: String,
    /// Stop after the gate requests unless something looked like Exchange.
    #[serde(default)]
    pub gate: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbePlan {
    pub request: Vec<ProbeRequest>,
}

impl ProbePlan {
    pub fn embedded() -> Result<ProbePlan, DataError> {
        ProbePlan::parse(EMBEDDED_PLAN)
    }

    pub fn parse(text: &str) -> Result<ProbePlan, DataError> {
        let plan: ProbePlan = toml::from_str(text).map_err(|e| DataError::new(FILE, e.to_string()))?;
        for request in &plan.request {
            if !matches!(request.method.as_str(), "GET" | "HEAD") {
                return Err(DataError::new(
                    FILE,
                    format!(
                        "request {} uses {}: the default scan may only send GET or HEAD",
                        request.id, request.method
                    ),
                ));
            }
            if !request.path.starts_with('/') || request.path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
                return Err(DataError::new(FILE, format!("request {} has a malformed path", request.id)));
            }
        }
        Ok(plan)
    }

    pub fn method(request: &ProbeRequest) -> http::Method {
        if request.method == "HEAD" { http::Method::HEAD } else { http::Method::GET }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_plan_is_read_only_and_gated() {
        let plan = ProbePlan::embedded().expect("plan loads");
        assert!(plan.request.len() >= 8);
        assert!(plan.request.iter().all(|r| r.method == "GET" || r.method == "HEAD"));
        assert!(plan.request.iter().take_while(|r| r.gate).count() >= 2);
    }

    #[test]
    fn a_plan_that_writes_is_refused() {
        let plan = "[[request]]\nid = \"x\"\nmethod = \"POST\"\npath = \"/owa/auth.owa\"\nreads = \"\"\n";
        assert!(ProbePlan::parse(plan).is_err_and(|e| e.message.contains("only send GET or HEAD")));
    }
}
