//! Entra ID (Azure AD) sign-in log exports, CSV from the portal or JSON from
//! the portal and Graph, read into sign-in attempts for the spray detector.

use crate::csvlog::{CsvSchema, split_csv};

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub time: jiff::Timestamp,
    pub user: Option<String>,
    pub ip: String,
    pub user_agent: Option<String>,
    pub success: bool,
    /// The sign-in error code (`0` for success, `50126` wrong password, `50074` second factor
    /// required...), when the export has it: the hunt tells a rejected password from an
    /// accepted one waiting for MFA by it.
    pub error_code: Option<String>,
    /// 1-based line (CSV) or array index + 1 (JSON).
    pub position: u64,
}

/// Whether a header row or JSON head looks like a sign-in export.
pub fn looks_like_sign_ins(head: &str) -> bool {
    let lower = head.to_ascii_lowercase();
    (lower.contains("userprincipalname") && lower.contains("createddatetime") && lower.contains("ipaddress"))
        || (lower.contains("ip address") && lower.contains("date (utc)") && lower.contains("user"))
}

fn column(schema: &CsvSchema, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| schema.index(n))
}

/// Parse a CSV export; returns the sign-ins and the lines that could not be read.
pub fn parse_csv(text: &str) -> (Vec<SignIn>, Vec<(u64, String)>) {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) else { return (vec![], vec![]) };
    let schema = CsvSchema::parse(header.trim_start_matches('\u{feff}').as_bytes());
    let (Some(time), Some(ip)) =
        (column(&schema, &["Date (UTC)", "Date", "createdDateTime"]), column(&schema, &["IP address", "ipAddress"]))
    else {
        return (vec![], vec![(1, "no date or IP address column".into())]);
    };
    let user = column(&schema, &["Username", "User principal name", "userPrincipalName", "User"]);
    let agent = column(&schema, &["User agent", "userAgent"]);
    let status = column(&schema, &["Status"]);
    let code = column(&schema, &["Sign-in error code", "errorCode"]);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<String> =
            split_csv(line.as_bytes()).iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        let get =
            |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let Some(time) = get(Some(time)).and_then(|t| parse_time(&t)) else {
            errors.push((index as u64 + 1, "unreadable date".into()));
            continue;
        };
        let Some(ip) = get(Some(ip)) else { continue };
        let error_code = get(code);
        let success = match (get(status), error_code.as_deref()) {
            (Some(s), _) => s.eq_ignore_ascii_case("success"),
            (None, Some(c)) => c == "0",
            (None, None) => false,
        };
        out.push(SignIn {
            error_code,
            time,
            user: get(user).map(|u| u.to_ascii_lowercase()),
            ip,
            user_agent: get(agent),
            success,
            position: index as u64 + 1,
        });
    }
    (out, errors)
}

/// Parse a JSON export: an array of sign-ins, or Graph's `{"value": [...]}`.
pub fn parse_json(text: &str) -> Result<Vec<SignIn>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| e.to_string())?;
    let items = match &value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(map) => map.get("value").and_then(|v| v.as_array()).ok_or("no `value` array")?,
        _ => return Err("not an array of sign-ins".into()),
    };
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let text = |p: &str| item.pointer(p).and_then(|v| v.as_str()).map(str::to_owned).filter(|s| !s.is_empty());
        let Some(time) = text("/createdDateTime").and_then(|t| parse_time(&t)) else { continue };
        let Some(ip) = text("/ipAddress") else { continue };
        let code = item.pointer("/status/errorCode").and_then(|v| v.as_i64());
        out.push(SignIn {
            time,
            user: text("/userPrincipalName").map(|u| u.to_ascii_lowercase()),
            ip,
            user_agent: text("/userAgent").or_else(|| text("/clientAppUsed")),
            success: code == Some(0),
            error_code: code.map(|c| c.to_string()),
            position: index as u64 + 1,
        });
    }
    Ok(out)
}

fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| format!("{text}Z").parse().ok()).or_else(|| {
        text.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_portal_csv_export() {
        let csv = "Date (UTC),Request ID,User agent,Username,IP address,Status,Sign-in error code\n\
                   2025-01-10T10:00:00Z,r1,fasthttp,Alice@Example.org,203.0.113.9,Failure,50126\n\
                   2025-01-10T10:01:00Z,r2,fasthttp,bob@example.org,203.0.113.9,Success,0\n\
                   not-a-date,r3,x,y,203.0.113.9,Failure,50126\n";
        assert!(looks_like_sign_ins(csv.lines().next().unwrap_or_default()));
        let (sign_ins, errors) = parse_csv(csv);
        assert_eq!(sign_ins.len(), 2);
        assert_eq!(sign_ins[0].user.as_deref(), Some("alice@example.org"));
        assert!(!sign_ins[0].success && sign_ins[1].success);
        assert_eq!(errors, vec![(4, "unreadable date".to_owned())]);
    }

    #[test]
    fn reads_a_graph_json_export() {
        let json = r#"{"value":[{"createdDateTime":"2025-01-10T10:00:00Z","userPrincipalName":"a@x.org","ipAddress":"203.0.113.9","clientAppUsed":"fasthttp","status":{"errorCode":50126}}]}"#;
        let sign_ins = parse_json(json).unwrap_or_default();
        assert_eq!(sign_ins.len(), 1);
        assert_eq!(sign_ins[0].user_agent.as_deref(), Some("fasthttp"));
        assert!(!sign_ins[0].success);
        assert!(parse_json("[1,2").is_err());
    }
}
