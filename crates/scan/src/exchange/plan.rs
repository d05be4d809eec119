//! The probe plan of `data/probes/exchange-http.toml`. Non-intrusive by
//! construction: a plan with anything but GET or HEAD does not load.

use serde::Deserialize;

use crate::data::DataError;

const FILE: &str = "exchange-http.toml";
/// OWA's default virtual directory, which `owa` requests live under.
pub const OWA_VDIR: &str = "/owa/";
const EMBEDDED_PLAN: &str = include_str!("../../../../data/probes/exchange-http.toml");

/// One read-only request of the fingerprint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    pub id: String,
    pub method: String,
    pub path: String,
    pub reads: String,
    /// Part of the first stage: stop after it unless something looked like Exchange.
    #[serde(default)]
    pub gate: bool,
    /// A request under OWA's virtual directory (`/owa/...`), sent again under a directory a
    /// same-host redirect names.
    #[serde(default)]
    pub owa: bool,
}

/// What one endpoint may cost.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Requests one endpoint may receive from the plan, redirect hints included.
    pub max_requests: usize,
    /// Directories named by same-host redirects that are probed as OWA's, at most.
    pub redirect_hints: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbePlan {
    pub budget: Budget,
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
            if request.owa && !request.path.starts_with(OWA_VDIR) {
                return Err(DataError::new(
                    FILE,
                    format!("request {} is marked owa but is not under {OWA_VDIR}", request.id),
                ));
            }
        }
        if plan.request.len() > plan.budget.max_requests {
            return Err(DataError::new(
                FILE,
                format!("{} requests exceed the budget of {}", plan.request.len(), plan.budget.max_requests),
            ));
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
        let first_stage: Vec<&str> = plan.request.iter().take_while(|r| r.gate).map(|r| r.id.as_str()).collect();
        for protocol in ["owa", "ews", "mapi", "activesync", "autodiscover", "oab", "rpc"] {
            assert!(first_stage.contains(&protocol), "{protocol} in the first stage");
        }
        let owa = plan.request.iter().filter(|r| r.owa).count();
        assert!(plan.request.len() + plan.budget.redirect_hints * owa <= plan.budget.max_requests);
    }

    #[test]
    fn a_plan_that_writes_is_refused() {
        let plan = "[budget]\nmax_requests = 4\nredirect_hints = 1\n[[request]]\nid = \"x\"\nmethod = \"POST\"\npath = \"/owa/auth.owa\"\nreads = \"\"\n";
        assert!(ProbePlan::parse(plan).is_err_and(|e| e.message.contains("only send GET or HEAD")));
    }
}
