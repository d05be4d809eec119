//! What counts as an authentication attempt, and whether it failed, per source.
//! The lists of codes live in `data/detections/spray.toml`; the reasoning is in
//! docs/detections.md ("Authentication semantics").

use std::collections::HashMap;

use seawall_sources::entra::SignIn;
use seawall_sources::{Record, RecordSource};

use super::SprayConfig;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttemptKind {
    /// Credentials were presented and rejected.
    Failure,
    /// Credentials were accepted.
    Success,
    /// Credentials were used explicitly by a process (4648): right or wrong is not told,
    /// but one process using many accounts' credentials is a spray from that host.
    ExplicitCredentials,
}

/// One authentication attempt.
#[derive(Debug, Clone)]
pub struct AuthEvent {
    pub time: jiff::Timestamp,
    /// The client address, or `host NAME` / `workstation NAME` when the log has no address
    /// (a local logon, an NTLM validation on a domain controller).
    pub source_ip: String,
    pub account: Option<String>,
    pub kind: AttemptKind,
    /// What made it an attempt of this kind, e.g. `IIS 401.1 win32 1326`, `4625 0xc000006a`.
    pub reason: String,
    pub user_agent: Option<String>,
    pub path: String,
    pub position: String,
}

impl AuthEvent {
    pub fn is_failure(&self) -> bool {
        self.kind == AttemptKind::Failure
    }

    pub fn is_success(&self) -> bool {
        self.kind == AttemptKind::Success
    }
}

fn position(record: &dyn Record) -> String {
    match record.source() {
        RecordSource::Line(n) => format!("line {n}"),
        RecordSource::EvtxRecord(n) => format!("record {n}"),
    }
}

fn lower(value: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    value.map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty() && v != "-")
}

/// Who last posted OWA's logon form from each address: the failed-logon redirect that
/// follows (`logon.aspx?...reason=2`) carries no user name. Bounded: cleared when full.
#[derive(Debug, Default)]
pub(crate) struct FormPosts {
    last: HashMap<String, (String, jiff::Timestamp)>,
}

const MAX_FORM_POSTS: usize = 50_000;
/// The redirect is fetched at once; a name older than this is not joined.
const FORM_POST_MEMORY: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

impl FormPosts {
    fn remember(&mut self, ip: &str, user: String, time: jiff::Timestamp) {
        if self.last.len() >= MAX_FORM_POSTS {
            self.last.clear();
        }
        self.last.insert(ip.to_owned(), (user, time));
    }

    fn recall(&self, ip: &str, time: jiff::Timestamp) -> Option<String> {
        let (user, at) = self.last.get(ip)?;
        (time.duration_since(*at) <= FORM_POST_MEMORY && *at <= time).then(|| user.clone())
    }
}

