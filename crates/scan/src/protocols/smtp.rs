//! SMTP on 25 (MX), 587 (submission) and 465 (implicit TLS): greeting,
//! EHLO keywords, STARTTLS, and whether AUTH is offered before TLS.
//!
//! Exactly what is sent, in order, and nothing else:
//! 1. on 465 only: a TLS handshake first;
//! 2. `EHLO <ehlo_name>\r\n`;
//! 3. when STARTTLS is advertised (not on 465): `STARTTLS\r\n`, then a TLS handshake, then `EHLO <ehlo_name>\r\n`;
//! 4. `QUIT\r\n`.
//!
//! For the TLS version probes (`begin_tls`) a new connection sends `EHLO`
//! and `STARTTLS`, then a ClientHello. Never AUTH, MAIL FROM, RCPT TO, DATA,
//! VRFY or EXPN: no credential is sent and no mail can be relayed.

use super::conn::{Conn, MailError, excerpt};
use super::mail::banners::Banners;
use super::mail::{AuthExposure, MailObservation, is_cleartext_mechanism, sanitize_command_word};
use super::starttls::{Advertised, Answer, Conversation};
use crate::net::lines::text;

/// One SMTP reply: its code and its lines as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The text of each line after `NNN-` / `NNN `.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.get(4..).unwrap_or(""))
    }

    /// All lines joined, for evidence and errors.
    pub fn joined(&self) -> String {
        self.lines.join("\n")
    }
}

/// `250-PIPELINING` → (250, false, "PIPELINING"); `250 OK` / `250` → last line.
pub fn reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) || bytes[0] == b'0' {
        return None;
    }
    let code = line.get(..3)?.parse().ok()?;
    match bytes.get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, line.get(4..)?)),
        Some(b'-') => Some((code, false, line.get(4..)?)),
        Some(_) => None,
    }
}

/// Whether a received line ends a reply. A line that is not a reply line ends
/// it too, so that [`parse_reply`] rejects it instead of reading on.
pub fn ends_reply(line: &[u8]) -> bool {
    !matches!(line.get(3), Some(b'-')) || !line.iter().take(3).all(u8::is_ascii_digit)
}

/// Why received lines are not one SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("empty reply")]
    Empty,
    #[error("not an SMTP reply: {0}")]
    NotSmtp(String),
    #[error("reply mixes codes {0} and {1}")]
    MixedCodes(u16, u16),
    #[error("reply continues after its last line")]
    ContinuesAfterLast,
}

/// The lines of one reply: one code throughout, the last line marked final.
pub fn parse_reply(lines: &[String]) -> Result<Reply, ReplyError> {
    let first = lines.first().ok_or(ReplyError::Empty)?;
    let (code, _, _) = reply_line(first).ok_or_else(|| ReplyError::NotSmtp(excerpt(first)))?;
    for (i, line) in lines.iter().enumerate() {
        let (c, last, _) = reply_line(line).ok_or_else(|| ReplyError::NotSmtp(excerpt(line)))?;
        if c != code {
            return Err(ReplyError::MixedCodes(code, c));
        }
        if last != (i + 1 == lines.len()) {
            return Err(ReplyError::ContinuesAfterLast);
        }
    }
    Ok(Reply { code, lines: lines.to_vec() })
}

/// What an EHLO reply advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ehlo {
    /// The name the server gives itself on the first line.
    pub domain: Option<String>,
    /// Keyword lines as sent (`SIZE 10240000`, `AUTH PLAIN LOGIN`, `STARTTLS`).
    pub keywords: Vec<String>,
}

impl Ehlo {
    pub fn has(&self, keyword: &str) -> bool {
        self.keywords.iter().any(|k| k.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case(keyword)))
    }

    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    /// SASL mechanisms of `AUTH a b` and of the old `AUTH=a b` form, upper-cased, once each.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        let mut mechanisms: Vec<String> = Vec::new();
        for line in self.auth_lines() {
            // `auth_lines` keeps lines whose first five bytes are ASCII, so byte 5 is a boundary.
            for m in line.get(5..).unwrap_or_default().split_whitespace() {
                let m = m.to_ascii_uppercase();
                if !mechanisms.contains(&m) {
                    mechanisms.push(m);
                }
            }
        }
        mechanisms
    }

    /// The `AUTH ...` keyword lines.
    pub fn auth_lines(&self) -> impl Iterator<Item = &str> {
        // Compared as bytes: a keyword is server text, and its 4th byte may fall inside a
        // UTF-8 character (slicing the text there would panic; see issue 14).
        self.keywords.iter().map(String::as_str).filter(|k| {
            k.as_bytes().get(..4).is_some_and(|head| head.eq_ignore_ascii_case(b"AUTH"))
                && matches!(k.as_bytes().get(4), Some(b' ' | b'='))
        })
    }
}

/// The keywords of a 250 reply to EHLO.
pub fn parse_ehlo(reply: &Reply) -> Ehlo {
    let mut texts = reply.texts();
    let domain = texts.next().and_then(|t| t.split_whitespace().next()).map(str::to_owned);
    let keywords = texts.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    Ehlo { domain, keywords }
}

