//! Password spraying, brute force and logons that succeed after failures: a code
//! detector over authentication attempts gathered from every log (IIS, Security
//! and OpenSSH events, Entra sign-ins). What counts as a failure and the windows
//! live in `data/detections/spray.toml`.

mod attempts;
mod judge;

use std::collections::{HashMap, HashSet, VecDeque};

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
                columns: None,
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
    /// Where the columns this detector reads are (W3C columns in force), when the schema
    /// names a status: most lines are then judged from a few values without building
    /// their record.
    columns: Option<IisColumns>,
}

/// Indexes of W3C columns; `usize::MAX` for one the schema lacks (its value reads as absent).
#[derive(Debug, Clone, Copy)]
struct IisColumns {
    stem: usize,
    status: usize,
    substatus: usize,
    win32: usize,
    date: usize,
    time: usize,
    client: usize,
    user: usize,
}

impl IisColumns {
    fn of(names: &[String]) -> Option<IisColumns> {
        let at = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        let or_absent = |name: &str| at(name).unwrap_or(usize::MAX);
        Some(IisColumns {
            stem: at("cs-uri-stem")?,
            status: at("sc-status")?,
            substatus: or_absent("sc-substatus"),
            win32: or_absent("sc-win32-status"),
            date: or_absent("date"),
            time: or_absent("time"),
            client: or_absent("c-ip"),
            user: or_absent("cs-username"),
        })
    }
}

/// A W3C value that is not `-` (the log's empty value).
fn given(value: Option<&[u8]>) -> Option<&[u8]> {
    value.filter(|v| *v != b"-")
}

/// A cheap test on a raw IIS line whose columns are not known: can it be a failed logon
/// (a 401, OWA's `reason=2` redirect) or the forms POST that names the user of the next redirect?
fn may_be_failure(line: &[u8]) -> bool {
    // Searchers built once: building one per line was a visible cost.
    static MARKERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
        std::sync::LazyLock::new(|| [b" 401 ".as_slice(), b"reason=2", b"auth.owa"].map(memchr::memmem::Finder::new));
    MARKERS.iter().any(|marker| marker.find(line).is_some())
}

/// Whether an IIS line can be a failure or the forms logon, told without reading its
/// status: the stem is read (it is near the start) and a 401 must be a space-separated value.
fn may_be_failure_quickly(raw: &[u8], c: IisColumns) -> bool {
    static STATUS_401: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" 401 "));
    let [stem] = seawall_sources::w3c::values_at(raw, [c.stem]);
    stem.is_some_and(|stem| {
        stem.eq_ignore_ascii_case(b"/owa/auth.owa") || stem.eq_ignore_ascii_case(b"/owa/auth/logon.aspx")
    }) || STATUS_401.find(raw).is_some()
        || raw.starts_with(b"401 ")
        || raw.ends_with(b" 401")
}

