//! The rsync daemon (TCP 873): greeting (protocol version and auth digest
//! list), MOTD, module list, and per listed module whether it opens without a
//! password.
//!
//! Exactly what is sent, and nothing else (a client's protocol version 30,
//! which every daemon since 3.0 accepts and which needs no digest list):
//! 1. list: `@RSYNCD: 30.0\n#list\n`; the daemon answers with its MOTD and
//!    one `name\tcomment` line per listed module, then `@RSYNCD: EXIT`;
//! 2. per listed module (at most [`MAX_MODULES`], names of printable ASCII
//!    only), a new connection: `@RSYNCD: 30.0\n<module>\n`. The daemon then
//!    answers `@RSYNCD: AUTHREQD <challenge>` (password needed), `@RSYNCD: OK`
//!    (open: it now waits for transfer arguments) or `@ERROR: ...`. The
//!    connection is closed right after that line: no challenge response, no
//!    arguments, no file list, nothing is transferred.
//!
//! Unlisted modules (`list = no`) are not guessed.

pub mod versions;

use super::conn::{Conn, LineDialer, MailError, excerpt};
use crate::net::lines::{LineError, text};

/// Modules checked for a password at most (one connection each).
pub const MAX_MODULES: usize = 32;
/// The protocol this client announces.
pub const CLIENT_VERSION: &str = "@RSYNCD: 30.0\n";

/// `@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub protocol: u32,
    pub sub: u32,
    /// The auth digests offered (rsync 3.2.7 and later send them; older ones nothing).
    pub digests: Vec<String>,
}

impl Greeting {
    pub fn version_text(&self) -> String {
        format!("{}.{}", self.protocol, self.sub)
    }
}

pub fn parse_greeting(line: &str) -> Option<Greeting> {
    let rest = line.strip_prefix("@RSYNCD: ")?;
    let mut words = rest.split_whitespace();
    let version = words.next()?;
    let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
    let protocol = major.parse().ok().filter(|p| (1..=1000).contains(p))?;
    let sub = minor.parse().ok()?;
    let digests = words
        .filter(|d| d.len() <= 32 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned)
        .collect();
    Some(Greeting { protocol, sub, digests })
}

/// One listed module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub comment: String,
}

/// The daemon's answer to `#list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub motd: Vec<String>,
    pub modules: Vec<Module>,
    /// `@RSYNCD: EXIT` was seen.
    pub complete: bool,
    /// An `@ERROR: ...` line, when the daemon refused.
    pub error: Option<String>,
}

/// Whether a line ends the answer to `#list` or to a module request.
pub fn ends_answer(line: &[u8]) -> bool {
    line.starts_with(b"@RSYNCD: EXIT")
        || line.starts_with(b"@ERROR")
        || line.starts_with(b"@RSYNCD: OK")
        || line.starts_with(b"@RSYNCD: AUTHREQD")
}

/// The lines after the greeting, up to `@RSYNCD: EXIT`. The daemon sends its
/// MOTD right after the greeting and ends it with an empty line (compat.c
/// `exchange_protocols`), then one `%-15s\t%s` line per listed module.
pub fn parse_listing(lines: &[String]) -> Listing {
    let mut listing = Listing::default();
    let mut body: Vec<&String> = Vec::new();
    for line in lines {
        if line.starts_with("@RSYNCD: EXIT") {
            listing.complete = true;
            break;
        }
        if let Some(error) = line.strip_prefix("@ERROR") {
            listing.error = Some(error.trim_start_matches(':').trim().to_owned());
            break;
        }
        body.push(line);
    }
    // Module lines are never empty: everything up to the last empty line is MOTD.
    let split = body.iter().rposition(|l| l.is_empty()).map(|i| i + 1).unwrap_or(0);
    listing.motd = body[..split].iter().map(|l| (*l).clone()).collect();
    while listing.motd.last().is_some_and(|l| l.is_empty()) {
        listing.motd.pop();
    }
    for line in &body[split..] {
        match parse_module_line(line) {
            Some(module) => listing.modules.push(module),
            // A MOTD without a trailing newline runs into the list: keep such lines as MOTD.
            None if listing.modules.is_empty() => listing.motd.push((*line).clone()),
            None => {}
        }
    }
    listing
}

/// `public         \tPublic mirror` → module `public`.
pub fn parse_module_line(line: &str) -> Option<Module> {
    let (name, comment) = line.split_once('\t')?;
    let name = name.trim_end();
    (!name.is_empty() && !name.starts_with('@') && name.chars().all(|c| !c.is_control()))
        .then(|| Module { name: name.to_owned(), comment: comment.trim().to_owned() })
}