/// The greeting's text after the code (lines joined by a space), for product matching.
pub fn greeting_text(reply: &Reply) -> String {
    reply.texts().collect::<Vec<_>>().join(" ")
}

/// Whether cleartext passwords are offered on a session without TLS.
pub fn auth_exposure(ehlo: &Ehlo) -> AuthExposure {
    let offered = ehlo.auth_mechanisms();
    let evidence = ehlo.auth_lines().map(|l| format!("250-{l}")).collect::<Vec<_>>().join("\n");
    AuthExposure { exposed: offered.iter().any(|m| is_cleartext_mechanism(m)), offered, evidence }
}

async fn read_reply(conn: &mut Conn, step: &'static str) -> Result<Reply, MailError> {
    let lines = conn.read_reply(ends_reply).await.map_err(|e| MailError::line(step, e))?;
    parse_reply(&lines.iter().map(|l| text(l)).collect::<Vec<_>>())
        .map_err(|e| MailError::Malformed { step, text: e.to_string() })
}

async fn command(conn: &mut Conn, step: &'static str, line: &str) -> Result<Reply, MailError> {
    conn.send(format!("{line}\r\n").as_bytes()).await.map_err(|e| MailError::line(step, e))?;
    read_reply(conn, step).await
}

fn ehlo_command(name: &str) -> String {
    format!("EHLO {}", sanitize_command_word(name, "seawall.invalid"))
}

/// Send STARTTLS and read whether the server will start TLS (220).
async fn request_starttls(conn: &mut Conn) -> Result<Answer, MailError> {
    let reply = command(conn, "STARTTLS", "STARTTLS").await?;
    Ok(if reply.code == 220 { Answer::Accepted } else { Answer::Refused(reply.joined()) })
}

/// Greeting, EHLO and STARTTLS on a fresh connection: when accepted, the next bytes on it
/// are the TLS handshake's.
pub(crate) async fn begin_tls(conn: &mut Conn, ehlo_name: &str) -> Result<Answer, MailError> {
    let greeting = read_reply(conn, "greeting").await?;
    if greeting.code != 220 {
        return Err(MailError::Refused { step: "greeting", reply: greeting.joined() });
    }
    let ehlo = command(conn, "EHLO", &ehlo_command(ehlo_name)).await?;
    if ehlo.code != 250 {
        return Err(MailError::Refused { step: "EHLO", reply: ehlo.joined() });
    }
    request_starttls(conn).await
}

/// SMTP's steps of the shared conversation (`starttls::converse`), with the EHLO it sends.
pub(crate) struct Smtp<'a> {
    ehlo_line: String,
    banners: &'a Banners,
}

impl Smtp<'_> {
    pub(crate) fn new<'a>(ehlo_name: &str, banners: &'a Banners) -> Smtp<'a> {
        Smtp { ehlo_line: ehlo_command(ehlo_name), banners }
    }
}

fn advertised(ehlo: Ehlo) -> Advertised {
    Advertised {
        mechanisms: ehlo.auth_mechanisms(),
        exposure: auth_exposure(&ehlo),
        starttls: ehlo.starttls(),
        capabilities: ehlo.keywords,
    }
}

