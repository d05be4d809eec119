//! IMAP on 143 and 993 (implicit TLS): greeting, CAPABILITY, STARTTLS, and
//! whether a password can be sent before TLS (no `LOGINDISABLED`, or
//! `AUTH=PLAIN` / `AUTH=LOGIN` on a cleartext session).
//!
//! Exactly what is sent, in order, and nothing else:
//! 1. on 993 only: a TLS handshake first;
//! 2. `sw1 CAPABILITY\r\n`, unless the greeting already carried `[CAPABILITY ...]`;
//! 3. when STARTTLS is advertised (not on 993): `sw2 STARTTLS\r\n`, a TLS handshake, `sw3 CAPABILITY\r\n`;
//! 4. `sw4 LOGOUT\r\n`.
//!
//! For the TLS version probes (`begin_tls`) a new connection sends `sw1
//! STARTTLS` after the greeting, then a ClientHello. Never LOGIN or
//! AUTHENTICATE: no credential is sent.

use super::conn::{Conn, MailError, excerpt};
use super::mail::banners::{Banners, exchange_server_name};
use super::mail::{AuthExposure, MailObservation, is_cleartext_mechanism};
use super::starttls::{Advertised, Answer, Conversation};
use crate::net::lines::text;

/// The first word after `*` in the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreetingStatus {
    Ok,
    /// Already authenticated without credentials (RFC 9051 §7.1.4).
    Preauth,
    /// The server refuses the connection.
    Bye,
}

/// An IMAP greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub status: GreetingStatus,
    /// From a `[CAPABILITY ...]` response code, when present.
    pub capabilities: Option<Vec<String>>,
    /// The human-readable text after the status and response code.
    pub text: String,
}

/// `* OK [CAPABILITY IMAP4rev1 ...] Dovecot ready.` and the like.
pub fn parse_greeting(line: &str) -> Option<Greeting> {
    let rest = line.strip_prefix("* ")?;
    let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match word.to_ascii_uppercase().as_str() {
        "OK" => GreetingStatus::Ok,
        "PREAUTH" => GreetingStatus::Preauth,
        "BYE" => GreetingStatus::Bye,
        _ => return None,
    };
    let mut capabilities = None;
    let mut text = rest.trim();
    if let Some(code) = text.strip_prefix('[')
        && let Some((inside, after)) = code.split_once(']')
    {
        if let Some(list) = strip_word(inside, "CAPABILITY") {
            capabilities = Some(atoms(list));
        }
        text = after.trim();
    }
    Some(Greeting { status, capabilities, text: text.to_owned() })
}

/// The atoms of an untagged `* CAPABILITY ...` line.
pub fn parse_capability_line(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix("* ")?;
    strip_word(rest, "CAPABILITY").map(atoms)
}

/// `sw1 OK ...` → `Some("OK")` for tag `sw1`.
pub fn tagged_status<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(tag)?.strip_prefix(' ')?;
    Some(rest.split(' ').next().unwrap_or(""))
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && (rest.is_empty() || rest.starts_with(' '))).then(|| rest.trim())
}

fn atoms(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_owned).collect()
}

fn has(capabilities: &[String], atom: &str) -> bool {
    capabilities.iter().any(|c| c.eq_ignore_ascii_case(atom))
}

/// The SASL mechanisms of `AUTH=` atoms, upper-cased.
pub fn auth_mechanisms(capabilities: &[String]) -> Vec<String> {
    capabilities
        .iter()
        .filter_map(|c| c.get(..5).filter(|p| p.eq_ignore_ascii_case("AUTH=")).map(|_| c[5..].to_ascii_uppercase()))
        .collect()
}

/// Whether a password can be sent on this (cleartext) session: the LOGIN
/// command unless `LOGINDISABLED`, or a PLAIN/LOGIN mechanism.
pub fn auth_exposure(capabilities: &[String], evidence: &str) -> AuthExposure {
    let mut offered = Vec::new();
    if !has(capabilities, "LOGINDISABLED") {
        offered.push("LOGIN command".to_owned());
    }
    let mechanisms = auth_mechanisms(capabilities);
    let exposed = !offered.is_empty() || mechanisms.iter().any(|m| is_cleartext_mechanism(m));
    offered.extend(mechanisms);
    AuthExposure { exposed, offered, evidence: evidence.to_owned() }
}