/// What a daemon answers when a module is requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// `@RSYNCD: OK`: the module opened without a password.
    Open,
    /// `@RSYNCD: AUTHREQD <challenge>`.
    Password,
    /// `@ERROR: ...` (unknown module, host not allowed, max connections, ...).
    Refused(String),
    /// Not asked (over [`MAX_MODULES`], an unsafe name, or out of time), or no answer: the reason.
    Unknown(String),
}

impl Access {
    pub fn label(&self) -> String {
        match self {
            Access::Open => "open".into(),
            Access::Password => "password".into(),
            Access::Refused(why) => format!("refused: {why}"),
            Access::Unknown(why) => format!("unknown: {why}"),
        }
    }
}

/// The daemon's answer to a module request: the MOTD lines before it and the verdict.
pub fn parse_module_answer(lines: &[String]) -> (Vec<String>, Access) {
    let mut motd = Vec::new();
    for line in lines {
        if line.starts_with("@RSYNCD: OK") {
            return (motd, Access::Open);
        }
        if line.starts_with("@RSYNCD: AUTHREQD") {
            return (motd, Access::Password);
        }
        if let Some(error) = line.strip_prefix("@ERROR") {
            return (motd, Access::Refused(error.trim_start_matches(':').trim().to_owned()));
        }
        if line.starts_with("@RSYNCD: EXIT") {
            return (motd, Access::Refused("EXIT".into()));
        }
        motd.push(line.clone());
    }
    (motd, Access::Unknown("no answer".into()))
}

/// A module name safe to send back on its own line.
fn sendable(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| (0x20..0x7f).contains(&b)) && !name.starts_with('#')
}

/// Everything one rsync probe saw.
#[derive(Debug, Default)]
pub struct RsyncObservation {
    pub greeting_line: Option<String>,
    pub greeting: Option<Greeting>,
    pub listing: Listing,
    /// Every listed module with the answer to its request, in list order.
    pub access: Vec<(Module, Access, Vec<String>)>,
    pub error: Option<MailError>,
}

async fn read_greeting(conn: &mut Conn) -> Result<(String, Greeting), MailError> {
    let line = text(&conn.read_line().await.map_err(|e| MailError::line("greeting", e))?);
    let greeting = parse_greeting(&line).ok_or_else(|| MailError::Malformed {
        step: "greeting",
        text: format!("not an rsync greeting: {}", excerpt(&line)),
    })?;
    Ok((line, greeting))
}

/// Lines up to `ends_answer`, tolerating a daemon that simply closes (protocol < 25 sends no EXIT).
async fn read_answer(conn: &mut Conn, step: &'static str) -> Result<Vec<String>, MailError> {
    let mut lines = Vec::new();
    loop {
        if lines.len() >= conn.limits().max_lines {
            return Err(MailError::line(step, LineError::TooManyLines(conn.limits().max_lines)));
        }
        match conn.read_line().await {
            Ok(line) => {
                let last = ends_answer(&line);
                lines.push(text(&line));
                if last {
                    return Ok(lines);
                }
            }
            Err(LineError::Closed) if !lines.is_empty() => return Ok(lines),
            Err(e) => return Err(MailError::line(step, e)),
        }
    }
}

/// The whole rsync probe of one port.
pub(crate) async fn converse(dialer: &LineDialer<'_>) -> RsyncObservation {
    let mut seen = RsyncObservation::default();
    if let Err(e) = list(dialer, &mut seen).await {
        seen.error = Some(e);
        return seen;
    }
    let modules = seen.listing.modules.clone();
    for (i, module) in modules.into_iter().enumerate() {
        let access = if i >= MAX_MODULES {
            (Access::Unknown(format!("not asked: more than {MAX_MODULES} modules")), Vec::new())
        } else if !sendable(&module.name) {
            (Access::Unknown("not asked: the name has unsafe characters".into()), Vec::new())
        } else if tokio::time::Instant::now() >= dialer.deadline {
            (Access::Unknown("not asked: total time limit reached".into()), Vec::new())
        } else {
            match request_module(dialer, &module.name).await {
                Ok((motd, access)) => (access, motd),
                Err(e) => (Access::Unknown(e.to_string()), Vec::new()),
            }
        };
        seen.access.push((module, access.0, access.1));
    }
    seen
}