impl Conversation for Smtp<'_> {
    async fn greet(&self, conn: &mut Conn, seen: &mut MailObservation) -> Result<Option<Advertised>, MailError> {
        let greeting = read_reply(conn, "greeting").await?;
        seen.greeting = greeting.lines.clone();
        let text = greeting_text(&greeting);
        seen.product = self.banners.match_greeting("smtp", &text, "greeting");
        if let Some(host) = text.split_whitespace().next().filter(|h| h.contains('.')) {
            seen.facts.insert("greeting_host".into(), host.into());
        }
        if greeting.code != 220 {
            return Err(MailError::Refused { step: "greeting", reply: greeting.joined() });
        }
        let reply = command(conn, "EHLO", &self.ehlo_line).await?;
        if reply.code != 250 {
            return Err(MailError::Refused { step: "EHLO", reply: reply.joined() });
        }
        let ehlo = parse_ehlo(&reply);
        if let Some(domain) = &ehlo.domain {
            seen.facts.insert("ehlo_domain".into(), domain.clone().into());
        }
        if seen.product.is_none() {
            seen.product = self.banners.match_keywords(&ehlo.keywords);
        }
        Ok(Some(advertised(ehlo)))
    }

    async fn request_starttls(&self, conn: &mut Conn) -> Result<Answer, MailError> {
        request_starttls(conn).await
    }

    async fn advertised_over_tls(&self, conn: &mut Conn) -> Result<Option<Advertised>, MailError> {
        let reply = command(conn, "EHLO after TLS", &self.ehlo_line).await?;
        Ok((reply.code == 250).then(|| advertised(parse_ehlo(&reply))))
    }

    async fn goodbye(&self, conn: &mut Conn) {
        drop(command(conn, "QUIT", "QUIT").await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(lines: &[&str]) -> Reply {
        parse_reply(&lines.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid reply")
    }

    #[test]
    fn reply_lines() {
        assert_eq!(reply_line("250-PIPELINING"), Some((250, false, "PIPELINING")));
        assert_eq!(reply_line("250 CHUNKING"), Some((250, true, "CHUNKING")));
        assert_eq!(reply_line("221"), Some((221, true, "")));
        assert_eq!(reply_line("* OK Dovecot ready."), None);
        assert_eq!(reply_line("2500 x"), None);
        assert_eq!(reply_line("25"), None);
        assert!(ends_reply(b"250 OK") && ends_reply(b"garbage") && !ends_reply(b"250-SIZE"));
    }

    #[test]
    fn replies_must_be_consistent() {
        let mixed = vec!["250-a".to_string(), "251 b".to_string()];
        assert_eq!(parse_reply(&mixed), Err(ReplyError::MixedCodes(250, 251)));
        let unfinished = vec!["250-a".to_string()];
        assert!(parse_reply(&unfinished).is_err());
        assert!(matches!(parse_reply(&["HTTP/1.1 400 Bad Request".to_string()]), Err(ReplyError::NotSmtp(_))));
    }

    #[test]
    fn postfix_ehlo_with_cleartext_auth() {
        // Postfix 3.7 with smtpd_sasl_auth_enable=yes and no TLS (rig port 20027).
        let r = reply(&[
            "250-mail.seawall.test",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-VRFY",
            "250-ETRN",
            "250-AUTH PLAIN LOGIN",
            "250-ENHANCEDSTATUSCODES",
            "250-8BITMIME",
            "250-DSN",
            "250-SMTPUTF8",
            "250 CHUNKING",
        ]);
        let ehlo = parse_ehlo(&r);
        assert_eq!(ehlo.domain.as_deref(), Some("mail.seawall.test"));
        assert!(!ehlo.starttls());
        assert_eq!(ehlo.auth_mechanisms(), vec!["PLAIN", "LOGIN"]);
        let exposure = auth_exposure(&ehlo);
        assert!(exposure.exposed);
        assert_eq!(exposure.evidence, "250-AUTH PLAIN LOGIN");
    }

    #[test]
    fn exchange_ehlo_offers_integrated_auth_only() {
        // Exchange 2016 default frontend receive connector on 25, as commonly captured.
        let r = reply(&[
            "250-EX01.corp.example Hello [192.0.2.10]",
            "250-SIZE 37748736",
            "250-PIPELINING",
            "250-DSN",
            "250-ENHANCEDSTATUSCODES",
            "250-STARTTLS",
            "250-X-ANONYMOUSTLS",
            "250-AUTH NTLM",
            "250-X-EXPS GSSAPI NTLM",
            "250-8BITMIME",
            "250-BINARYMIME",
            "250-CHUNKING",
            "250-XEXCH50",
            "250-XRDST",
            "250 XSHADOWREQUEST",
        ]);
        let ehlo = parse_ehlo(&r);
        assert_eq!(ehlo.domain.as_deref(), Some("EX01.corp.example"));
        assert!(ehlo.starttls());
        assert_eq!(ehlo.auth_mechanisms(), vec!["NTLM"]);
        assert!(!auth_exposure(&ehlo).exposed);
    }

    #[test]
    fn old_style_auth_equals_is_read() {
        let r = reply(&["250-mx.example", "250-AUTH=LOGIN PLAIN", "250 AUTH LOGIN PLAIN CRAM-MD5"]);
        let ehlo = parse_ehlo(&r);
        assert_eq!(ehlo.auth_mechanisms(), vec!["LOGIN", "PLAIN", "CRAM-MD5"]);
        assert_eq!(auth_exposure(&ehlo).evidence, "250-AUTH=LOGIN PLAIN\n250-AUTH LOGIN PLAIN CRAM-MD5");
    }

    #[test]
    fn greeting_text_joins_multiline_greetings() {
        let r = reply(&["220-mx.example ESMTP Exim 4.96 Mon, 30 Nov 2026", "220 no UCE"]);
        assert_eq!(greeting_text(&r), "mx.example ESMTP Exim 4.96 Mon, 30 Nov 2026 no UCE");
    }

    // See: issue 14, item 1. The server's bytes: `250-ABC\xc3\xa9` has its 4th byte inside `é`.
    #[test]
    fn an_ehlo_keyword_cut_inside_a_utf8_character_does_not_panic() {
        let raw: [&[u8]; 3] = [b"250-mx", b"250-ABC\xc3\xa9", b"250 AUTH PLAIN"];
        let lines: Vec<String> = raw.iter().map(|l| text(l)).collect();
        let ehlo = parse_ehlo(&parse_reply(&lines).expect("valid reply"));
        assert_eq!(ehlo.keywords, vec!["ABC\u{e9}", "AUTH PLAIN"]);
        assert_eq!(ehlo.auth_mechanisms(), vec!["PLAIN"]);
        assert!(auth_exposure(&ehlo).exposed);
        let odd = Ehlo { domain: None, keywords: vec!["AUT\u{e9}".into(), "\u{e9}\u{e9}\u{e9}".into(), "AUTH".into()] };
        assert!(odd.auth_mechanisms().is_empty());
    }
}
