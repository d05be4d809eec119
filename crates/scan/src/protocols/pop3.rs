//! POP3 on 110 and 995 (implicit TLS): greeting, CAPA, STLS, and whether a
//! password can be sent before TLS (`USER`, or `SASL PLAIN`/`LOGIN`, on a
//! cleartext session).
//!
//! Exactly what is sent, in order, and nothing else:
//! 1. on 995 only: a TLS handshake first;
//! 2. `CAPA\r\n`;
//! 3. when STLS is advertised (not on 995): `STLS\r\n`, a TLS handshake, `CAPA\r\n`;
//! 4. `QUIT\r\n`.
//!
//! For the TLS version probes (`begin_tls`) a new connection sends `STLS`
//! after the greeting, then a ClientHello. Never USER, PASS, APOP or AUTH:
//! no credential is sent.

use super::conn::{Conn, MailError, excerpt};
use super::mail::banners::{Banners, exchange_server_name};
use super::mail::{AuthExposure, MailObservation, Starttls, is_cleartext_mechanism};
use super::starttls::{Advertised, Answer, Conversation};
use crate::net::lines::text;

/// A POP3 greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub ok: bool,
    pub text: String,
    /// An APOP timestamp (`<pid.clock@host>`) is present: APOP (MD5 of a shared secret) is offered.
    pub apop: bool,
}

/// `+OK Dovecot ready.` / `-ERR ...`.
pub fn parse_greeting(line: &str) -> Option<Greeting> {
    let (ok, rest) = status(line)?;
    let text = rest.trim().to_owned();
    let apop = text.rfind('<').is_some_and(|start| text[start..].contains('@') && text[start..].contains('>'));
    Some(Greeting { ok, text, apop })
}

/// `+OK text` → (true, "text"), `-ERR text` → (false, "text").
pub fn status(line: &str) -> Option<(bool, &str)> {
    if let Some(rest) = line.strip_prefix("+OK") {
        return (rest.is_empty() || rest.starts_with(' ')).then_some((true, rest));
    }
    let rest = line.strip_prefix("-ERR")?;
    (rest.is_empty() || rest.starts_with(' ')).then_some((false, rest))
}

/// The capability lines of a multi-line `+OK` answer to CAPA (without the
/// status line and the final `.`, dot-unstuffed).
pub fn parse_capa(lines: &[String]) -> Result<Vec<String>, MailError> {
    let malformed = |text: String| MailError::Malformed { step: "CAPA", text };
    let (first, rest) = lines.split_first().ok_or_else(|| malformed("empty answer".into()))?;
    match status(first) {
        Some((true, _)) => {}
        Some((false, _)) => return Err(MailError::Refused { step: "CAPA", reply: first.clone() }),
        None => return Err(malformed(format!("not a POP3 answer: {}", excerpt(first)))),
    }
    let (last, body) = rest.split_last().ok_or_else(|| malformed("list without its final '.'".into()))?;
    if last != "." {
        return Err(malformed("list without its final '.'".into()));
    }
    Ok(body.iter().map(|l| l.strip_prefix('.').unwrap_or(l).trim().to_owned()).filter(|l| !l.is_empty()).collect())
}

fn has(capabilities: &[String], keyword: &str) -> bool {
    capabilities.iter().any(|c| c.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case(keyword)))
}

/// The mechanisms of the `SASL ...` line, upper-cased.
pub fn sasl_mechanisms(capabilities: &[String]) -> Vec<String> {
    capabilities
        .iter()
        .filter(|c| c.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("SASL")))
        .flat_map(|c| c.split_whitespace().skip(1).map(str::to_ascii_uppercase))
        .collect()
}