/// Send a tagged command and read up to its tagged answer: (untagged lines, status).
async fn command(conn: &mut Conn, tag: &str, command: &'static str) -> Result<(Vec<String>, String), MailError> {
    conn.send(format!("{tag} {command}\r\n").as_bytes()).await.map_err(|e| MailError::line(command, e))?;
    let prefix = format!("{tag} ");
    let lines = conn
        .read_reply(|l| l.starts_with(prefix.as_bytes()))
        .await
        .map_err(|e| MailError::line(command, e))?
        .iter()
        .map(|l| text(l))
        .collect::<Vec<_>>();
    let (last, untagged) =
        lines.split_last().ok_or(MailError::Malformed { step: command, text: "empty answer".into() })?;
    let status = tagged_status(last, tag).unwrap_or("").to_ascii_uppercase();
    Ok((untagged.to_vec(), if status.is_empty() { last.clone() } else { status }))
}

async fn read_greeting(conn: &mut Conn) -> Result<(String, Greeting), MailError> {
    let line = text(&conn.read_line().await.map_err(|e| MailError::line("greeting", e))?);
    let greeting = parse_greeting(&line).ok_or_else(|| MailError::Malformed {
        step: "greeting",
        text: format!("not an IMAP greeting: {}", excerpt(&line)),
    })?;
    Ok((line, greeting))
}

/// The capabilities from CAPABILITY's untagged lines, with the line that listed them.
fn capabilities_of(untagged: &[String]) -> Option<(Vec<String>, String)> {
    untagged.iter().find_map(|l| parse_capability_line(l).map(|caps| (caps, l.clone())))
}

/// Send STARTTLS and read whether the server will start TLS (tagged OK).
async fn request_starttls(conn: &mut Conn, tag: &str) -> Result<Answer, MailError> {
    let (_, status) = command(conn, tag, "STARTTLS").await?;
    Ok(if status == "OK" { Answer::Accepted } else { Answer::Refused(status) })
}

/// Greeting and STARTTLS on a fresh connection.
pub(crate) async fn begin_tls(conn: &mut Conn) -> Result<Answer, MailError> {
    let (line, greeting) = read_greeting(conn).await?;
    if greeting.status != GreetingStatus::Ok {
        return Err(MailError::Refused { step: "greeting", reply: line });
    }
    request_starttls(conn, "sw1").await
}

/// IMAP's steps of the shared conversation (`starttls::converse`).
pub(crate) struct Imap<'a> {
    pub(crate) banners: &'a Banners,
}

fn advertised(capabilities: Vec<String>, evidence: &str) -> Advertised {
    Advertised {
        mechanisms: auth_mechanisms(&capabilities),
        exposure: auth_exposure(&capabilities, evidence),
        starttls: has(&capabilities, "STARTTLS"),
        capabilities,
    }
}