impl AuthInFile<'_> {
    /// Whether [`attempts::from_iis`] can make an attempt this log keeps of the line, told
    /// from the few values it reads without building the record: on a busy server most
    /// lines are 401s of Negotiate/NTLM handshakes (401.2, or 401.1 with a continuation
    /// status) and successes of users who never failed, and building their records was
    /// most of this detector. Keeps the opening window's clock as [`FileDetector::check`]
    /// does and retires pending pairs as time passes ([`AuthLog::advance`]).
    fn wants_line(&mut self, raw: &[u8], c: IisColumns) -> bool {
        use seawall_sources::w3c::{timestamp, values_at};
        if !self.opening && self.log.nothing_pending() && !may_be_failure_quickly(raw, c) {
            // Only a failure can matter now, and this line cannot be one.
            return false;
        }
        let [stem, status, substatus, win32, date, time, client, user] =
            values_at(raw, [c.stem, c.status, c.substatus, c.win32, c.date, c.time, c.client, c.user]);
        let Some(stem) = stem else { return false };
        let config = self.detector.config;
        let starts_with =
            |prefix: &str| stem.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()));
        if !config.endpoints.iter().any(|endpoint| starts_with(endpoint)) {
            return false;
        }
        if stem.eq_ignore_ascii_case(b"/owa/auth.owa") {
            // The forms POST: remembered for the redirect that tells its outcome.
            return true;
        }
        if stem.eq_ignore_ascii_case(b"/owa/auth/logon.aspx") {
            return raw.windows(8).any(|w| w.eq_ignore_ascii_case(b"reason=2"));
        }
        if status == Some(b"401".as_slice()) {
            let codes = &config.iis;
            return given(substatus).is_none_or(|s| codes.failure_substatus.iter().any(|f| f.as_bytes() == s))
                && given(win32).is_none_or(|w| !codes.handshake_win32_status.iter().any(|h| h.as_bytes() == w));
        }
        if !status.is_some_and(|s| matches!(s.first(), Some(b'2' | b'3'))) {
            return false;
        }
        // A success: kept in the opening (the first of its pair) or after a failure of its pair.
        let Some(time) = date.zip(time).and_then(|(date, time)| timestamp(date, time)) else { return true };
        let opening = self.opening && self.still_opening(time);
        if !opening {
            self.log.advance(time, self.lookback());
            if self.log.nothing_pending() {
                return false;
            }
        }
        let Some(client) = given(client).and_then(|c| std::str::from_utf8(c).ok()) else { return true };
        let user = given(user).map(<[u8]>::trim_ascii).and_then(|u| std::str::from_utf8(u).ok());
        match user {
            Some(user) if !user.is_empty() && user.is_ascii() => {
                self.log.keeps_success(client, &user.to_ascii_lowercase(), opening)
            }
            // The user is in an ActiveSync query, or not plain text: parsed when it may be kept.
            _ => opening || self.log.source_pending(client),
        }
    }

    fn lookback(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(self.detector.config.success_lookback_minutes)
    }

    /// Whether a record at `time` is still in the file's opening window (which starts at the
    /// first record seen).
    fn still_opening(&mut self, time: jiff::Timestamp) -> bool {
        let lookback = self.lookback();
        let until = *self.opening_until.get_or_insert(time.checked_add(lookback).unwrap_or(time));
        self.opening = time <= until;
        self.opening
    }
}