/// Whether a password can be sent on this (cleartext) session: `USER`, or a PLAIN/LOGIN mechanism.
pub fn auth_exposure(capabilities: &[String]) -> AuthExposure {
    let mut offered = Vec::new();
    if has(capabilities, "USER") {
        offered.push("USER".to_owned());
    }
    offered.extend(sasl_mechanisms(capabilities));
    let evidence = capabilities
        .iter()
        .filter(|c| has(std::slice::from_ref(c), "USER") || has(std::slice::from_ref(c), "SASL"))
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    AuthExposure { exposed: offered.iter().any(|m| is_cleartext_mechanism(m)), offered, evidence }
}

/// The `IMPLEMENTATION ...` text some servers add to CAPA (Cyrus, qpopper).
pub fn implementation(capabilities: &[String]) -> Option<&str> {
    capabilities
        .iter()
        .find_map(|c| c.get(..15).filter(|p| p.eq_ignore_ascii_case("IMPLEMENTATION ")).map(|_| &c[15..]))
}

async fn single(conn: &mut Conn, command: &'static str) -> Result<String, MailError> {
    conn.send(format!("{command}\r\n").as_bytes()).await.map_err(|e| MailError::line(command, e))?;
    conn.read_line().await.map(|l| text(&l)).map_err(|e| MailError::line(command, e))
}

/// CAPA: `Ok(None)` when the server does not know the command.
async fn capa(conn: &mut Conn) -> Result<Option<Vec<String>>, MailError> {
    let first = single(conn, "CAPA").await?;
    match status(&first) {
        Some((false, _)) => return Ok(None),
        Some((true, _)) => {}
        None => {
            return Err(MailError::Malformed { step: "CAPA", text: format!("not a POP3 answer: {}", excerpt(&first)) });
        }
    }
    let mut lines = vec![first];
    lines.extend(conn.read_reply(|l| l == b".").await.map_err(|e| MailError::line("CAPA", e))?.iter().map(|l| text(l)));
    parse_capa(&lines).map(Some)
}

async fn read_greeting(conn: &mut Conn) -> Result<(String, Greeting), MailError> {
    let line = text(&conn.read_line().await.map_err(|e| MailError::line("greeting", e))?);
    let greeting = parse_greeting(&line).ok_or_else(|| MailError::Malformed {
        step: "greeting",
        text: format!("not a POP3 greeting: {}", excerpt(&line)),
    })?;
    Ok((line, greeting))
}

/// Send STLS and read whether the server will start TLS (`+OK`).
async fn request_starttls(conn: &mut Conn) -> Result<Answer, MailError> {
    let answer = single(conn, "STLS").await?;
    Ok(if matches!(status(&answer), Some((true, _))) { Answer::Accepted } else { Answer::Refused(answer) })
}

/// Greeting and STLS on a fresh connection.
pub(crate) async fn begin_tls(conn: &mut Conn) -> Result<Answer, MailError> {
    let (line, greeting) = read_greeting(conn).await?;
    if !greeting.ok {
        return Err(MailError::Refused { step: "greeting", reply: line });
    }
    request_starttls(conn).await
}

/// POP3's steps of the shared conversation (`starttls::converse`).
pub(crate) struct Pop3<'a> {
    pub(crate) banners: &'a Banners,
}

fn advertised(capabilities: Vec<String>) -> Advertised {
    let exposure = auth_exposure(&capabilities);
    Advertised { mechanisms: exposure.offered.clone(), exposure, starttls: has(&capabilities, "STLS"), capabilities }
}