/// An IIS line on an authentication endpoint, judged by status, sub-status and user:
/// - 401 with sub-status 1 and a user name (and not a Negotiate/NTLM continuation status) is a
///   rejected credential; any other 401 (401.2, user `-`) is a handshake leg, never a failure;
/// - GET `/owa/auth/logon.aspx?...reason=2` is OWA's answer to a failed forms logon;
/// - a 2xx or 3xx answered to a named user (other than the forms POST itself, whose outcome
///   is only told by the redirect that follows) is a success.
pub(crate) fn from_iis(
    record: &dyn Record,
    path: &str,
    config: &SprayConfig,
    form_posts: &mut FormPosts,
    keeps_success: &dyn Fn(&str, &str) -> bool,
) -> Option<AuthEvent> {
    let stem = record.field("cs-uri-stem")?.to_ascii_lowercase();
    if !config.endpoints.iter().any(|e| stem.starts_with(e.as_str())) {
        return None;
    }
    let time = record.time()?;
    let ip = record.field("c-ip")?.into_owned();
    let status = record.field("sc-status")?;
    let query = record.field("cs-uri-query").map(|q| q.to_ascii_lowercase()).unwrap_or_default();
    let user = lower(record.field("cs-username")).or_else(|| activesync_user(&query));
    let event = |kind, account, reason: String| AuthEvent {
        time,
        source_ip: ip.clone(),
        account,
        kind,
        reason,
        user_agent: record.field("cs(User-Agent)").map(|u| u.into_owned()),
        path: path.to_owned(),
        position: position(record),
    };
    if stem == "/owa/auth.owa" {
        if let Some(user) = user
            && record.field("cs-method").is_some_and(|m| m.eq_ignore_ascii_case("POST"))
        {
            form_posts.remember(&ip, user, time);
        }
        return None;
    }
    if stem == "/owa/auth/logon.aspx" {
        if !query.split('&').any(|pair| pair == "reason=2") {
            return None;
        }
        let account = user.or_else(|| form_posts.recall(&ip, time));
        return Some(event(AttemptKind::Failure, account, "OWA forms logon answered reason=2".into()));
    }
    match status.as_ref() {
        "401" => {
            let user = user?;
            let substatus = record.field("sc-substatus");
            let win32 = record.field("sc-win32-status").map(|w| w.into_owned()).unwrap_or_default();
            let rejected = substatus.as_deref().is_none_or(|s| config.iis.failure_substatus.iter().any(|f| f == s))
                && !config.iis.handshake_win32_status.contains(&win32);
            rejected.then(|| {
                event(
                    AttemptKind::Failure,
                    Some(user),
                    format!(
                        "IIS 401.{} win32 {}",
                        substatus.as_deref().unwrap_or("?"),
                        if win32.is_empty() { "?" } else { &win32 }
                    ),
                )
            })
        }
        s if s.starts_with('2') || s.starts_with('3') => {
            // A busy server's successes are mostly not kept: not built either.
            user.filter(|u| keeps_success(&ip, u))
                .map(|u| event(AttemptKind::Success, Some(u), format!("IIS {s} to a named user")))
        }
        _ => None,
    }
}

fn activesync_user(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("user="))
        .map(|u| u.replace("%40", "@").replace("%5c", "\\"))
        .filter(|u| !u.is_empty())
}

fn code(record: &dyn Record, name: &str) -> String {
    record.field(name).map(|v| v.trim().to_ascii_lowercase()).unwrap_or_default()
}

/// The address of a Security event, or the host or workstation when it has none.
fn windows_source(record: &dyn Record) -> Option<String> {
    let ip = record.field("IpAddress").map(|ip| ip.trim().trim_start_matches("::ffff:").to_owned());
    match ip.as_deref() {
        Some(ip) if !matches!(ip, "-" | "127.0.0.1" | "::1" | "") => Some(ip.to_owned()),
        // A local logon (4625 type 2) or an NTLM validation: keyed by the machine it came from.
        _ => record
            .field("WorkstationName")
            .or_else(|| record.field("Workstation"))
            .map(|w| format!("workstation {}", w.trim().to_ascii_lowercase()))
            .or_else(|| record.field("Computer").map(|c| format!("host {}", c.trim().to_ascii_lowercase()))),
    }
}