async fn list(dialer: &LineDialer<'_>, seen: &mut RsyncObservation) -> Result<(), MailError> {
    let mut conn = dialer.plain().await?;
    let (line, greeting) = read_greeting(&mut conn).await?;
    seen.greeting_line = Some(line);
    seen.greeting = Some(greeting);
    conn.send(format!("{CLIENT_VERSION}#list\n").as_bytes()).await.map_err(|e| MailError::line("#list", e))?;
    let lines = read_answer(&mut conn, "#list").await?;
    seen.listing = parse_listing(&lines);
    Ok(())
}

async fn request_module(dialer: &LineDialer<'_>, name: &str) -> Result<(Vec<String>, Access), MailError> {
    let mut conn = dialer.plain().await?;
    read_greeting(&mut conn).await?;
    conn.send(format!("{CLIENT_VERSION}{name}\n").as_bytes())
        .await
        .map_err(|e| MailError::line("module request", e))?;
    let lines = read_answer(&mut conn, "module request").await?;
    // Dropping the connection here closes it: an open module gets no arguments, so nothing is sent.
    Ok(parse_module_answer(&lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.split('\n').map(str::to_owned).collect()
    }

    #[test]
    fn greetings_old_and_new() {
        // rsync 3.5.0 (rigs.md §2.6), 3.2.7 (threat-facts.md §6), 3.1.3 (no digest list).
        let g = parse_greeting("@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4").expect("greeting");
        assert_eq!((g.protocol, g.sub), (32, 0));
        assert_eq!(g.digests, vec!["sha512", "sha256", "sha1", "md5", "md4"]);
        assert_eq!(g.version_text(), "32.0");
        let g = parse_greeting("@RSYNCD: 31.0").expect("greeting");
        assert!(g.digests.is_empty());
        assert_eq!(parse_greeting("@RSYNCD: 29").map(|g| (g.protocol, g.sub)), Some((29, 0)));
        assert_eq!(parse_greeting("@RSYNCD: x"), None);
        assert_eq!(parse_greeting("SSH-2.0-OpenSSH_9.2"), None);
        assert_eq!(parse_greeting("@RSYNCD: 0.0"), None);
    }

    #[test]
    fn listing_with_motd() {
        // The rig's daemon: MOTD, the empty line that ends it, two listed modules, EXIT.
        let answer = lines(
            "seawall rsync rig\n\npublic         \tPublic mirror (anonymous)\nprivate        \tExchange backups (auth)\n@RSYNCD: EXIT",
        );
        let listing = parse_listing(&answer);
        assert_eq!(listing.motd, vec!["seawall rsync rig"]);
        assert_eq!(listing.modules.len(), 2);
        assert_eq!(listing.modules[0], Module { name: "public".into(), comment: "Public mirror (anonymous)".into() });
        assert_eq!(listing.modules[1].name, "private");
        assert!(listing.complete);
    }

    #[test]
    fn listing_without_motd_and_with_a_refusal() {
        let listing = parse_listing(&lines("data\t\n@RSYNCD: EXIT"));
        assert!(listing.motd.is_empty());
        assert_eq!(listing.modules, vec![Module { name: "data".into(), comment: String::new() }]);
        let refused = parse_listing(&lines("@ERROR: access denied to #list from 192.0.2.1"));
        assert_eq!(refused.error.as_deref(), Some("access denied to #list from 192.0.2.1"));
        assert!(refused.modules.is_empty());
        let multi_motd = parse_listing(&lines("Welcome\n\nto the mirror\n\nfiles\tall\n@RSYNCD: EXIT"));
        assert_eq!(multi_motd.motd, vec!["Welcome", "", "to the mirror"]);
        assert_eq!(multi_motd.modules.len(), 1);
    }

    #[test]
    fn module_answers() {
        let (motd, access) = parse_module_answer(&lines("seawall rsync rig\n\n@RSYNCD: OK"));
        assert_eq!(access, Access::Open);
        assert_eq!(motd, vec!["seawall rsync rig", ""]);
        assert_eq!(parse_module_answer(&lines("@RSYNCD: AUTHREQD 7x9xbxAGCmPbyxjwqENjMg")).1, Access::Password);
        assert_eq!(
            parse_module_answer(&lines("@ERROR: Unknown module 'nope'")).1,
            Access::Refused("Unknown module 'nope'".into())
        );
        assert!(matches!(parse_module_answer(&lines("hello")).1, Access::Unknown(_)));
    }

    #[test]
    fn only_plain_names_are_sent_back() {
        assert!(sendable("public"));
        assert!(sendable("my backups"));
        assert!(!sendable("#list"));
        assert!(!sendable("a\nb"));
        assert!(!sendable(""));
        assert!(!sendable("caf\u{e9}"));
    }
}