impl FileDetector for AuthInFile<'_> {
    fn wants(&mut self, raw: &[u8]) -> bool {
        if !self.web {
            return true;
        }
        if let Some(columns) = self.columns {
            return self.wants_line(raw, columns);
        }
        // Successes only matter once something has failed: skip them until then.
        self.detector.endpoints.as_ref().is_some_and(|a| a.is_match(raw))
            && (self.opening || may_be_failure(raw) || self.log.may_keep_success_in(raw))
    }

    fn columns(&mut self, names: &[String]) {
        self.columns = IisColumns::of(names);
    }

    fn check(&mut self, subject: Subject<'_>, _found: &mut Found) {
        let config = self.detector.config;
        let time = match subject {
            Subject::Line(record) => record.time(),
            Subject::Evtx(event) => event.time,
            Subject::SignIn(sign_in) => Some(sign_in.time),
        };
        if let Some(time) = time {
            if self.opening {
                self.still_opening(time);
            }
            // IIS writes lines in time order; exports of other sources may not be.
            if self.web {
                self.log.advance(time, self.lookback());
            }
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
/// How far before the latest line a line may be written and still be judged as if in order.
const OUT_OF_ORDER_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);
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
    /// Per source with pending pairs: their accounts and the time of the source's last failure.
    pending_of_source: HashMap<String, (Vec<Option<String>>, jiff::Timestamp)>,
    /// `(time, source)` of failures in the order they came: when a source has not failed
    /// for the lookback, no later success of its pairs can count, and they stop being
    /// pending (else every later line of a busy day is looked through for them).
    failure_order: VecDeque<(jiff::Timestamp, String)>,
    /// The latest record time seen.
    clock: Option<jiff::Timestamp>,
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
                    if let Some((accounts, _)) = self.pending_of_source.get_mut(&pair.0) {
                        accounts.retain(|a| *a != pair.1);
                        if accounts.is_empty() {
                            self.pending_of_source.remove(&pair.0);
                        }
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
                    let (accounts, _) = self
                        .pending_of_source
                        .entry(event.source_ip.clone())
                        .or_insert_with(|| (Vec::new(), event.time));
                    accounts.push(event.account.clone());
                }
                if event.kind == AttemptKind::Failure
                    && let Some((_, last)) = self.pending_of_source.get_mut(&event.source_ip)
                {
                    *last = (*last).max(event.time);
                    self.failure_order.push_back((event.time, event.source_ip.clone()));
                }
                self.failures.push(event);
            }
        }
    }

    /// Records up to `now` were read: pairs whose source last failed more than `lookback`
    /// (and a margin for lines written out of order) before the latest time seen are no
    /// longer pending. The judge counts a success only within the lookback after a
    /// failure of its source.
    pub(crate) fn advance(&mut self, now: jiff::Timestamp, lookback: jiff::SignedDuration) {
        let clock = *self.clock.insert(self.clock.map_or(now, |clock| clock.max(now)));
        let Some(horizon) = clock.checked_sub(lookback).and_then(|t| t.checked_sub(OUT_OF_ORDER_MARGIN)).ok() else {
            return;
        };
        while let Some((time, _)) = self.failure_order.front()
            && *time < horizon
        {
            let Some((time, source)) = self.failure_order.pop_front() else { break };
            if self.pending_of_source.get(&source).is_none_or(|(_, last)| *last != time) {
                continue;
            }
            let Some((accounts, _)) = self.pending_of_source.remove(&source) else { continue };
            for account in accounts {
                if self.pending.remove(&(source.clone(), account.clone())) {
                    self.pending_sources.remove(&source);
                    if let Some(account) = &account {
                        self.pending_accounts.remove(account);
                    }
                }
            }
        }
    }

    /// Whether a pair of `source` is pending.
    pub(crate) fn source_pending(&self, source: &str) -> bool {
        self.pending_of_source.contains_key(source)
    }

    /// Whether nothing is pending.
    pub(crate) fn nothing_pending(&self) -> bool {
        self.pending.is_empty()
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

    #[test]
    fn pairs_stop_pending_once_their_source_has_not_failed_for_the_lookback() {
        let lookback = jiff::SignedDuration::from_mins(60);
        let at = |minutes: i64| jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_mins(minutes);
        let failure = |source: &str, account: &str, minutes: i64| AuthEvent {
            time: at(minutes),
            ..attempt(AttemptKind::Failure, source, account)
        };
        let mut log = AuthLog::default();
        log.push(failure("198.51.100.7", "bob", 0), false);
        log.push(failure("198.51.100.7", "carol", 10), false);
        log.push(failure("203.0.113.9", "dave", 50), false);
        // Within the lookback and the margin of the source's last failure: still pending.
        log.advance(at(74), lookback);
        assert!(log.keeps_success("198.51.100.7", "bob", false));
        assert!(log.may_keep_success_in(b"198.51.100.7 bob"));
        // Past it: both pairs of that source go; the other source's pair stays.
        log.advance(at(76), lookback);
        assert!(!log.keeps_success("198.51.100.7", "bob", false));
        assert!(!log.keeps_success("198.51.100.7", "carol", false));
        assert!(!log.may_keep_success_in(b"198.51.100.7 bob"));
        assert!(log.keeps_success("203.0.113.9", "dave", false));
        // A later failure of a source keeps all its pairs pending from then on.
        log.push(failure("203.0.113.9", "erin", 100), false);
        log.advance(at(120), lookback);
        assert!(log.keeps_success("203.0.113.9", "dave", false), "the source failed again at 100");
        log.advance(at(166), lookback);
        assert!(log.nothing_pending());
        assert!(!log.may_keep_success_in(b"203.0.113.9 erin"));
    }
}