/// From Windows events: Security 4625, 4771, 4768, 4776 with failure codes, 4648, 4624 and
/// 4768 with result 0x0 (successes), and OpenSSH for Windows (OpenSSH/Operational event 4).
pub(crate) fn from_evtx(record: &dyn Record, path: &str, config: &SprayConfig) -> Option<AuthEvent> {
    let id = record.field("EventID")?;
    let w = &config.windows;
    let logon_type_ok = || record.field("LogonType").is_some_and(|t| w.logon_types.iter().any(|l| l == t.trim()));
    let (kind, reason) = match id.as_ref() {
        "4625" => {
            let status = code(record, "Status");
            let sub = code(record, "SubStatus");
            let failure = |c: &str| w.logon_failure_status.iter().any(|s| s == c);
            if !logon_type_ok() || !(failure(&sub) || failure(&status)) {
                return None;
            }
            let shown = if sub.is_empty() || sub == "0x0" { status } else { sub };
            (AttemptKind::Failure, format!("4625 type {} {shown}", record.field("LogonType")?))
        }
        "4771" => {
            let failure = code(record, "Status");
            if !w.kerberos_preauth_failure.contains(&failure) {
                return None;
            }
            (AttemptKind::Failure, format!("4771 {failure}"))
        }
        "4768" => {
            let status = code(record, "Status");
            if status == "0x0" {
                // A ticket was issued: Kerberos pre-authentication took the password.
                (AttemptKind::Success, "4768 TGT issued".to_owned())
            } else if w.kerberos_tgt_failure.contains(&status) {
                (AttemptKind::Failure, format!("4768 {status}"))
            } else {
                return None;
            }
        }
        "4776" => {
            let status = code(record, "Status");
            if !w.ntlm_failure_status.contains(&status) {
                return None;
            }
            (AttemptKind::Failure, format!("4776 {status}"))
        }
        "4648" => {
            let process = code(record, "ProcessName");
            let target = code(record, "TargetServerName");
            if w.explicit_credentials_own_processes.iter().any(|p| process.ends_with(&p.to_ascii_lowercase()))
                || w.explicit_credentials_own_targets.contains(&target)
            {
                return None;
            }
            (
                AttemptKind::ExplicitCredentials,
                format!("4648 explicit credentials to {}", if target.is_empty() { "?" } else { &target }),
            )
        }
        "4624" => {
            if !logon_type_ok() {
                return None;
            }
            (AttemptKind::Success, format!("4624 type {}", record.field("LogonType")?))
        }
        "4" if record.field("Provider").is_some_and(|p| p.eq_ignore_ascii_case("OpenSSH")) => {
            return from_openssh(record, path, config);
        }
        _ => return None,
    };
    let source = match windows_source(record) {
        Some(source) if id.as_ref() != "4648" || !source.starts_with("host ") => source,
        // 4648 from a local process: the spraying host is this one, named by its account.
        _ if id.as_ref() == "4648" => format!("local process of {}", record.field("SubjectUserName")?),
        _ => return None,
    };
    Some(AuthEvent {
        time: record.time()?,
        source_ip: source,
        account: lower(record.field("TargetUserName")),
        kind,
        reason,
        user_agent: None,
        path: path.to_owned(),
        position: position(record),
    })
}

/// sshd's "Failed password for [invalid user] NAME from ADDRESS port N ssh2" and "Accepted ...".
fn from_openssh(record: &dyn Record, path: &str, config: &SprayConfig) -> Option<AuthEvent> {
    let payload = record.field("payload").or_else(|| record.field("Data"))?;
    let payload = payload.trim();
    let (kind, rest) = if let Some(rest) = config.openssh.failure.iter().find_map(|p| payload.strip_prefix(p.as_str()))
    {
        (AttemptKind::Failure, rest)
    } else {
        (AttemptKind::Success, config.openssh.success.iter().find_map(|p| payload.strip_prefix(p.as_str()))?)
    };
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    let (account, after) = rest.split_once(" from ")?;
    let address = after.split_whitespace().next()?;
    Some(AuthEvent {
        time: record.time()?,
        source_ip: address.to_owned(),
        account: Some(account.trim().to_ascii_lowercase()).filter(|a| !a.is_empty()),
        kind,
        reason: format!("OpenSSH: {}", payload.chars().take(120).collect::<String>()),
        user_agent: None,
        path: path.to_owned(),
        position: position(record),
    })
}

/// From an Entra ID sign-in, by its error code when the export has one: a rejected
/// credential, an accepted one (success, or stopped afterwards by MFA or Conditional
/// Access), or neither (consent prompts, expired sessions: not attempts at a password).
pub(crate) fn from_sign_in(sign_in: &SignIn, path: &str, config: &SprayConfig) -> Option<AuthEvent> {
    let codes = &config.entra;
    let (kind, reason) = match sign_in.error_code.as_deref() {
        Some("0") => (AttemptKind::Success, "Entra sign-in success".to_owned()),
        Some(code) if codes.failure_codes.iter().any(|c| c == code) => {
            (AttemptKind::Failure, format!("Entra error {code}"))
        }
        Some(code) if codes.password_accepted_codes.iter().any(|c| c == code) => {
            (AttemptKind::Success, format!("Entra error {code}: password accepted, second factor or policy stopped it"))
        }
        Some(_) if sign_in.success => (AttemptKind::Success, "Entra sign-in success".to_owned()),
        Some(_) => return None,
        None if sign_in.success => (AttemptKind::Success, "Entra sign-in success".to_owned()),
        None => (AttemptKind::Failure, "Entra sign-in failure".to_owned()),
    };
    Some(AuthEvent {
        time: sign_in.time,
        source_ip: sign_in.ip.clone(),
        account: sign_in.user.clone(),
        kind,
        reason,
        user_agent: sign_in.user_agent.clone(),
        path: path.to_owned(),
        position: format!("line {}", sign_in.position),
    })
}