impl Conversation for Imap<'_> {
    async fn greet(&self, conn: &mut Conn, seen: &mut MailObservation) -> Result<Option<Advertised>, MailError> {
        let (line, greeting) = read_greeting(conn).await?;
        seen.greeting = vec![line.clone()];
        seen.product = self.banners.match_greeting("imap", &greeting.text, "greeting");
        if let Some(name) = exchange_server_name(&greeting.text) {
            seen.facts.insert("banner_server_name".into(), name.into());
        }
        match greeting.status {
            GreetingStatus::Bye => return Err(MailError::Refused { step: "greeting", reply: line }),
            GreetingStatus::Preauth => {
                // Authenticated without credentials: nothing more to learn that a scan may ask.
                seen.facts.insert("preauth".into(), true.into());
                return Ok(None);
            }
            GreetingStatus::Ok => {}
        }
        let (capabilities, evidence) = match greeting.capabilities {
            Some(caps) => (caps, line),
            None => {
                let (untagged, status) = command(conn, "sw1", "CAPABILITY").await?;
                capabilities_of(&untagged).ok_or_else(|| MailError::Malformed {
                    step: "CAPABILITY",
                    text: format!("answered {} without a list", excerpt(&status)),
                })?
            }
        };
        Ok(Some(advertised(capabilities, &evidence)))
    }

    async fn request_starttls(&self, conn: &mut Conn) -> Result<Answer, MailError> {
        request_starttls(conn, "sw2").await
    }

    async fn advertised_over_tls(&self, conn: &mut Conn) -> Result<Option<Advertised>, MailError> {
        let (untagged, _) = command(conn, "sw3", "CAPABILITY").await?;
        Ok(capabilities_of(&untagged).map(|(capabilities, line)| advertised(capabilities, &line)))
    }

    async fn goodbye(&self, conn: &mut Conn) {
        drop(command(conn, "sw4", "LOGOUT").await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovecot_greetings_from_the_rig() {
        // rigs.md §3.1 and the rig of scripts/rigs/mail-rig.sh, seen from 127.0.0.2.
        let plain = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.";
        let g = parse_greeting(plain).expect("greeting");
        assert_eq!(g.status, GreetingStatus::Ok);
        assert_eq!(g.text, "Dovecot (Debian) ready.");
        let caps = g.capabilities.expect("capabilities");
        assert_eq!(auth_mechanisms(&caps), vec!["PLAIN", "LOGIN"]);
        let exposure = auth_exposure(&caps, plain);
        assert!(exposure.exposed);
        assert_eq!(exposure.offered, vec!["LOGIN command", "PLAIN", "LOGIN"]);

        let good = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot (Debian) ready.";
        let caps = parse_greeting(good).and_then(|g| g.capabilities).expect("capabilities");
        assert!(has(&caps, "STARTTLS"));
        let exposure = auth_exposure(&caps, good);
        assert!(!exposure.exposed);
        assert!(exposure.offered.is_empty());
    }

    #[test]
    fn logindisabled_with_a_plain_mechanism_is_still_exposed() {
        let caps = atoms("IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN");
        assert!(auth_exposure(&caps, "").exposed);
        let caps = atoms("IMAP4rev1 STARTTLS LOGINDISABLED AUTH=GSSAPI AUTH=SCRAM-SHA-256");
        assert!(!auth_exposure(&caps, "").exposed);
    }

    #[test]
    fn exchange_and_other_greetings() {
        let g = parse_greeting(
            "* OK The Microsoft Exchange IMAP4 service is ready. [RQBYADAAMQAuAGMAbwByAHAALgBlAHgAYQBtAHAAbABlAA==]",
        )
        .expect("greeting");
        assert_eq!(g.capabilities, None);
        assert!(g.text.starts_with("The Microsoft Exchange IMAP4 service is ready."));
        assert_eq!(exchange_server_name(&g.text).as_deref(), Some("EX01.corp.example"));
        assert_eq!(parse_greeting("* BYE Too many connections").map(|g| g.status), Some(GreetingStatus::Bye));
        assert_eq!(
            parse_greeting("* PREAUTH IMAP4rev1 server logged in as alice").map(|g| g.status),
            Some(GreetingStatus::Preauth)
        );
        assert_eq!(parse_greeting("+OK Dovecot ready."), None);
        assert_eq!(parse_greeting("* OK [ALERT] maintenance").map(|g| g.capabilities), Some(None));
    }

    #[test]
    fn capability_and_tagged_lines() {
        assert_eq!(
            parse_capability_line("* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI"),
            Some(vec!["IMAP4rev1".into(), "STARTTLS".into(), "AUTH=GSSAPI".into()])
        );
        assert_eq!(parse_capability_line("* capability IMAP4rev1"), Some(vec!["IMAP4rev1".into()]));
        assert_eq!(parse_capability_line("* CAPABILITYX"), None);
        assert_eq!(parse_capability_line("* OK done"), None);
        assert_eq!(tagged_status("sw1 OK Pre-login capabilities listed", "sw1"), Some("OK"));
        assert_eq!(tagged_status("sw10 OK", "sw1"), None);
        assert_eq!(tagged_status("sw2 BAD", "sw2"), Some("BAD"));
    }
}
