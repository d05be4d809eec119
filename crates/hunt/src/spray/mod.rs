//! Password spraying, brute force and logons that succeed after failures: a code
//! detector over authentication attempts gathered from every log (IIS, Security
//! and OpenSSH events, Entra sign-ins). What counts as a failure and the windows
//! live in `data/detections/spray.toml`.

mod attempts;
mod judge;

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::detector::{Detector, FileDetector, Found, Subject};
use attempts::FormPosts;
pub use attempts::{AttemptKind, AuthEvent};
pub use judge::detect;

const EMBEDDED: &str = include_str!("../../../../data/detections/spray.toml");

/// A problem in the spray configuration.
#[derive(Debug, thiserror::Error)]
#[error("data/detections/spray.toml: {0}")]
pub struct SprayConfigError(#[from] toml::de::Error);

/// Thresholds, windows, endpoints and the codes that mean a failed credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SprayConfig {
    pub endpoints: Vec<String>,
    pub window_minutes: i64,
    pub spray_accounts: usize,
    pub brute_force_failures: usize,
    pub success_after_failures: usize,
    pub success_lookback_minutes: i64,
    pub tool_user_agents: Vec<String>,
    pub iis: IisCodes,
    pub windows: WindowsCodes,
    pub openssh: OpenSshLines,
    pub entra: EntraCodes,
}

/// Entra ID sign-in error codes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraCodes {
    pub failure_codes: Vec<String>,
    pub password_accepted_codes: Vec<String>,
}

/// IIS status details that tell a rejected credential from a handshake leg.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IisCodes {
    pub failure_substatus: Vec<String>,
    pub handshake_win32_status: Vec<String>,
}

/// Security event codes that are credential failures (lowercase hex).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsCodes {
    pub logon_failure_status: Vec<String>,
    pub kerberos_preauth_failure: Vec<String>,
    pub kerberos_tgt_failure: Vec<String>,
    pub ntlm_failure_status: Vec<String>,
    pub logon_types: Vec<String>,
    pub explicit_credentials_own_processes: Vec<String>,
    pub explicit_credentials_own_targets: Vec<String>,
}

/// sshd's log line prefixes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSshLines {
    pub failure: Vec<String>,
    pub success: Vec<String>,
}

impl SprayConfig {
    pub fn embedded() -> Result<SprayConfig, SprayConfigError> {
        Ok(toml::from_str(EMBEDDED)?)
    }
}

/// The authentication detector for the record loop: gathers attempts per file;
/// [`detect`] judges them once every file is read.
pub(crate) struct AuthDetector<'a> {
    config: &'a SprayConfig,
    /// One automaton over the endpoints, built once per run.
    endpoints: Option<aho_corasick::AhoCorasick>,
}

impl<'a> AuthDetector<'a> {
    pub(crate) fn new(config: &'a SprayConfig) -> AuthDetector<'a> {
        let endpoints =
            aho_corasick::AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&config.endpoints).ok();
        AuthDetector { config, endpoints }
    }
}

impl Detector for AuthDetector<'_> {
    fn stage(&self) -> crate::stages::Stage {
        crate::stages::Stage::Auth
    }

    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>> {
        matches!(family, "iis" | "evtx" | "entra").then(|| {
            Box::new(AuthInFile {
                detector: self,
                web: family == "iis",
                path: path.to_owned(),
                log: AuthLog::default(),
                form_posts: FormPosts::default(),
                opening: true,
                opening_until: None,
            }) as Box<dyn FileDetector + 'd>
        })
    }
}

struct AuthInFile<'a> {
    detector: &'a AuthDetector<'a>,
    /// An IIS log: only lines naming an authentication endpoint are attempts.
    web: bool,
    path: String,
    log: AuthLog,
    form_posts: FormPosts,
    /// The first `success_lookback_minutes` of the file (from its first parsed record):
    /// successes there are kept even without a failure in this file, so a spray at the end of
    /// one day's log and the guessed password at the start of the next are joined.
    opening: bool,
    opening_until: Option<jiff::Timestamp>,
}

/// A cheap test on a raw IIS line: can it be a failed logon (a 401, OWA's `reason=2`
/// redirect) or the forms POST that names the user of the next redirect?
fn may_be_failure(line: &[u8]) -> bool {
    // Searchers built once: building one per line was a visible cost.
    static MARKERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
        std::sync::LazyLock::new(|| [b" 401 ".as_slice(), b"reason=2", b"auth.owa"].map(memchr::memmem::Finder::new));
    MARKERS.iter().any(|marker| marker.find(line).is_some())
}

