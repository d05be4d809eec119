//! Running the probe plan against one endpoint.

use super::fingerprint::{Answer, looks_promising};
use super::plan::{ProbePlan, ProbeRequest};
use crate::protocols::http::{HttpSession, ProbeError};

/// Send the plan's requests in order over one session. Stops after the gate
/// requests when nothing looked like Exchange, and at the first transport
/// error (connect, TLS, a response head that never completes), which is returned.
pub async fn run_plan(session: &mut HttpSession, plan: &ProbePlan, random: &str) -> (Vec<Answer>, Option<ProbeError>) {
    let mut answers: Vec<Answer> = Vec::with_capacity(plan.request.len());
    let mut gate_passed = false;
    for request in &plan.request {
        if !request.gate && !gate_passed {
            if !looks_promising(&answers) {
                break;
            }
            gate_passed = true;
        }
        let path = request.path.replace("{random}", random);
        match session.request(&ProbePlan::method(request), &path, &[]).await {
            Ok(response) => answers.push(answer(request, path, Some(response))),
            Err(error) => {
                answers.push(answer(request, path, None));
                return (answers, Some(error));
            }
        }
    }
    (answers, None)
}

fn answer(request: &ProbeRequest, path: String, response: Option<crate::protocols::http::HttpResponse>) -> Answer {
    Answer { id: request.id.clone(), method: request.method.clone(), path, response }
}