impl Conversation for Pop3<'_> {
    async fn greet(&self, conn: &mut Conn, seen: &mut MailObservation) -> Result<Option<Advertised>, MailError> {
        let (line, greeting) = read_greeting(conn).await?;
        seen.greeting = vec![line.clone()];
        seen.product = self.banners.match_greeting("pop3", &greeting.text, "greeting");
        seen.facts.insert("apop".into(), greeting.apop.into());
        if let Some(name) = exchange_server_name(&greeting.text) {
            seen.facts.insert("banner_server_name".into(), name.into());
        }
        if !greeting.ok {
            return Err(MailError::Refused { step: "greeting", reply: line });
        }
        let capabilities = capa(conn).await?;
        if seen.product.is_none()
            && let Some(text) = capabilities.as_deref().and_then(implementation)
        {
            seen.product = self.banners.match_greeting("pop3", text, "capa-implementation");
        }
        let Some(capabilities) = capabilities else {
            // RFC 1939-only server: nothing advertised, so exposure is unknown (not assumed).
            seen.facts.insert("capa".into(), "not supported".into());
            if !seen.implicit_tls {
                seen.starttls = Starttls::NotOffered;
            }
            return Ok(None);
        };
        Ok(Some(advertised(capabilities)))
    }

    async fn request_starttls(&self, conn: &mut Conn) -> Result<Answer, MailError> {
        request_starttls(conn).await
    }

    async fn advertised_over_tls(&self, conn: &mut Conn) -> Result<Option<Advertised>, MailError> {
        Ok(capa(conn).await?.map(advertised))
    }

    async fn goodbye(&self, conn: &mut Conn) {
        drop(single(conn, "QUIT").await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn dovecot_capa_with_and_without_cleartext_auth() {
        // The rig's Dovecot 2.3.19 seen from 127.0.0.2: plain instance, then STARTTLS instance.
        let plain = parse_capa(&lines(
            "+OK\nCAPA\nTOP\nUIDL\nRESP-CODES\nPIPELINING\nAUTH-RESP-CODE\nUSER\nSASL PLAIN LOGIN\n.",
        ))
        .expect("capa");
        let exposure = auth_exposure(&plain);
        assert!(exposure.exposed);
        assert_eq!(exposure.offered, vec!["USER", "PLAIN", "LOGIN"]);
        assert_eq!(exposure.evidence, "USER\nSASL PLAIN LOGIN");
        assert!(!has(&plain, "STLS"));

        let good = parse_capa(&lines("+OK\nCAPA\nTOP\nUIDL\nRESP-CODES\nPIPELINING\nAUTH-RESP-CODE\nSTLS\nSASL\n."))
            .expect("capa");
        assert!(has(&good, "STLS"));
        let exposure = auth_exposure(&good);
        assert!(!exposure.exposed);
        assert!(exposure.offered.is_empty());
    }

    #[test]
    fn capa_errors() {
        assert!(matches!(parse_capa(&lines("-ERR unknown command")), Err(MailError::Refused { .. })));
        assert!(parse_capa(&lines("+OK\nUSER")).is_err_and(|e| e.to_string().contains("final")));
        assert!(parse_capa(&lines("* OK imap")).is_err_and(|e| e.to_string().contains("not a POP3")));
        assert_eq!(parse_capa(&lines("+OK\n..odd\n.")).ok(), Some(vec![".odd".to_string()]));
    }

    #[test]
    fn greetings() {
        let g = parse_greeting("+OK Dovecot (Debian) ready.").expect("greeting");
        assert!(g.ok && !g.apop);
        assert_eq!(g.text, "Dovecot (Debian) ready.");
        let g = parse_greeting("+OK Hello there. <1896.697170952@mail.example.org>").expect("greeting");
        assert!(g.apop);
        assert_eq!(parse_greeting("-ERR [SYS/TEMP] too busy").map(|g| g.ok), Some(false));
        assert_eq!(parse_greeting("+OKAY"), None);
        assert_eq!(parse_greeting("220 smtp"), None);
        assert_eq!(status("+OK"), Some((true, "")));
    }

    #[test]
    fn implementation_names_the_server() {
        let caps = lines("TOP\nIMPLEMENTATION Cyrus POP3 v2.4.17-Debian-2.4.17 server\nSTLS");
        assert_eq!(implementation(&caps), Some("Cyrus POP3 v2.4.17-Debian-2.4.17 server"));
        let product = Banners::embedded().ok().and_then(|b| b.match_greeting("pop3", "Cyrus POP3 v2.4.17 server", "x"));
        assert_eq!(product.map(|p| (p.product, p.version)), Some(("cyrus".into(), Some("2.4.17".into()))));
    }
}