impl FileDetector for AuthInFile<'_> {
    fn wants(&mut self, raw: &[u8]) -> bool {
        // Successes only matter once something has failed: skip them until then.
        !self.web
            || (self.detector.endpoints.as_ref().is_some_and(|a| a.is_match(raw))
                && (self.opening || may_be_failure(raw) || self.log.may_keep_success_in(raw)))
    }

    fn check(&mut self, subject: Subject<'_>, _found: &mut Found) {
        let config = self.detector.config;
        let time = match subject {
            Subject::Line(record) => record.time(),
            Subject::Evtx(event) => event.time,
            Subject::SignIn(sign_in) => Some(sign_in.time),
        };
        if self.opening
            && let Some(time) = time
        {
            let lookback = jiff::SignedDuration::from_mins(config.success_lookback_minutes);
            let until = *self.opening_until.get_or_insert(time.checked_add(lookback).unwrap_or(time));
            self.opening = time <= until;
        }
        let event = match subject {
            Subject::Line(record) => {
                let (log, opening) = (&self.log, self.opening);
                let keeps = |source: &str, account: &str| log.keeps_success(source, account, opening);
                attempts::from_iis(record, &self.path, config, &mut self.form_posts, &keeps)
            }
            Subject::Evtx(event) => attempts::from_evtx(event, &self.path, config),
            Subject::SignIn(sign_in) => attempts::from_sign_in(sign_in, &self.path, config),
        };
        if let Some(event) = event {
            self.log.push(event, self.opening);
        }
    }

    fn finish(self: Box<Self>, found: &mut Found) {
        found.auth.extend(self.log);
    }
}

/// Whether `line` holds `user=` in any case (ActiveSync names the user in its query).
fn names_a_user_in_its_query(line: &[u8]) -> bool {
    memchr::memchr_iter(b'=', line).any(|at| at >= 4 && line[at - 4..at].eq_ignore_ascii_case(b"user"))
}

/// Values (sources or accounts) of pending failures, counted, with their lengths.
#[derive(Debug, Default)]
struct PendingValues {
    counts: HashMap<String, u32>,
    /// Bit n set when a value of n bytes (n < 64; bit 63 for longer) may be pending: tokens of
    /// other lengths are not looked up. Cleared when none is pending.
    lengths: u64,
}

impl PendingValues {
    fn add(&mut self, value: &str) {
        *self.counts.entry(value.to_owned()).or_default() += 1;
        self.lengths |= length_bit(value.len());
    }

    fn remove(&mut self, value: &str) {
        if let Some(count) = self.counts.get_mut(value) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(value);
                if self.counts.is_empty() {
                    self.lengths = 0;
                }
            }
        }
    }

    /// Whether a space-separated value of `line` is pending: as it stands for sources, trimmed
    /// and lowercased (ASCII) for accounts, the way each is kept. A value that is not ASCII,
    /// or an account longer than the buffer, may be one.
    fn any_value_of(&self, line: &[u8], account: bool) -> bool {
        if self.counts.is_empty() {
            return false;
        }
        let mut lowered = [0u8; 128];
        line.split(|b| *b == b' ').any(|token| {
            let token = if account { token.trim_ascii() } else { token };
            if token.is_empty() || self.lengths & length_bit(token.len()) == 0 {
                return false;
            }
            if !token.is_ascii() || (account && token.len() > lowered.len()) {
                return true;
            }
            let token = if account {
                let lowered = &mut lowered[..token.len()];
                lowered.copy_from_slice(token);
                lowered.make_ascii_lowercase();
                &*lowered
            } else {
                token
            };
            std::str::from_utf8(token).is_ok_and(|text| self.counts.contains_key(text))
        })
    }
}

fn length_bit(length: usize) -> u64 {
    1 << length.min(63)
}

/// Failures (and explicit-credential uses) kept per file: far beyond any spray; past it,
/// attempts are counted, not kept.
const MAX_FAILURES: usize = 200_000;
/// Successes kept per file (each follows a failure of its account from its source).
const MAX_SUCCESSES: usize = 100_000;
/// (source, account) pairs with a failure not yet followed by a success.
const MAX_PENDING: usize = 100_000;

/// Authentication attempts in bounded memory: every failure (up to a cap) and, of
/// the successes, only the first one of an account from a source after a failure
/// of that account from that source in the same file, or in the file's first
/// lookback window (where the failures may be at the end of the previous file). That is all the judge needs
/// (a success after failures), and it keeps a server's millions of ordinary logons
/// out of memory. A success after the opening window of another file than its
/// failures is not seen.
#[derive(Debug, Default)]
pub(crate) struct AuthLog {
    failures: Vec<AuthEvent>,
    successes: Vec<AuthEvent>,
    pending: HashSet<(String, Option<String>)>,
    /// The sources and the accounts of `pending`: a line without both cannot be a kept success.
    pending_sources: PendingValues,
    pending_accounts: PendingValues,
    /// Pairs whose first success in the file's opening was kept.
    opened: HashSet<(String, Option<String>)>,
    /// Attempts counted but not kept (beyond the bounds above).
    pub(crate) dropped: u64,
}