#[cfg(test)]
mod tests {
    use seawall_sources::w3c::{IIS_DEFAULT_FIELDS, W3cRecord, W3cSchema};

    use super::*;

    fn judge(lines: &[&str]) -> Vec<(AttemptKind, Option<String>)> {
        let config = SprayConfig::embedded().unwrap_or_else(|e| panic!("{e}"));
        let schema = W3cSchema::parse(IIS_DEFAULT_FIELDS);
        let mut posts = FormPosts::default();
        lines
            .iter()
            .enumerate()
            .filter_map(|(n, line)| {
                let record = W3cRecord::new(&schema, line.as_bytes(), n as u64 + 1);
                from_iis(&record, "u_ex.log", &config, &mut posts, &|_, _| true)
            })
            .map(|e| (e.kind, e.account))
            .collect()
    }

    #[test]
    fn handshake_legs_are_never_failures() {
        let found = judge(&[
            "2024-05-01 08:00:00 10.0.0.5 POST /mapi/emsmdb/ - 443 - 10.1.2.3 Microsoft+Office/16.0 - 401 2 5 1",
            "2024-05-01 08:00:00 10.0.0.5 POST /mapi/emsmdb/ - 443 - 10.1.2.3 Microsoft+Office/16.0 - 401 1 2148074254 1",
            "2024-05-01 08:00:00 10.0.0.5 POST /EWS/Exchange.asmx - 443 CORP\\alice 10.1.2.3 Microsoft+Office/16.0 - 401 1 2148074254 1",
            "2024-05-01 08:00:01 10.0.0.5 POST /mapi/emsmdb/ - 443 alice@example.org 10.1.2.3 Microsoft+Office/16.0 - 200 0 0 1",
        ]);
        assert_eq!(found, vec![(AttemptKind::Success, Some("alice@example.org".into()))]);
    }

    #[test]
    fn rejected_credentials_are_failures_per_source() {
        let found = judge(&[
            "2024-05-01 08:00:00 10.0.0.5 POST /EWS/Exchange.asmx - 443 bob 203.0.113.9 python - 401 1 1326 1",
            "2024-05-01 08:00:00 10.0.0.5 POST /Microsoft-Server-ActiveSync/default.eas Cmd=Ping&User=carol%40example.org&DeviceId=X 443 - 203.0.113.9 Apple - 401 1 1326 1",
            "2024-05-01 08:00:01 10.0.0.5 POST /owa/auth.owa - 443 dave@example.org 203.0.113.9 Mozilla - 302 0 0 1",
            "2024-05-01 08:00:01 10.0.0.5 GET /owa/auth/logon.aspx url=https%3a%2f%2fmail%2fowa%2f&reason=2 443 - 203.0.113.9 Mozilla - 200 0 0 1",
            "2024-05-01 08:00:02 10.0.0.5 GET /owa/auth/logon.aspx url=https%3a%2f%2fmail%2fowa%2f&reason=0 443 - 203.0.113.9 Mozilla - 200 0 0 1",
        ]);
        assert_eq!(
            found,
            vec![
                (AttemptKind::Failure, Some("bob".into())),
                (AttemptKind::Failure, Some("carol@example.org".into())),
                (AttemptKind::Failure, Some("dave@example.org".into())),
            ]
        );
    }

    fn event(id: &str, provider: &str, data: serde_json::Value) -> seawall_sources::evtx::EvtxEvent {
        let json = serde_json::json!({"Event": {
            "System": {
                "EventID": id,
                "Computer": "EX01.corp.local",
                "Provider_attributes": {"Name": provider},
                "TimeCreated_attributes": {"SystemTime": "2024-05-01T08:00:00.000Z"}
            },
            "EventData": data
        }});
        seawall_sources::evtx::EvtxEvent::from_json(7, &json)
    }

    fn windows(id: &str, provider: &str, data: serde_json::Value) -> Option<(AttemptKind, String, Option<String>)> {
        let config = SprayConfig::embedded().unwrap_or_else(|e| panic!("{e}"));
        from_evtx(&event(id, provider, data), "Security.evtx", &config).map(|e| (e.kind, e.source_ip, e.account))
    }

    #[test]
    fn security_events_are_judged_by_their_status_codes() {
        let local = windows(
            "4625",
            "Microsoft-Windows-Security-Auditing",
            serde_json::json!({"TargetUserName": "Administrator", "Status": "0xC000006D", "SubStatus": "0xC000006A",
                "LogonType": "2", "IpAddress": "-", "WorkstationName": "EX01"}),
        );
        assert_eq!(local, Some((AttemptKind::Failure, "workstation ex01".into(), Some("administrator".into()))));
        let refused = windows(
            "4625",
            "Microsoft-Windows-Security-Auditing",
            serde_json::json!({"TargetUserName": "svc", "Status": "0xC000015B", "SubStatus": "0x0", "LogonType": "3", "IpAddress": "10.1.1.1"}),
        );
        assert_eq!(refused, None, "a logon type not granted is policy, not a guessed password");
        let kerberos = windows(
            "4771",
            "Microsoft-Windows-Security-Auditing",
            serde_json::json!({"TargetUserName": "carol", "Status": "0x18", "IpAddress": "::ffff:10.9.8.7"}),
        );
        assert_eq!(kerberos, Some((AttemptKind::Failure, "10.9.8.7".into(), Some("carol".into()))));
        let explicit = windows(
            "4648",
            "Microsoft-Windows-Security-Auditing",
            serde_json::json!({"SubjectUserName": "EX01$", "TargetUserName": "dave", "IpAddress": "-"}),
        );
        assert_eq!(
            explicit,
            Some((AttemptKind::ExplicitCredentials, "local process of EX01$".into(), Some("dave".into())))
        );
    }

    #[test]
    fn openssh_for_windows_lines_are_attempts() {
        let failed = windows(
            "4",
            "OpenSSH",
            serde_json::json!({"process": "sshd.exe", "payload": "Failed password for invalid user admin from 198.51.100.4 port 50122 ssh2"}),
        );
        assert_eq!(failed, Some((AttemptKind::Failure, "198.51.100.4".into(), Some("admin".into()))));
        let accepted = windows(
            "4",
            "OpenSSH",
            serde_json::json!({"process": "sshd.exe", "payload": "Accepted password for erin from 198.51.100.4 port 50123 ssh2"}),
        );
        assert_eq!(accepted, Some((AttemptKind::Success, "198.51.100.4".into(), Some("erin".into()))));
        let other = windows(
            "4",
            "OpenSSH",
            serde_json::json!({"process": "sshd.exe", "payload": "Server listening on :: port 22."}),
        );
        assert_eq!(other, None);
    }

    #[test]
    fn entra_codes_tell_a_rejected_password_from_one_waiting_for_mfa() {
        let config = SprayConfig::embedded().unwrap_or_else(|e| panic!("{e}"));
        let sign_in = |code: &str, success: bool| SignIn {
            time: "2025-01-10T10:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            user: Some("alice@example.org".into()),
            ip: "203.0.113.9".into(),
            user_agent: None,
            success,
            error_code: Some(code.into()),
            position: 2,
        };
        let kind = |code: &str| from_sign_in(&sign_in(code, false), "signins.csv", &config).map(|e| e.kind);
        assert_eq!(kind("50126"), Some(AttemptKind::Failure));
        assert_eq!(kind("50074"), Some(AttemptKind::Success), "MFA required: the password was right");
        assert_eq!(kind("65001"), None, "a consent prompt is no password attempt");
        assert_eq!(
            from_sign_in(&sign_in("0", true), "signins.csv", &config).map(|e| e.kind),
            Some(AttemptKind::Success)
        );
    }
}