impl AuthLog {
    /// An attempt read from the file this log belongs to, in file order; `opening` while
    /// within the file's first lookback window.
    pub(crate) fn push(&mut self, event: AuthEvent, opening: bool) {
        match event.kind {
            AttemptKind::Success => {
                let pair = (event.source_ip.clone(), event.account.clone());
                let was_pending = self.pending.remove(&pair);
                if was_pending {
                    self.pending_sources.remove(&pair.0);
                    if let Some(account) = &pair.1 {
                        self.pending_accounts.remove(account);
                    }
                }
                if was_pending || (opening && self.opened.len() < MAX_PENDING && !self.opened.contains(&pair)) {
                    self.opened.insert(pair);
                    if self.successes.len() < MAX_SUCCESSES {
                        self.successes.push(event);
                    } else {
                        self.dropped += 1;
                    }
                }
            }
            AttemptKind::Failure | AttemptKind::ExplicitCredentials => {
                if self.failures.len() >= MAX_FAILURES {
                    self.dropped += 1;
                    return;
                }
                if event.kind == AttemptKind::Failure
                    && self.pending.len() < MAX_PENDING
                    && self.pending.insert((event.source_ip.clone(), event.account.clone()))
                {
                    self.pending_sources.add(&event.source_ip);
                    if let Some(account) = &event.account {
                        self.pending_accounts.add(account);
                    }
                }
                self.failures.push(event);
            }
        }
    }

    /// Whether [`AuthLog::push`] would keep a success of `account` from `source` now.
    pub(crate) fn keeps_success(&self, source: &str, account: &str, opening: bool) -> bool {
        let pair = (source.to_owned(), Some(account.to_owned()));
        self.pending.contains(&pair) || (opening && self.opened.len() < MAX_PENDING && !self.opened.contains(&pair))
    }

    /// Whether the raw IIS line `raw` can be a success this log keeps outside a file's
    /// opening: only if a source with a pending failure is one of its space-separated values,
    /// and so is an account with one (or an ActiveSync `user=` query names it). A busy
    /// server's successes are mostly other users' and need not be parsed.
    pub(crate) fn may_keep_success_in(&self, raw: &[u8]) -> bool {
        self.pending_sources.any_value_of(raw, false)
            && (self.pending_accounts.any_value_of(raw, true) || names_a_user_in_its_query(raw))
    }

    /// Join another file's log (or a later piece's): its successes were already chosen.
    pub(crate) fn extend(&mut self, other: AuthLog) {
        self.dropped += other.dropped;
        let room = MAX_FAILURES.saturating_sub(self.failures.len());
        self.dropped += other.failures.len().saturating_sub(room) as u64;
        self.failures.extend(other.failures.into_iter().take(room));
        let room = MAX_SUCCESSES.saturating_sub(self.successes.len());
        self.dropped += other.successes.len().saturating_sub(room) as u64;
        self.successes.extend(other.successes.into_iter().take(room));
    }

    pub(crate) fn into_events(self) -> Vec<AuthEvent> {
        let mut events = self.failures;
        events.extend(self.successes);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(kind: AttemptKind, source: &str, account: &str) -> AuthEvent {
        AuthEvent {
            time: jiff::Timestamp::UNIX_EPOCH,
            source_ip: source.to_owned(),
            account: Some(account.to_owned()),
            kind,
            reason: String::new(),
            user_agent: None,
            path: "u_ex.log".into(),
            position: "line 1".into(),
        }
    }

    #[test]
    fn only_lines_from_a_source_with_a_pending_failure_can_be_kept_successes() {
        let mut log = AuthLog::default();
        let line = |ip: &str| format!("2021-03-03 06:49:42 10.0.0.5 GET /EWS/Exchange.asmx - 443 Bob {ip} Outlook 200");
        assert!(!log.may_keep_success_in(line("198.51.100.7").as_bytes()), "nothing failed yet");
        log.push(attempt(AttemptKind::Failure, "198.51.100.7", "bob"), false);
        assert!(log.may_keep_success_in(line("198.51.100.7").as_bytes()));
        assert!(!log.may_keep_success_in(line("198.51.100.70").as_bytes()), "a longer address is another value");
        assert!(!log.may_keep_success_in(line("1198.51.100.7").as_bytes()));
        assert!(log.may_keep_success_in(b"198.51.100.7 at the start bob"));
        assert!(log.may_keep_success_in(b"BOB at the end 198.51.100.7"));
        assert!(!log.may_keep_success_in(b"198.51.100.7 alice"), "another account from the source");
        assert!(log.may_keep_success_in(b"198.51.100.7 /Microsoft-Server-ActiveSync Cmd=Sync&User=BOB"));
        // The success is kept, the pair is no longer pending, and neither is the source.
        log.push(attempt(AttemptKind::Success, "198.51.100.7", "bob"), false);
        assert_eq!(log.successes.len(), 1);
        assert!(!log.may_keep_success_in(line("198.51.100.7").as_bytes()));
        // Many pending sources: each is still looked up.
        for n in 0..=16 {
            log.push(attempt(AttemptKind::Failure, &format!("203.0.113.{n}"), "eve"), false);
        }
        assert!(log.may_keep_success_in(b"203.0.113.16 Eve"));
        assert!(!log.may_keep_success_in(line("192.0.2.1").as_bytes()));
    }
}
